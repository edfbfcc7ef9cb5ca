// The PhaseGate commands of the command palette and the view.

import * as path from "node:path";
import * as vscode from "vscode";

import {
  errorCode,
  errorMessage,
  REQUEST_CANCELLED,
  REQUEST_FAILED,
  type ServerManager,
} from "./client";
import type { FolderServers } from "./folders";
import {
  COMMAND_TITLES,
  type OutcomeAction,
  outcomeMessage,
  type RunOutcome,
  waitsOnDocument,
} from "./outcome";
import { showReport } from "./report";
import type { PhaseStatusBar } from "./statusBar";
import {
  type PhaseInfo,
  parseAgentOffer,
  parseSessionList,
  phaseDescription,
  validateSessionId,
} from "./status";
import type { Node } from "./tree";

/** Commands that run workspace code: refused in an untrusted workspace. */
const NEEDS_TRUST = new Set([
  "phasegate.startSession",
  "phasegate.resumeSession",
  "phasegate.remediate",
  "phasegate.rework",
  "phasegate.runGates",
]);

const CANCEL_GRACE_MS = 3000;

export class Commands {
  constructor(
    private readonly servers: FolderServers,
    private readonly statusBar: PhaseStatusBar,
  ) {}

  register(context: vscode.ExtensionContext): void {
    const reg = (id: string, fn: (...args: unknown[]) => unknown): void => {
      context.subscriptions.push(vscode.commands.registerCommand(id, fn));
    };
    reg("phasegate.session.start", () => this.startSession());
    reg("phasegate.session.resume", () => this.resumeSession());
    reg("phasegate.workspace.validate", (node) => this.validate(node as Node | undefined));
    reg("phasegate.workspace.remediate", (node) => this.remediate(node as Node | undefined));
    reg("phasegate.phase.rework", (node) => this.rework(node as Node | undefined));
    reg("phasegate.gates.run", () => this.runGates());
    reg("phasegate.report.show", () => this.report());
    reg("phasegate.session.stop", () => this.stopSession());
    reg("phasegate.server.restart", async () => (await this.servers.forCommand())?.restart());
    reg("phasegate.output.show", () => this.servers.output.show());
    reg("phasegate.view.refresh", () => this.refresh());
    reg("phasegate.workspace.analyse", () => this.analyseWorkspace());
    reg("phasegate.outcome.show", () => this.showLastOutcome());
    // a long command the extension did not start (a code action's Rework) ends with a
    // message too
    context.subscriptions.push(
      this.servers.onDidFinishRun(({ manager, run }) =>
        this.announce(manager, run, COMMAND_TITLES[run.command] ?? run.command),
      ),
    );
  }

  /** Explain why a command that runs workspace code is refused here; true when it may run. */
  private async requireTrust(title: string): Promise<boolean> {
    if (vscode.workspace.isTrusted) {
      return true;
    }
    const choice = await vscode.window.showWarningMessage(
      `PhaseGate: ${title} runs workspace code (personas, tests, configured commands), which is ` +
        "disabled in an untrusted workspace. Trust the workspace to use it.",
      "Manage Workspace Trust",
    );
    if (choice) {
      await vscode.commands.executeCommand("workbench.trust.manage");
    }
    return false;
  }

