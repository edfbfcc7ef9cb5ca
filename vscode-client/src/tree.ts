// The PhaseGate view: session → phases → checks → findings.

import * as path from "node:path";
import * as vscode from "vscode";

import {
  type CheckInfo,
  type FindingInfo,
  formatScore,
  newCodeCounts,
  newCodeLine,
  type PhaseInfo,
  phaseDescription,
  phaseIconId,
  type SessionInfo,
  type StatusObject,
  VERDICT_WORDS,
} from "./status";

export type Node =
  | { kind: "session"; session: SessionInfo; status: StatusObject }
  | { kind: "phase"; phase: PhaseInfo; current: boolean; status: StatusObject }
  | { kind: "check"; phase: PhaseInfo; check: CheckInfo }
  | { kind: "finding"; phase: PhaseInfo; check: CheckInfo; finding: FindingInfo }
  | { kind: "message"; text: string; icon?: string }
  | { kind: "newCode"; text: string };

const ICON_COLORS: Record<string, string> = {
  "pass-filled": "testing.iconPassed",
  error: "testing.iconFailed",
  question: "list.warningForeground",
  "sync~spin": "charts.blue",
};

/** A phase's icon: its gate's verdict (passed, failed, not judged), colored. */
export function phaseIcon(p: PhaseInfo, status: StatusObject | null): vscode.ThemeIcon {
  const id = phaseIconId(p, status);
  const color = ICON_COLORS[id];
  return new vscode.ThemeIcon(id, color ? new vscode.ThemeColor(color) : undefined);
}

function severityIcon(severity: number): vscode.ThemeIcon {
  switch (severity) {
    case 1:
      return new vscode.ThemeIcon("error", new vscode.ThemeColor("problemsErrorIcon.foreground"));
    case 2:
      return new vscode.ThemeIcon(
        "warning",
        new vscode.ThemeColor("problemsWarningIcon.foreground"),
      );
    default:
      return new vscode.ThemeIcon("info", new vscode.ThemeColor("problemsInfoIcon.foreground"));
  }
}

export class SessionTreeProvider implements vscode.TreeDataProvider<Node> {
  private status: StatusObject | null = null;
  private serverNote: string | undefined;
  private readonly emitter = new vscode.EventEmitter<Node | undefined>();
  readonly onDidChangeTreeData = this.emitter.event;

  constructor(private readonly root: () => vscode.Uri | undefined) {}

  update(status: StatusObject | null): void {
    this.status = status;
    this.emitter.fire(undefined);
  }

  /** A line shown instead of the tree when the server is not running (undefined: none). */
  setServerNote(note: string | undefined): void {
    this.serverNote = note;
    this.emitter.fire(undefined);
  }

  getChildren(node?: Node): Node[] {
    const status = this.status;
    if (!node) {
      if (this.serverNote && !status) {
        return [{ kind: "message", text: this.serverNote, icon: "warning" }];
      }
      if (!status) {
        return [];
      }
      const line = newCodeLine(status);
      const top: Node[] = line ? [{ kind: "newCode", text: line }] : [];
      if (status.session) {
        return [...top, { kind: "session", session: status.session, status }];
      }
      return [...top, ...this.phaseNodes(status)];
    }
    switch (node.kind) {
      case "session":
        return this.phaseNodes(node.status);
      case "phase":
        return node.phase.checks.map((check) => ({ kind: "check", phase: node.phase, check }));
      case "check":
        return node.check.findings.map((finding) => ({
          kind: "finding",
          phase: node.phase,
          check: node.check,
          finding,
        }));
      default:
        return [];
    }
  }

  private phaseNodes(status: StatusObject): Node[] {
    const current = status.session?.current_phase ?? null;
    return status.phases.map((phase) => ({
      kind: "phase",
      phase,
      current: phase.name === current,
      status,
    }));
  }

