// PhaseGate for VS Code: starts the phasegate language server and presents its sessions.

import * as vscode from "vscode";

import { multiRoot, type ServerState } from "./client";
import { Commands } from "./commands";
import { CoverageDecorations } from "./coverageView";
import { DocsViewer } from "./docsView";
import { FolderServers } from "./folders";
import { onPythonInterpreterChanged } from "./interpreter";
import { EditorHooks } from "./middleware";
import { PhaseStatusBar } from "./statusBar";
import { SessionTreeProvider } from "./tree";

let servers: FolderServers | undefined;

/** Does the folder ask for PhaseGate (config file, state folder, or [tool.phasegate])? */
export async function workspaceUsesPhasegate(folder: vscode.WorkspaceFolder): Promise<boolean> {
  const exists = async (name: string): Promise<boolean> => {
    try {
      await vscode.workspace.fs.stat(vscode.Uri.joinPath(folder.uri, name));
      return true;
    } catch {
      return false;
    }
  };
  if ((await exists("phasegate.toml")) || (await exists(".phasegate"))) {
    return true;
  }
  try {
    const bytes = await vscode.workspace.fs.readFile(vscode.Uri.joinPath(folder.uri, "pyproject.toml"));
    return /^\s*\[\s*tool\s*\.\s*phasegate\s*[.\]]/m.test(new TextDecoder().decode(bytes));
  } catch {
    return false;
  }
}

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const output = vscode.window.createOutputChannel("PhaseGate", { log: true });
  context.subscriptions.push(output);
  const coverage = new CoverageDecorations(context.extensionUri);
  const docs = new DocsViewer(context.extension.id, output);
  context.subscriptions.push(coverage, docs);
  servers = new FolderServers(output, new EditorHooks(coverage, docs));
  const all = servers;
  context.subscriptions.push(all);

  const statusBar = new PhaseStatusBar();
  context.subscriptions.push(statusBar);
  const tree = new SessionTreeProvider(() => all.activeFolder?.uri);
  const view = vscode.window.createTreeView("phasegate.session", {
    treeDataProvider: tree,
    showCollapseAll: true,
  });
  context.subscriptions.push(view);

  const updateViewMessage = (): void => {
    const status = all.active?.status;
    view.message = status?.session
      ? undefined
      : status && status.phases.length > 0
        ? "No session: each gate scored as phasegate validate scores it (its last threshold)."
        : undefined;
    const s = status?.session;
    view.description = s ? s.status.replace("_", " ") : undefined;
    // in a multi-root workspace the view's title says which folder it shows (the
    // description is not drawn when the view fills its container)
    const folder = multiRoot() ? all.activeFolder?.name : undefined;
    view.title = folder ? `Session · ${folder}` : "Session";
  };
  const showState = (state: ServerState): void => {
    statusBar.setServerState(state);
    tree.setServerNote(
      state === "missing"
        ? "The phasegate language server is not installed (see Output)"
        : state === "failed"
          ? "The phasegate language server did not start (see Output)"
          : undefined,
    );
  };

  context.subscriptions.push(
    all.onDidChangeStatus((status) => {
      tree.update(status);
      statusBar.setStatus(status);
      updateViewMessage();
    }),
    all.onDidChangeState(showState),
    all.onDidChangeActive(() => {
      statusBar.setFolder(multiRoot() ? all.activeFolder?.name : undefined);
      updateViewMessage();
    }),
  );

  new Commands(all, statusBar).register(context);

  context.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration("phasegate.statusBar")) {
        statusBar.setStatus(all.active?.status ?? null);
      }
      for (const mgr of all.all) {
        const changed =
          e.affectsConfiguration("phasegate.interpreter", mgr.folder) ||
          e.affectsConfiguration("phasegate.server", mgr.folder) ||
          e.affectsConfiguration("phasegate.newCodeFocus", mgr.folder);
        if (changed && mgr.state !== "stopped") {
          output.info(`server settings changed: restarting (${mgr.folder.name})`);
          void mgr.restart();
        }
      }
    }),
    vscode.workspace.onDidGrantWorkspaceTrust(() => {
      for (const mgr of all.all) {
        if (mgr.state !== "stopped") {
          output.info(`workspace trusted: restarting the server with trust (${mgr.folder.name})`);
          void mgr.restart();
        }
      }
    }),
    vscode.workspace.onDidChangeWorkspaceFolders((e) => {
      for (const folder of e.added) {
        void autoStart(all, folder);
      }
    }),
  );

  void onPythonInterpreterChanged(() => {
    for (const mgr of all.all) {
      if (mgr.state !== "stopped" && mgr.launchInfo?.source === "python-extension") {
        output.info(`Python interpreter changed: restarting (${mgr.folder.name})`);
        void mgr.restart();
      }
    }
  }).then((d) => d && context.subscriptions.push(d));

  statusBar.setFolder(multiRoot() ? all.activeFolder?.name : undefined);
  const folders = vscode.workspace.workspaceFolders ?? [];
  const started = await Promise.all(folders.map((f) => autoStart(all, f)));
  if (!started.some((x) => x)) {
    output.info("PhaseGate is not configured in this workspace; the server starts on the first command");
  }
}

/** Start the folder's server when the folder asks for PhaseGate and auto-start is on. */
async function autoStart(all: FolderServers, folder: vscode.WorkspaceFolder): Promise<boolean> {
  const enabled = vscode.workspace.getConfiguration("phasegate", folder).get<boolean>("server.autoStart");
  if (enabled === false || !(await workspaceUsesPhasegate(folder))) {
    return false;
  }
  void all.forFolder(folder).ensureStarted();
  return true;
}

export async function deactivate(): Promise<void> {
  await servers?.stopAll();
  servers = undefined;
}