  /**
   * Run a server command under a cancellable progress notification, showing the server's
   * work-done progress. Cancel sends $/cancelRequest, then stopSession if the server has
   * not answered within a grace period. Returns the result, or undefined on error/cancel.
   */
  async run(
    title: string,
    command: string,
    arg?: object,
    opts: { quiet?: boolean; manager?: ServerManager; announce?: boolean } = {},
  ): Promise<unknown> {
    if (NEEDS_TRUST.has(command) && !(await this.requireTrust(title))) {
      return undefined;
    }
    const manager = opts.manager ?? (await this.servers.forCommand());
    if (!manager) {
      return undefined;
    }
    const client = await manager.ensureStarted();
    if (!client) {
      return undefined;
    }
    this.statusBar.setBusy(title);
    if (opts.announce) {
      manager.beginOwnCommand();
      manager.output.info(`${title}: started`);
    }
    try {
      const result = await vscode.window.withProgress(
        {
          location: opts.quiet ? vscode.ProgressLocation.Window : vscode.ProgressLocation.Notification,
          title: `PhaseGate: ${title}`,
          cancellable: !opts.quiet,
        },
        async (progress, token) => {
          let lastPct = 0;
          const cts = new vscode.CancellationTokenSource();
          let cancelled = false;
          const request = manager.execute(client, command, arg, cts.token, {
            report: (message, percentage) => {
              let increment: number | undefined;
              if (percentage !== undefined && percentage > lastPct) {
                increment = percentage - lastPct;
                lastPct = percentage;
              }
              progress.report({ message, increment });
            },
          });
          const onCancel = new Promise<"cancelled">((resolve) => {
            token.onCancellationRequested(() => {
              cancelled = true;
              cts.cancel();
              progress.report({ message: "cancelling…" });
              setTimeout(() => resolve("cancelled"), CANCEL_GRACE_MS);
            });
          });
          try {
            const result = await Promise.race([request, onCancel]);
            if (result === "cancelled") {
              manager.output.info(`${command}: no answer after cancel; stopping the session`);
              await manager
                .execute(client, "phasegate.stopSession", undefined)
                .then((s) => manager.setStatus(s))
                .catch(() => undefined);
              void vscode.window.showInformationMessage(`PhaseGate: ${title} cancelled.`);
              return undefined;
            }
            manager.setStatus(result);
            return result;
          } catch (err) {
            if (cancelled || errorCode(err) === REQUEST_CANCELLED) {
              void vscode.window.showInformationMessage(`PhaseGate: ${title} cancelled.`);
              return undefined;
            }
            this.reportError(title, err);
            return undefined;
          } finally {
            cts.dispose();
          }
        },
      );
      if (opts.announce && result !== undefined) {
        // the command's own outcome, once its progress is gone
        const run = manager.status?.lastRun;
        if (manager.claimOutcome(run) && run) {
          if (waitsOnDocument(run)) {
            // a session that waits for a person shows the document it waits on
            await this.openTarget(manager, run, { preview: true, preserveFocus: true });
          }
          void this.announce(manager, run, title);
        }
      }
      return result;
    } finally {
      if (opts.announce) {
        manager.endOwnCommand();
      }
      this.statusBar.setBusy(undefined);
    }
  }

  /**
   * Tell how a long command ended: a notification with its outcome (an error when it
   * failed, a warning when a persona failed or the session waits for a person) and
   * buttons for the next step; the same line in the output.
   */
  async announce(
    manager: ServerManager,
    run: RunOutcome,
    title: string,
    { log = true }: { log?: boolean } = {},
  ): Promise<void> {
    const msg = outcomeMessage(run, title);
    if (log && msg.severity === "info") {
      manager.output.info(msg.text);
    } else if (log) {
      manager.output.warn(msg.text);
    }
    for (const f of log ? run.personaFailures : []) {
      manager.output.warn(
        `${f.phase}: ${f.persona}${f.iteration !== null ? ` (iteration ${f.iteration})` : ""} ` +
          `${f.skipped ? "was not run" : "failed"}: ${f.error || f.reason}`,
      );
    }
    const labels = msg.actions.map((a) => a.label);
    const show =
      msg.severity === "error"
        ? vscode.window.showErrorMessage
        : msg.severity === "warning"
          ? vscode.window.showWarningMessage
          : vscode.window.showInformationMessage;
    const choice = await show(msg.text, ...labels);
    const picked = msg.actions.find((a) => a.label === choice);
    if (picked) {
      await this.act(manager, run, picked.action);
    }
  }

  private async act(manager: ServerManager, run: RunOutcome, action: OutcomeAction): Promise<void> {
    manager.output.info(`outcome of ${run.command}: ${action}`);
    switch (action) {
      case "showOutput":
        manager.output.show(true);
        return;
      case "showProblems":
        await vscode.commands.executeCommand("workbench.actions.view.problems");
        return;
      case "openDocument":
        await this.openTarget(manager, run, {});
        return;
      case "resume":
        if (!(await this.requireTrust("Resume Session"))) {
          return;
        }
        await this.run(
          "Resume Session",
          "phasegate.resumeSession",
          run.session ? { sessionId: run.session.id } : undefined,
          { manager, announce: true },
        );
        return;
      case "openReport":
        await this.report(manager);
        return;
      case "startSession":
        await this.startSession();
        return;
    }
  }

  /** Open the outcome's document at its finding (nothing when it has none). */
  private async openTarget(
    manager: ServerManager,
    run: RunOutcome,
    options: { preview?: boolean; preserveFocus?: boolean },
  ): Promise<void> {
    const target = run.open;
    if (!target) {
      return;
    }
    const uri = path.isAbsolute(target.path)
      ? vscode.Uri.file(target.path)
      : vscode.Uri.joinPath(manager.folder.uri, ...target.path.split(/[\\/]/));
    const pos = new vscode.Position(target.line, target.character);
    try {
      await vscode.window.showTextDocument(uri, { ...options, selection: new vscode.Range(pos, pos) });
    } catch (err) {
      manager.output.warn(`cannot open ${target.path}: ${errorMessage(err)}`);
    }
  }

