// Starts, stops and talks to the phasegate language server.

import * as os from "node:os";
import * as vscode from "vscode";
import {
  type CancellationToken,
  ExecuteCommandRequest,
  LanguageClient,
  type LanguageClientOptions,
  ResponseError,
  RevealOutputChannelOn,
  type ServerOptions,
  State,
  TransportKind,
  WorkDoneProgress,
  type WorkDoneProgressBegin,
  type WorkDoneProgressReport,
} from "vscode-languageclient/node";

import {
  checkPhasegateImportable,
  fromEnvironment,
  type ImportCheck,
  pythonFromExtension,
  resolveServerLaunch,
  type ServerLaunch,
} from "./interpreter";
import type { ClientHooks } from "./middleware";
import type { RunOutcome } from "./outcome";
import { folderSelector } from "./paths";
import { pipInstallLine } from "./shell";
import { parseStatus, type StatusObject } from "./status";

export type ServerState = "stopped" | "starting" | "running" | "failed" | "missing";

/** JSON-RPC RequestFailed: the server refuses (e.g. workspace code in an untrusted workspace). */
export const REQUEST_FAILED = -32803;
/** JSON-RPC RequestCancelled. */
export const REQUEST_CANCELLED = -32800;

export interface ProgressSink {
  report(message: string | undefined, percentage: number | undefined): void;
}

