// One language server per workspace folder, and which folder the UI is showing.

import * as vscode from "vscode";

import { ExecuteCommandRequest } from "vscode-languageclient/node";

import { ServerManager, type ServerState } from "./client";
import type { ClientHooks } from "./middleware";
import type { RunOutcome } from "./outcome";
import type { StatusObject } from "./status";

/**
 * The servers of the open workspace folders, each started on demand. The *active* folder
 * is the one of the active editor (else the last one that was active, else the first
 * folder): the view, the status bar item and the commands follow it.
 */
export class FolderServers implements vscode.Disposable {
  private readonly managers = new Map<string, ServerManager>();
  private readonly subscriptions = new Map<string, vscode.Disposable[]>();
  private activeKey: string | undefined;
  private readonly activeEmitter = new vscode.EventEmitter<ServerManager | undefined>();
  private readonly stateEmitter = new vscode.EventEmitter<ServerState>();
  private readonly statusEmitter = new vscode.EventEmitter<StatusObject | null>();
  private readonly runEmitter = new vscode.EventEmitter<{ manager: ServerManager; run: RunOutcome }>();
  private readonly disposables: vscode.Disposable[] = [];
  private readonly serverCommands = new Set<string>();

  /** The active folder changed (its manager, or undefined when no folder is open). */
  readonly onDidChangeActive = this.activeEmitter.event;
  /** The active folder's server changed state. */
  readonly onDidChangeState = this.stateEmitter.event;
  /** The active folder's status changed. */
  readonly onDidChangeStatus = this.statusEmitter.event;
  /** A long command the extension did not start ended, in any folder (see ServerManager). */
  readonly onDidFinishRun = this.runEmitter.event;

  constructor(
    readonly output: vscode.LogOutputChannel,
    /** The extension's middleware, given to each folder's client. */
    private readonly hooks?: ClientHooks,
  ) {
    this.disposables.push(
      vscode.window.onDidChangeActiveTextEditor((editor) => {
        const folder = editor ? vscode.workspace.getWorkspaceFolder(editor.document.uri) : undefined;
        if (folder) {
          this.setActive(folder);
        }
      }),
      vscode.workspace.onDidChangeWorkspaceFolders((e) => {
        for (const folder of e.removed) {
          void this.remove(folder);
        }
        const open = new Set((vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.toString()));
        if (this.activeKey && !open.has(this.activeKey)) {
          this.activeKey = undefined;
          const mgr = this.active;
          this.activeEmitter.fire(mgr);
          this.stateEmitter.fire(mgr?.state ?? "stopped");
          this.statusEmitter.fire(mgr?.status ?? null);
        }
      }),
    );
    const editor = vscode.window.activeTextEditor;
    const first = editor ? vscode.workspace.getWorkspaceFolder(editor.document.uri) : undefined;
    if (first) {
      this.activeKey = first.uri.toString();
    }
  }

  /** The folder the UI shows: the active editor's, else the last active, else the first. */
  get activeFolder(): vscode.WorkspaceFolder | undefined {
    const folders = vscode.workspace.workspaceFolders ?? [];
    return folders.find((f) => f.uri.toString() === this.activeKey) ?? folders[0];
  }

  /** The active folder's server manager (created, not started, when first asked for). */
  get active(): ServerManager | undefined {
    const folder = this.activeFolder;
    return folder ? this.forFolder(folder) : undefined;
  }

  /** Every manager created so far. */
  get all(): ServerManager[] {
    return [...this.managers.values()];
  }

  forFolder(folder: vscode.WorkspaceFolder): ServerManager {
    const key = folder.uri.toString();
    let mgr = this.managers.get(key);
    if (!mgr) {
      const created = new ServerManager(
        this.output,
        folder,
        (ids) => this.registerServerCommands(ids),
        this.hooks,
      );
      mgr = created;
      this.managers.set(key, created);
      this.subscriptions.set(key, [
        created.onDidChangeState((state) => {
          if (this.active === created) {
            this.stateEmitter.fire(state);
          }
        }),
        created.onDidChangeStatus((status) => {
          if (this.active === created) {
            this.statusEmitter.fire(status);
          }
        }),
        created.onDidFinishRun((run) => this.runEmitter.fire({ manager: created, run })),
      ]);
    }
    return mgr;
  }

  /**
   * The manager a command acts on: the folder of the active editor; else the folder the
   * view and the status bar show, once one was chosen; else, with several folders, the
   * user picks one (undefined: none).
   */
  async forCommand(): Promise<ServerManager | undefined> {
    const folders = vscode.workspace.workspaceFolders ?? [];
    if (folders.length === 0) {
      void vscode.window.showWarningMessage("PhaseGate needs an open folder.");
      return undefined;
    }
    const editor = vscode.window.activeTextEditor;
    const fromEditor = editor ? vscode.workspace.getWorkspaceFolder(editor.document.uri) : undefined;
    if (fromEditor) {
      this.setActive(fromEditor);
      return this.forFolder(fromEditor);
    }
    const shown = folders.find((f) => f.uri.toString() === this.activeKey);
    if (folders.length === 1 || shown) {
      return this.forFolder(shown ?? folders[0]);
    }
    const picked = await vscode.window.showWorkspaceFolderPick({
      placeHolder: "PhaseGate: workspace folder",
    });
    if (!picked) {
      return undefined;
    }
    this.setActive(picked);
    return this.forFolder(picked);
  }

  /**
   * Register the server's commands in VS Code (once each, whatever the number of
   * folders): invoked from a code action, a command goes to the server of the active
   * editor's folder, else of the folder the view shows.
   */
  private registerServerCommands(ids: string[]): void {
    for (const id of ids) {
      if (this.serverCommands.has(id)) {
        continue;
      }
      this.serverCommands.add(id);
      this.disposables.push(
        vscode.commands.registerCommand(id, async (...args: unknown[]) => {
          const editor = vscode.window.activeTextEditor;
          const folder =
            (editor && vscode.workspace.getWorkspaceFolder(editor.document.uri)) ?? this.activeFolder;
          const client = folder ? await this.forFolder(folder).ensureStarted() : undefined;
          if (!client) {
            return undefined;
          }
          return client.sendRequest(ExecuteCommandRequest.type, { command: id, arguments: args });
        }),
      );
    }
  }

  private setActive(folder: vscode.WorkspaceFolder): void {
    const key = folder.uri.toString();
    if (this.activeKey === key) {
      return;
    }
    this.activeKey = key;
    const mgr = this.forFolder(folder);
    this.activeEmitter.fire(mgr);
    this.stateEmitter.fire(mgr.state);
    this.statusEmitter.fire(mgr.status);
  }

  private async remove(folder: vscode.WorkspaceFolder): Promise<void> {
    const key = folder.uri.toString();
    const mgr = this.managers.get(key);
    this.managers.delete(key);
    for (const d of this.subscriptions.get(key) ?? []) {
      d.dispose();
    }
    this.subscriptions.delete(key);
    if (mgr) {
      await mgr.stop();
      mgr.dispose();
    }
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.all.map((m) => m.stop()));
  }

  dispose(): void {
    for (const mgr of this.managers.values()) {
      mgr.dispose();
    }
    for (const subs of this.subscriptions.values()) {
      for (const d of subs) {
        d.dispose();
      }
    }
    this.managers.clear();
    this.subscriptions.clear();
    for (const d of this.disposables) {
      d.dispose();
    }
    this.activeEmitter.dispose();
    this.stateEmitter.dispose();
    this.statusEmitter.dispose();
    this.runEmitter.dispose();
  }
}