  /** Show the outcome of the last long command again (its notification may be gone). */
  async showLastOutcome(): Promise<void> {
    const manager = await this.servers.forCommand();
    const run = manager?.status?.lastRun;
    if (!manager || !run) {
      void vscode.window.showInformationMessage(
        "PhaseGate: no command has run since the server started.",
      );
      return;
    }
    await this.announce(manager, run, COMMAND_TITLES[run.command] ?? run.command, { log: false });
  }

  private reportError(title: string, err: unknown): void {
    const message = errorMessage(err);
    this.servers.output.error(`${title}: ${message}`);
    if (errorCode(err) === REQUEST_FAILED && !vscode.workspace.isTrusted) {
      void vscode.window
        .showWarningMessage(`PhaseGate: ${title}: ${message}`, "Manage Workspace Trust")
        .then((c) => c && vscode.commands.executeCommand("workbench.trust.manage"));
      return;
    }
    void vscode.window
      .showErrorMessage(`PhaseGate: ${title} failed: ${message}`, "Show Output")
      .then((c) => c && this.servers.output.show());
  }

  async startSession(): Promise<void> {
    if (!(await this.requireTrust("Start Session"))) {
      return;
    }
    const manager = await this.servers.forCommand();
    if (!manager) {
      return;
    }
    if (!(await this.offerAgent(manager))) {
      return;
    }
    const requirement = await vscode.window.showInputBox({
      title: "PhaseGate: Start Session (1/2)",
      prompt: "What should be built? The requirement drives every phase.",
      placeHolder: "Create a task management system",
      ignoreFocusOut: true,
      validateInput: (v) => (v.trim() === "" ? "Enter a requirement." : undefined),
    });
    if (requirement === undefined || requirement.trim() === "") {
      return;
    }
    const sessionId = await vscode.window.showInputBox({
      title: "PhaseGate: Start Session (2/2)",
      prompt: "Session id (optional; Enter for a generated one)",
      placeHolder: "task-manager",
      ignoreFocusOut: true,
      validateInput: validateSessionId,
    });
    if (sessionId === undefined) {
      return;
    }
    const arg: { requirement: string; sessionId?: string } = { requirement: requirement.trim() };
    if (sessionId.trim() !== "") {
      arg.sessionId = sessionId.trim();
    }
    const result = await this.run("Start Session", "phasegate.startSession", arg, {
      manager,
      announce: true,
    });
    if (result !== undefined) {
      await this.revealView();
    }
  }

  /**
   * Before the workspace's first session: when a coding agent's CLI is installed and the
   * code phases still run the scaffold persona (which cannot implement code), offer the
   * agent for them. False when the user cancelled starting the session.
   */
  private async offerAgent(manager: ServerManager): Promise<boolean> {
    const client = await manager.ensureStarted();
    if (!client) {
      return false;
    }
    let offer;
    try {
      offer = parseAgentOffer(await manager.execute(client, "phasegate.agentOffer", undefined));
    } catch (err) {
      this.servers.output.appendLine(`agent offer unavailable: ${errorMessage(err)}`);
      return true;
    }
    if (!offer) {
      return true;
    }
    const use = `Use ${offer.title}`;
    const without = "Continue without";
    const choice = await vscode.window.showInformationMessage(
      `PhaseGate: ${offer.title} can do the code phases' work`,
      { modal: true, detail: offer.message },
      use,
      without,
    );
    if (choice === undefined) {
      return false;
    }
    if (choice === without) {
      return true;
    }
    try {
      await manager.execute(client, "phasegate.useAgent", {
        agent: offer.name,
        personas: offer.personas,
      });
    } catch (err) {
      this.reportError("Use coding agent", err);
      return false;
    }
    void vscode.window.showInformationMessage(
      `PhaseGate: ${offer.personas.join(", ")} now run ${offer.title}` +
        (offer.path ? ` (${offer.path})` : "") +
        "; the old configuration is kept as <file>.phasegate-backup.",
    );
    return true;
  }

