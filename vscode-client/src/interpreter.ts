// Which command starts the language server, and whether phasegate is importable there.

import { execFile } from "node:child_process";
import * as vscode from "vscode";

export type ServerSource = "server.command" | "interpreter" | "python-extension" | "default";

export interface ServerLaunch {
  /** Executable and arguments that start the server on stdio. */
  command: string;
  args: string[];
  /** The Python interpreter, when the server is started as `<python> -m phasegate serve`. */
  python: string | null;
  source: ServerSource;
}

interface PythonEnvironmentPath {
  id: string;
  path: string;
}

interface PythonResolvedEnvironment {
  executable?: { uri?: vscode.Uri };
}

/** The parts of the Python extension's public API that are used here. */
interface PythonExtensionApi {
  environments?: {
    getActiveEnvironmentPath(resource?: vscode.Uri): PythonEnvironmentPath;
    resolveEnvironment(
      env: PythonEnvironmentPath | string,
    ): Promise<PythonResolvedEnvironment | undefined>;
    onDidChangeActiveEnvironmentPath: vscode.Event<unknown>;
  };
}

export const PYTHON_EXTENSION_ID = "ms-python.python";

async function pythonExtensionApi(): Promise<PythonExtensionApi | undefined> {
  const ext = vscode.extensions.getExtension<PythonExtensionApi>(PYTHON_EXTENSION_ID);
  if (!ext) {
    return undefined;
  }
  try {
    const api = ext.isActive ? ext.exports : await ext.activate();
    return api?.environments ? api : undefined;
  } catch {
    return undefined;
  }
}

/** The interpreter selected in the Python extension for `resource`, if any. */
export async function pythonFromExtension(resource?: vscode.Uri): Promise<string | undefined> {
  const api = await pythonExtensionApi();
  const envs = api?.environments;
  if (!envs) {
    return undefined;
  }
  try {
    const active = envs.getActiveEnvironmentPath(resource);
    const resolved = await envs.resolveEnvironment(active);
    const exe = resolved?.executable?.uri?.fsPath;
    return exe && exe.length > 0 ? exe : active.path || undefined;
  } catch {
    return undefined;
  }
}

/** Fires when the Python extension's active interpreter changes. */
export async function onPythonInterpreterChanged(
  listener: () => void,
): Promise<vscode.Disposable | undefined> {
  const api = await pythonExtensionApi();
  return api?.environments?.onDidChangeActiveEnvironmentPath(() => listener());
}

/**
 * Resolve the server command. An explicit `phasegate.server.command` wins, then
 * `phasegate.interpreter`, then the Python extension's interpreter, then `python3`.
 */
export async function resolveServerLaunch(folder?: vscode.WorkspaceFolder): Promise<ServerLaunch> {
  const config = vscode.workspace.getConfiguration("phasegate", folder);
  const command = config.get<unknown>("server.command");
  if (Array.isArray(command) && command.length > 0 && command.every((c) => typeof c === "string")) {
    const [exe, ...args] = command as string[];
    if (exe.trim() !== "") {
      return { command: exe, args, python: null, source: "server.command" };
    }
  }
  const configured = (config.get<string>("interpreter") ?? "").trim();
  if (configured !== "") {
    const python = expandVariables(configured, folder);
    return { command: python, args: serveArgs(), python, source: "interpreter" };
  }
  const fromExtension = await pythonFromExtension(folder?.uri);
  if (fromExtension) {
    return {
      command: fromExtension,
      args: serveArgs(),
      python: fromExtension,
      source: "python-extension",
    };
  }
  const python = process.platform === "win32" ? "python" : "python3";
  return { command: python, args: serveArgs(), python, source: "default" };
}

function serveArgs(): string[] {
  return ["-m", "phasegate", "serve"];
}

/** `${workspaceFolder}` and a leading `~` in a configured path. */
export function expandVariables(value: string, folder?: vscode.WorkspaceFolder): string {
  let v = value;
  if (folder) {
    v = v.split("${workspaceFolder}").join(folder.uri.fsPath);
  }
  const home = process.env.HOME ?? process.env.USERPROFILE;
  if (home && (v === "~" || v.startsWith("~/"))) {
    v = home + v.slice(1);
  }
  return v;
}

export interface ImportCheck {
  ok: boolean;
  version?: string;
  reason?: string;
}

/** Can `python` import phasegate? Runs `python -c` with a timeout, outside the workspace. */
export function checkPhasegateImportable(python: string, cwd: string): Promise<ImportCheck> {
  const code = "import phasegate, sys; sys.stdout.write(phasegate.__version__)";
  return new Promise((resolve) => {
    execFile(
      python,
      ["-c", code],
      { cwd, timeout: 30_000, windowsHide: true, maxBuffer: 1024 * 1024 },
      (error, stdout, stderr) => {
        if (!error) {
          resolve({ ok: true, version: String(stdout).trim() });
          return;
        }
        const err = error as NodeJS.ErrnoException & { killed?: boolean };
        if (err.code === "ENOENT") {
          resolve({ ok: false, reason: `interpreter not found: ${python}` });
        } else if (err.killed) {
          resolve({ ok: false, reason: `${python} did not answer within 30 s` });
        } else {
          const lines = String(stderr).trim().split(/\r?\n/);
          resolve({ ok: false, reason: lines[lines.length - 1] || err.message });
        }
      },
    );
  });
}