export class ServerManager implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private starting: Promise<LanguageClient | undefined> | undefined;
  private launch: ServerLaunch | undefined;
  private _state: ServerState = "stopped";
  private _status: StatusObject | null = null;
  private readonly stateEmitter = new vscode.EventEmitter<ServerState>();
  private readonly statusEmitter = new vscode.EventEmitter<StatusObject | null>();
  private readonly runEmitter = new vscode.EventEmitter<RunOutcome>();
  private readonly disposables: vscode.Disposable[] = [];
  private progressCounter = 0;
  /** The highest `lastRun` id the user was told about (or will be, by its command). */
  private announced = 0;
  /** Long commands the extension itself is running: their replies tell their outcome. */
  private ownCommands = 0;

  readonly onDidChangeState = this.stateEmitter.event;
  readonly onDidChangeStatus = this.statusEmitter.event;
  /**
   * A long command the extension did not start (a code action's Rework) ended well: its
   * outcome, once. The outcome of the extension's own commands comes with their reply.
   */
  readonly onDidFinishRun = this.runEmitter.event;

  constructor(
    readonly output: vscode.LogOutputChannel,
    readonly folder: vscode.WorkspaceFolder,
    /** Told the command ids the server offers, once it runs (see FolderServers). */
    private readonly onServerCommands: (ids: string[]) => void = () => undefined,
    /** The extension's middleware (coverage, documentation; see middleware.ts). */
    private readonly hooks?: ClientHooks,
  ) {}

  get state(): ServerState {
    return this._state;
  }

  get status(): StatusObject | null {
    return this._status;
  }

  get launchInfo(): ServerLaunch | undefined {
    return this.launch;
  }

  private setState(state: ServerState): void {
    if (this._state !== state) {
      this._state = state;
      this.stateEmitter.fire(state);
    }
  }

  setStatus(raw: unknown): StatusObject | null {
    const status = parseStatus(raw);
    if (status) {
      this._status = status;
      this.statusEmitter.fire(status);
      const run = status.lastRun;
      // failures and stops of other commands are reported by whoever asked for them
      if (run && run.result === "done" && this.ownCommands === 0 && run.id > this.announced) {
        this.announced = run.id;
        this.runEmitter.fire(run);
      }
    }
    return status;
  }

  /** The extension starts a long command: its reply, not the status, tells its outcome. */
  beginOwnCommand(): void {
    this.ownCommands++;
  }

  endOwnCommand(): void {
    this.ownCommands = Math.max(0, this.ownCommands - 1);
  }

  /** True the first time an outcome is claimed: then it is the caller's to tell. */
  claimOutcome(run: RunOutcome | null | undefined): boolean {
    if (!run || run.id <= this.announced) {
      return false;
    }
    this.announced = run.id;
    return true;
  }

  /** The running client, starting the server first if needed; undefined if it cannot start. */
  async ensureStarted(): Promise<LanguageClient | undefined> {
    if (this.client && this.client.state === State.Running) {
      return this.client;
    }
    if (!this.starting) {
      this.starting = this.start().finally(() => {
        this.starting = undefined;
      });
    }
    return this.starting;
  }

  private async start(): Promise<LanguageClient | undefined> {
    const folder = this.folder;
    this.announced = 0; // a new server counts its commands from 1
    this.setState("starting");
    let launch = await resolveServerLaunch(folder);
    // Can the interpreter run the server? The bundled one first, if any, else (or when it
    // cannot) phasegate from the interpreter's environment.
    let check: ImportCheck | undefined;
    const python = launch.python;
    if (python !== null) {
      check = await checkPhasegateImportable(python, os.tmpdir(), launch.bundled);
      if (!check.ok && launch.bundled !== null) {
        launch = fromEnvironment(
          launch,
          `the bundled server cannot run with ${python} (${check.reason}); ` +
            "phasegate comes from the interpreter's environment",
        );
        check = await checkPhasegateImportable(python, os.tmpdir(), null);
      }
    }
    this.launch = launch;
    this.output.info(
      `server command (${launch.source}${launch.bundled ? ", bundled" : ""}): ` +
        [launch.command, ...launch.args].join(" "),
    );
    if (launch.note) {
      this.output.info(launch.note);
    }
    if (launch.python !== null && check !== undefined) {
      if (!check.ok) {
        this.output.error(`phasegate is not importable with ${launch.python}: ${check.reason}`);
        this.setState("missing");
        void this.offerInstall(launch.python, check.reason ?? "");
        return undefined;
      }
      this.output.info(`phasegate ${check.version} with ${launch.python}`);
    }
    const trusted = vscode.workspace.isTrusted;
    const workspacePython =
      launch.source === "python-extension" ? launch.python : await pythonFromExtension(folder.uri);
    const serverOptions: ServerOptions = {
      command: launch.command,
      args: launch.args,
      transport: TransportKind.stdio,
      options: { cwd: folder.uri.fsPath, env: { ...process.env, PYTHONUNBUFFERED: "1" } },
    };
    const clientOptions: LanguageClientOptions = {
      // each workspace folder has a server of its own, sent that folder's files
      documentSelector: folderSelector(folder.uri.fsPath, multiRoot()),
      workspaceFolder: folder,
      outputChannel: this.output,
      revealOutputChannelOn: RevealOutputChannelOn.Never,
      diagnosticCollectionName: "phasegate",
      middleware: this.hooks?.middleware(folder),
      initializationOptions: {
        trusted,
        // The Python that runs the workspace's own tests (not the server's): the Python
        // extension's selection, else null for the server's default (.venv/bin/python).
        interpreter: workspacePython ?? null,
        settings: clientSettings(folder),
      },
    };
    const client = new LanguageClient(
      "phasegate",
      multiRoot() ? `PhaseGate (${folder.name})` : "PhaseGate",
      serverOptions,
      clientOptions,
    );
    // The server's commands (those of code actions, e.g. "Rework with <persona>") are
    // registered in VS Code once for all folders, by FolderServers, and sent to the server
    // of the folder in use: the client registering them itself would clash between the
    // clients of a multi-root workspace.
    const commands = client.getFeature(ExecuteCommandRequest.method) as unknown as {
      register: (data: unknown) => void;
    };
    commands.register = () => undefined;
    client.onNotification("phasegate/status", (params: unknown) => {
      this.setStatus(params);
    });
    this.disposables.push(
      client.onDidChangeState((e) => {
        if (client !== this.client) {
          return;
        }
        if (e.newState === State.Running) {
          this.setState("running");
        } else if (e.newState === State.Starting) {
          this.setState("starting");
        } else if (this._state !== "missing") {
          this.setState("stopped");
        }
      }),
    );
    this.client = client;
    try {
      await client.start();
    } catch (err) {
      this.client = undefined;
      this.setState("failed");
      const message = errorMessage(err);
      this.output.error(`the language server did not start: ${message}`);
      void vscode.window
        .showErrorMessage(`PhaseGate: the language server did not start: ${message}`, "Show Output")
        .then((choice) => {
          if (choice === "Show Output") {
            this.output.show();
          }
        });
      return undefined;
    }
    this.setState("running");
    this.output.info(`server running (workspace ${trusted ? "trusted" : "not trusted"})`);
    this.onServerCommands(client.initializeResult?.capabilities.executeCommandProvider?.commands ?? []);
    try {
      this.setStatus(await this.execute(client, "phasegate.status", undefined));
    } catch (err) {
      this.output.warn(`phasegate.status failed: ${errorMessage(err)}`);
    }
    return client;
  }

  private async offerInstall(python: string, reason: string): Promise<void> {
    const spec =
      vscode.workspace.getConfiguration("phasegate", this.folder).get<string>("server.installSpec") ||
      "phasegate";
    const install = "Install phasegate";
    const choice = await vscode.window.showErrorMessage(
      `PhaseGate: the language server is not installed for ${python} (${reason}). ` +
        `Install installs it with pip install ${spec}.`,
      install,
      "Choose Interpreter",
      "Show Output",
    );
    if (choice === install) {
      const terminal = vscode.window.createTerminal({
        name: "PhaseGate: install",
        cwd: this.folder?.uri,
      });
      terminal.show();
      terminal.sendText(pipInstallLine(python, spec));
      const restart = await vscode.window.showInformationMessage(
        "PhaseGate: when the installation has finished, restart the server.",
        "Restart Server",
      );
      if (restart) {
        await this.restart();
      }
    } else if (choice === "Choose Interpreter") {
      await vscode.commands.executeCommand("workbench.action.openSettings", "phasegate.interpreter");
    } else if (choice === "Show Output") {
      this.output.show();
    }
  }

  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client) {
      try {
        await client.stop(5000);
      } catch (err) {
        this.output.warn(`stopping the server: ${errorMessage(err)}`);
      }
      await client.dispose().catch(() => undefined);
    }
    this.hooks?.stopped(this.folder);
    this.setState("stopped");
  }

  async restart(): Promise<LanguageClient | undefined> {
    if (this.starting) {
      await this.starting.catch(() => undefined);
    }
    await this.stop();
    return this.ensureStarted();
  }

  /** workspace/executeCommand with one optional argument object. */
  async execute(
    client: LanguageClient,
    command: string,
    arg: object | undefined,
    token?: CancellationToken,
    progress?: ProgressSink,
  ): Promise<unknown> {
    let progressDisposable: vscode.Disposable | undefined;
    let workDoneToken: string | undefined;
    if (progress) {
      workDoneToken = `phasegate-${process.pid}-${++this.progressCounter}`;
      progressDisposable = client.onProgress(WorkDoneProgress.type, workDoneToken, (value) => {
        if (value.kind === "begin" || value.kind === "report") {
          const v = value as WorkDoneProgressBegin | WorkDoneProgressReport;
          progress.report(v.message, v.percentage);
        }
      });
    }
    try {
      return await client.sendRequest(
        ExecuteCommandRequest.type,
        { command, arguments: arg === undefined ? [] : [arg], workDoneToken },
        token,
      );
    } finally {
      progressDisposable?.dispose();
    }
  }

  dispose(): void {
    void this.stop();
    for (const d of this.disposables) {
      d.dispose();
    }
    this.stateEmitter.dispose();
    this.statusEmitter.dispose();
    this.runEmitter.dispose();
  }
}

/** Several folders are open (a multi-root workspace). */
export function multiRoot(): boolean {
  return (vscode.workspace.workspaceFolders?.length ?? 0) > 1;
}

/** Settings forwarded to the server in initializationOptions.settings. */
function clientSettings(folder: vscode.WorkspaceFolder): Record<string, unknown> {
  const config = vscode.workspace.getConfiguration("phasegate", folder);
  return {
    debounceMs: config.get<number>("server.debounceMs"),
    runOnOpen: config.get<boolean>("server.runOnOpen"),
    maxEagerFiles: config.get<number>("server.maxEagerFiles"),
    runWorkspaceChecksOnChange: config.get<boolean>("server.runWorkspaceChecksOnChange"),
    runWorkspaceChecksOnOpen: config.get<boolean>("server.runWorkspaceChecksOnOpen"),
    newCodeFocus: config.get<string>("newCodeFocus"),
  };
}

export function errorMessage(err: unknown): string {
  if (err instanceof ResponseError) {
    return err.message;
  }
  if (err instanceof Error) {
    return err.message;
  }
  return String(err);
}

export function errorCode(err: unknown): number | undefined {
  return err instanceof ResponseError ? err.code : undefined;
}