  async resumeSession(): Promise<void> {
    if (!(await this.requireTrust("Resume Session"))) {
      return;
    }
    const manager = await this.servers.forCommand();
    const client = await manager?.ensureStarted();
    if (!manager || !client) {
      return;
    }
    let sessions;
    try {
      sessions = parseSessionList(await manager.execute(client, "phasegate.listSessions", undefined));
    } catch (err) {
      this.reportError("Resume Session", err);
      return;
    }
    if (sessions.length === 0) {
      const choice = await vscode.window.showInformationMessage(
        "PhaseGate: this workspace has no session to resume.",
        "Start Session",
      );
      if (choice) {
        await this.startSession();
      }
      return;
    }
    const picked = await vscode.window.showQuickPick(
      sessions.map((s) => ({
        label: s.id,
        description: `${s.active ? "active · " : ""}${s.status}${s.updated_at ? ` · ${new Date(s.updated_at * 1000).toLocaleString()}` : ""}`,
        detail: s.requirement,
        id: s.id,
      })),
      { title: "PhaseGate: Resume Session", placeHolder: "Session to resume" },
    );
    if (!picked) {
      return;
    }
    const result = await this.run(
      "Resume Session",
      "phasegate.resumeSession",
      { sessionId: picked.id },
      { manager, announce: true },
    );
    if (result !== undefined) {
      await this.revealView();
    }
  }

  async validate(node?: Node): Promise<void> {
    const arg = node?.kind === "phase" ? { phase: node.phase.name } : undefined;
    await this.run("Validate Workspace", "phasegate.validate", arg, { announce: true });
  }

  async remediate(node?: Node): Promise<void> {
    const arg = node?.kind === "phase" ? { phase: node.phase.name } : undefined;
    await this.run("Remediate", "phasegate.remediate", arg, { announce: true });
  }

  async analyseWorkspace(): Promise<void> {
    await this.run("Analyse the Whole Workspace", "phasegate.analyseWorkspace");
  }

  async runGates(): Promise<void> {
    await this.run("Run Gates", "phasegate.runGates", undefined, { announce: true });
  }

  async rework(node?: Node): Promise<void> {
    if (!(await this.requireTrust("Rework Phase"))) {
      return;
    }
    const manager = await this.servers.forCommand();
    if (!manager) {
      return;
    }
    let phase: PhaseInfo | undefined = node?.kind === "phase" ? node.phase : undefined;
    if (!phase) {
      phase = await this.pickPhase(manager);
    }
    if (!phase) {
      return;
    }
    await this.run(
      `Rework ${phase.title || phase.name}`,
      "phasegate.rework",
      { phase: phase.name },
      { manager, announce: true },
    );
  }

  private async pickPhase(manager: ServerManager): Promise<PhaseInfo | undefined> {
    let status = manager.status;
    if (!status || status.phases.length === 0) {
      const client = await manager.ensureStarted();
      if (!client) {
        return undefined;
      }
      try {
        status = manager.setStatus(await manager.execute(client, "phasegate.status", undefined));
      } catch (err) {
        this.reportError("Rework Phase", err);
        return undefined;
      }
    }
    const phases = status?.phases ?? [];
    if (phases.length === 0) {
      void vscode.window.showInformationMessage("PhaseGate: no phases to rework.");
      return undefined;
    }
    const picked = await vscode.window.showQuickPick(
      phases.map((p) => ({
        label: p.title || p.name,
        description: phaseDescription(p, (status?.session ?? null) !== null),
        detail: failingSummary(p),
        phase: p,
      })),
      { title: "PhaseGate: Rework Phase", placeHolder: "Phase whose failed checks to rework" },
    );
    return picked?.phase;
  }

  async stopSession(): Promise<void> {
    await this.run("Stop Session", "phasegate.stopSession", undefined, { quiet: true });
  }

  async refresh(): Promise<void> {
    await this.run("Refresh", "phasegate.status", undefined, { quiet: true });
  }

  async report(chosen?: ServerManager): Promise<void> {
    const manager = chosen ?? (await this.servers.forCommand());
    if (!manager) {
      return;
    }
    const result = await this.run("Show Report", "phasegate.report", { format: "html" }, {
      quiet: true,
      manager,
    });
    if (!result || typeof result !== "object") {
      return;
    }
    const reportPath = (result as { path?: unknown }).path;
    if (typeof reportPath !== "string" || reportPath === "") {
      void vscode.window.showErrorMessage("PhaseGate: the server returned no report path.");
      return;
    }
    const root = manager.folder.uri.fsPath;
    const abs = path.isAbsolute(reportPath) ? reportPath : path.join(root, reportPath);
    await showReport(abs);
  }

  private async revealView(): Promise<void> {
    await vscode.commands.executeCommand("workbench.view.extension.phasegate");
  }
}

function failingSummary(p: PhaseInfo): string {
  const failing = p.checks.filter((c) => !c.passed && !c.skipped && !c.error).map((c) => c.id);
  const unknown = p.checks.filter((c) => c.error).map((c) => c.id);
  const parts = [];
  if (failing.length > 0) {
    parts.push(`failing: ${failing.join(", ")}`);
  }
  if (unknown.length > 0) {
    parts.push(`could not run: ${unknown.join(", ")}`);
  }
  return parts.length > 0 ? parts.join("; ") : "all checks pass";
}