  getTreeItem(node: Node): vscode.TreeItem {
    const C = vscode.TreeItemCollapsibleState;
    switch (node.kind) {
      case "session": {
        const s = node.session;
        const item = new vscode.TreeItem(`Session ${s.id}`, C.Expanded);
        item.id = `session:${s.id}`;
        item.description = `${s.status.replace("_", " ")} · ${s.global_iterations} iterations`;
        item.tooltip = new vscode.MarkdownString(
          `**${escapeMd(s.id)}** — ${escapeMd(s.status)}\n\n${escapeMd(s.requirement)}`,
        );
        item.iconPath = new vscode.ThemeIcon("milestone");
        item.contextValue = "session";
        return item;
      }
      case "phase": {
        const p = node.phase;
        const expand = p.checks.length === 0 ? C.None : node.current ? C.Expanded : C.Collapsed;
        const inSession = node.status.session !== null;
        const item = new vscode.TreeItem(p.title || p.name, expand);
        item.id = `phase:${p.name}`;
        item.description = phaseDescription(p, inSession);
        item.iconPath = phaseIcon(p, node.status);
        item.contextValue = `phase:${p.status}`;
        const failed = p.checks.filter((c) => !c.passed && !c.skipped && !c.error).length;
        const unknown = p.checks.filter((c) => c.error).length;
        const state = inSession
          ? `${p.status.replace("_", " ")}; gate ${VERDICT_WORDS[p.verdict]}`
          : `gate ${VERDICT_WORDS[p.verdict]}`;
        item.tooltip = new vscode.MarkdownString(
          [
            `**${escapeMd(p.title || p.name)}** — ${state}`,
            `score ${formatScore(p.score)}, threshold ${formatScore(p.threshold)}, ` +
              `iteration ${p.iteration}`,
            `${p.checks.length} checks, ${failed} failing` +
              (unknown ? `, ${unknown} could not run` : ""),
            ...(p.notRun.length > 0 ? [`not run: ${p.notRun.map(escapeMd).join(", ")}`] : []),
            ...(p.message ? [escapeMd(p.message)] : []),
            ...newCodeTooltip(p),
          ].join("\n\n"),
        );
        item.accessibilityInformation = {
          label: `${p.title || p.name}: ${item.description}`,
        };
        return item;
      }
      case "check": {
        const c = node.check;
        const item = new vscode.TreeItem(
          c.id,
          c.findings.length > 0 ? C.Collapsed : C.None,
        );
        item.id = `check:${node.phase.name}:${c.id}`;
        const bits = [
          c.error
            ? "could not run"
            : c.skipped
              ? `skipped: ${c.skipped}`
              : c.notApplicable
                ? "not applicable"
                : `score ${formatScore(c.score)}`,
        ];
        if (c.findings.length > 0) {
          bits.push(`${c.findings.length} finding${c.findings.length === 1 ? "" : "s"}`);
        }
        if (c.blocking) {
          bits.push("blocking");
        }
        if (c.owner) {
          bits.push(c.owner);
        }
        item.description = bits.join(" · ");
        item.tooltip = c.error
          ? `could not run (result unknown): ${c.error}`
          : c.notApplicable
            ? `not applicable: ${c.notApplicable}`
            : item.description;
        if (c.error) {
          item.iconPath = new vscode.ThemeIcon("bug", new vscode.ThemeColor("testing.iconErrored"));
        } else if (c.notApplicable) {
          item.iconPath = new vscode.ThemeIcon("circle-slash");
        } else if (c.skipped) {
          item.iconPath = new vscode.ThemeIcon("debug-step-over");
        } else if (c.passed) {
          item.iconPath = new vscode.ThemeIcon("check", new vscode.ThemeColor("testing.iconPassed"));
        } else {
          item.iconPath = new vscode.ThemeIcon("close", new vscode.ThemeColor("testing.iconFailed"));
        }
        item.contextValue = c.passed ? "check:passed" : "check:failed";
        return item;
      }
      case "finding": {
        const f = node.finding;
        const item = new vscode.TreeItem(f.message, C.None);
        item.id = `finding:${node.phase.name}:${node.check.id}:${f.id}`;
        const line = f.range ? f.range.start.line + 1 : undefined;
        const inherited = f.baselineState === "unchanged";
        item.description =
          (f.path ? `${f.path}${line !== undefined ? `:${line}` : ""}` : "") +
          (inherited ? " (inherited)" : "");
        item.tooltip = `${f.code}: ${f.message}` + (inherited ? " (inherited: never blocks)" : "");
        item.iconPath = inherited ? new vscode.ThemeIcon("history") : severityIcon(f.severity);
        item.contextValue = "finding";
        const root = this.root();
        if (f.path && root) {
          const uri = path.isAbsolute(f.path)
            ? vscode.Uri.file(f.path)
            : vscode.Uri.joinPath(root, ...f.path.split(/[\\/]/));
          const selection = f.range
            ? new vscode.Range(
                f.range.start.line,
                f.range.start.character,
                f.range.end.line,
                f.range.end.character,
              )
            : undefined;
          item.resourceUri = uri;
          item.command = {
            command: "vscode.open",
            title: "Open",
            arguments: [uri, { selection, preview: true }],
          };
        }
        return item;
      }
      case "newCode": {
        // "new code since origin/main (1a2b3c4d5e)"
        const item = new vscode.TreeItem(capitalize(node.text), C.None);
        item.id = "newCode";
        item.description = "inherited findings never block";
        item.tooltip =
          "New-code mode: findings on lines added or changed since the reference (or not " +
          "in the baseline) are new and hold the line; inherited ones are listed apart " +
          "and never block a gate.";
        item.iconPath = new vscode.ThemeIcon("git-compare");
        item.contextValue = "newCode";
        return item;
      }
      case "message": {
        const item = new vscode.TreeItem(node.text, C.None);
        item.iconPath = node.icon ? new vscode.ThemeIcon(node.icon) : undefined;
        item.command = { command: "phasegate.output.show", title: "Show Output" };
        return item;
      }
    }
  }

  getParent(): undefined {
    return undefined;
  }
}

/** The phase's new-code lines of its tooltip (none outside the mode). */
function newCodeTooltip(p: PhaseInfo): string[] {
  const counts = newCodeCounts(p);
  if (!counts || !p.newCode) {
    return [];
  }
  const held = p.newCode.held;
  return [
    `new code: ${counts}` +
      (held.length > 0 ? `; new findings fail ${held.map(escapeMd).join(", ")}` : ""),
  ];
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function escapeMd(text: string): string {
  return text.replace(/[\\`*_{}[\]()#+\-.!|<>]/g, "\\$&");
}
