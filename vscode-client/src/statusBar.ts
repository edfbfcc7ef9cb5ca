// The status bar item: current phase (without a session: the first failing one) and its
// gate score; a click focuses the PhaseGate view.

import * as vscode from "vscode";

import type { ServerState } from "./client";
import {
  currentPhase,
  findingCount,
  formatScore,
  newCodeCounts,
  newCodeLine,
  newCodeShort,
  phaseIconId,
  type StatusObject,
  VERDICT_WORDS,
} from "./status";

export class PhaseStatusBar implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;
  private serverState: ServerState = "stopped";
  private status: StatusObject | null = null;
  private busy: string | undefined;
  private folder: string | undefined;

  constructor() {
    this.item = vscode.window.createStatusBarItem("phasegate.status", vscode.StatusBarAlignment.Left, 50);
    this.item.name = "PhaseGate";
    this.item.command = "workbench.view.extension.phasegate";
    this.render();
  }

  setServerState(state: ServerState): void {
    this.serverState = state;
    this.render();
  }

  setStatus(status: StatusObject | null): void {
    this.status = status;
    this.render();
  }

  /** The workspace folder shown, named in a multi-root workspace (undefined: not named). */
  setFolder(name: string | undefined): void {
    this.folder = name;
    this.render();
  }

  /** Show a spinner and `text` while a command runs; undefined clears it. */
  setBusy(text: string | undefined): void {
    this.busy = text;
    this.render();
  }

  private render(): void {
    this.draw();
    const label = this.item.text.replace(/\$\([^)]*\)\s*/g, "").trim();
    this.item.accessibilityInformation = {
      label: label.startsWith("PhaseGate") ? label : `PhaseGate: ${label}`,
    };
  }

  private draw(): void {
    const enabled = vscode.workspace.getConfiguration("phasegate").get<boolean>("statusBar.enabled");
    if (enabled === false) {
      this.item.hide();
      return;
    }
    this.item.backgroundColor = undefined;
    this.item.command = "workbench.view.extension.phasegate";
    if (this.serverState === "missing" || this.serverState === "failed") {
      this.item.text = "$(error) PhaseGate";
      this.item.tooltip =
        this.serverState === "missing"
          ? "PhaseGate: the language server is not installed for the selected interpreter"
          : "PhaseGate: the language server did not start";
      this.item.command = "phasegate.output.show";
      this.item.backgroundColor = new vscode.ThemeColor("statusBarItem.errorBackground");
      this.item.show();
      return;
    }
    if (this.serverState === "starting") {
      this.item.text = "$(loading~spin) PhaseGate";
      this.item.tooltip = "PhaseGate: starting the language server";
      this.item.show();
      return;
    }
    if (this.serverState === "stopped" && !this.status) {
      this.item.hide();
      return;
    }
    const status = this.status;
    const phase = status ? currentPhase(status) : undefined;
    let text = "PhaseGate";
    if (phase && status) {
      const icon = `$(${phaseIconId(phase, status)})`;
      text = `${icon} ${phase.title || phase.name} ${formatScore(phase.score)}/${formatScore(phase.threshold)}`;
      if (status.session && ["stalled", "blocked", "regressed"].includes(phase.status)) {
        text += ` ${phase.status}`;
      }
    } else {
      text = "$(checklist) PhaseGate";
    }
    const short = newCodeShort(status);
    if (short) {
      // a reference named like an icon ("$(x)") is shown as text
      text += ` · $(git-compare) ${short.replace(/\$\(/g, "$\u200b(")}`;
    }
    const busy = this.busy ?? (status?.running ? `running ${status.running}` : undefined);
    if (busy) {
      text = `$(loading~spin) ${text}`;
    }
    this.item.text = text;
    const md = new vscode.MarkdownString(undefined, true);
    if (this.folder) {
      md.appendMarkdown(`$(folder) ${this.folder}\n\n`);
    }
    if (status?.session) {
      md.appendMarkdown(`**PhaseGate session \`${status.session.id}\`** — ${status.session.status}\n\n`);
    } else {
      md.appendMarkdown("**PhaseGate** — no session\n\n");
    }
    if (busy) {
      md.appendMarkdown(`$(loading~spin) ${busy}\n\n`);
    }
    const line = newCodeLine(status);
    if (line) {
      md.appendMarkdown("$(git-compare) ");
      md.appendText(`${line}: inherited findings never block`);
      md.appendMarkdown("\n\n");
    }
    if (status) {
      for (const p of status.phases) {
        const icon = `$(${phaseIconId(p, status)})`;
        const counts = newCodeCounts(p);
        const state = status.session
          ? `${p.status.replace("_", " ")}, ${VERDICT_WORDS[p.verdict]}`
          : VERDICT_WORDS[p.verdict];
        md.appendMarkdown(
          `${icon} ${p.title || p.name}: ${state} ${formatScore(p.score)} / ${formatScore(p.threshold)}` +
            ` (iteration ${p.iteration}${counts ? `; ${counts}` : ""})  \n`,
        );
      }
      const run = status.lastRun;
      if (run) {
        md.appendMarkdown("\nLast run: ");
        md.appendText(run.summary);
        md.appendMarkdown("\n");
      }
      md.appendMarkdown(`\n${findingCount(status)} findings · click to open the PhaseGate view`);
      if (!status.trusted) {
        md.appendMarkdown("\n\n$(shield) untrusted workspace: in-process checks only");
      }
    }
    this.item.tooltip = md;
    this.item.show();
  }

  dispose(): void {
    this.item.dispose();
  }
}
