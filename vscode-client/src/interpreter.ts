// Which command starts the language server, and whether phasegate is importable there.

import { execFile } from "node:child_process";
import * as path from "node:path";
import * as vscode from "vscode";

import {
  type BundledServer,
  findBundledServer,
  importStrategy,
  probeArgs,
  serveArgs,
} from "./bundled";

export type ServerSource = "server.command" | "interpreter" | "python-extension" | "default";

export interface ServerLaunch {
  /** Executable and arguments that start the server on stdio. */
  command: string;
  args: string[];
  /**
   * The Python interpreter, when the server is started as `<python> -m phasegate serve`
   * or from the bundled server.
   */
  python: string | null;
  source: ServerSource;
  /** The server bundled in the extension that `python` runs, else null (environment). */
  bundled: BundledServer | null;
  /** Why the bundled server is not used although the strategy asks for it. */
  note?: string;
}

/** The extension's root folder: `dist/extension.js` is one level below it. */
const EXTENSION_ROOT = path.resolve(__dirname, "..");

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
 * The interpreter runs the server bundled in the extension when
 * `phasegate.server.importStrategy` is `useBundled` (the default) and the extension was
 * packaged with one, else `-m phasegate serve` from its own environment.
 */
export async function resolveServerLaunch(folder?: vscode.WorkspaceFolder): Promise<ServerLaunch> {
  const config = vscode.workspace.getConfiguration("phasegate", folder);
  const command = config.get<unknown>("server.command");
  if (Array.isArray(command) && command.length > 0 && command.every((c) => typeof c === "string")) {
    const [exe, ...args] = command as string[];
    if (exe.trim() !== "") {
      return { command: exe, args, python: null, source: "server.command", bundled: null };
    }
  }
  let bundled: BundledServer | null = null;
  let note: string | undefined;
  if (importStrategy(config.get<unknown>("server.importStrategy")) === "useBundled") {
    bundled = findBundledServer(EXTENSION_ROOT) ?? null;
    if (bundled === null) {
      note =
        "importStrategy useBundled: this package of the extension has no bundled server " +
        "(npm run package:bundled makes one); phasegate comes from the interpreter's environment";
    }
  }
  const withPython = (python: string, source: ServerSource): ServerLaunch => ({
    command: python,
    args: serveArgs(bundled),
    python,
    source,
    bundled,
    note,
  });
  const configured = (config.get<string>("interpreter") ?? "").trim();
  if (configured !== "") {
    return withPython(expandVariables(configured, folder), "interpreter");
  }
  const fromExtension = await pythonFromExtension(folder?.uri);
  if (fromExtension) {
    return withPython(fromExtension, "python-extension");
  }
  return withPython(process.platform === "win32" ? "python" : "python3", "default");
}

/** The same interpreter with phasegate from its own environment instead of the bundle. */
export function fromEnvironment(launch: ServerLaunch, note: string): ServerLaunch {
  return { ...launch, args: serveArgs(null), bundled: null, note };
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

/**
 * Can `python` import phasegate (from the bundled server when given)? Runs the interpreter
 * with a timeout, outside the workspace.
 */
export function checkPhasegateImportable(
  python: string,
  cwd: string,
  bundled: BundledServer | null = null,
): Promise<ImportCheck> {
  return new Promise((resolve) => {
    execFile(
      python,
      probeArgs(bundled),
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
