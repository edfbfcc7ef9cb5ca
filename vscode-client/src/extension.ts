// PhaseGate for VS Code: starts the phasegate language server and presents its sessions.

import * as vscode from "vscode";

import { ServerManager } from "./client";
import { Commands } from "./commands";
import { onPythonInterpreterChanged } from "./interpreter";
import { PhaseStatusBar } from "./statusBar";
import { SessionTreeProvider } from "./tree";

let manager: ServerManager | undefined;

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
  manager = new ServerManager(output);
  const mgr = manager;
  context.subscriptions.push(mgr);

  const statusBar = new PhaseStatusBar();
  context.subscriptions.push(statusBar);
  const tree = new SessionTreeProvider(() => mgr.folder?.uri);
  const view = vscode.window.createTreeView("phasegate.session", {
    treeDataProvider: tree,
    showCollapseAll: true,
  });
  context.subscriptions.push(view);

  const updateViewMessage = (): void => {
    const status = mgr.status;
    view.message = status?.session
      ? undefined
      : status && status.phases.length > 0
        ? "No session: the gates of the workspace as it is."
        : undefined;
    const s = status?.session;
    view.description = s ? s.status.replace("_", " ") : undefined;
  };

  context.subscriptions.push(
    mgr.onDidChangeStatus((status) => {
      tree.update(status);
      statusBar.setStatus(status);
      updateViewMessage();
    }),
    mgr.onDidChangeState((state) => {
      statusBar.setServerState(state);
      tree.setServerNote(
        state === "missing"
          ? "The phasegate language server is not installed (see Output)"
          : state === "failed"
            ? "The phasegate language server did not start (see Output)"
            : undefined,
      );
    }),
  );

  new Commands(mgr, statusBar).register(context);

  context.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration("phasegate.statusBar")) {
        statusBar.setStatus(mgr.status);
      }
      if (e.affectsConfiguration("phasegate.interpreter") || e.affectsConfiguration("phasegate.server")) {
        if (mgr.state !== "stopped") {
          output.info("server settings changed: restarting");
          void mgr.restart();
        }
      }
    }),
    vscode.workspace.onDidGrantWorkspaceTrust(() => {
      if (mgr.state !== "stopped") {
        output.info("workspace trusted: restarting the server with trust");
        void mgr.restart();
      }
    }),
  );

  void onPythonInterpreterChanged(() => {
    if (mgr.state !== "stopped" && mgr.launchInfo?.source === "python-extension") {
      output.info("Python interpreter changed: restarting");
      void mgr.restart();
    }
  }).then((d) => d && context.subscriptions.push(d));

  const folder = mgr.folder;
  const autoStart = vscode.workspace.getConfiguration("phasegate", folder).get<boolean>("server.autoStart");
  if (folder && autoStart !== false && (await workspaceUsesPhasegate(folder))) {
    void mgr.ensureStarted();
  } else {
    output.info("PhaseGate is not configured in this workspace; the server starts on the first command");
  }
}

export async function deactivate(): Promise<void> {
  await manager?.stop();
  manager = undefined;
}
