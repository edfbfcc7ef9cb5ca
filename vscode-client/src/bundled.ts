// The language server bundled in the extension, for `phasegate.server.importStrategy`
// (no vscode import: unit-tested under node).
//
// `npm run package:bundled` installs phasegate's wheel, with its dependencies, into
// `bundled/libs` (scripts/bundle-server.mjs); `bundled/tool/phasegate_server.py` puts that
// folder first on the server's `sys.path` and starts `phasegate serve`. The default
// package (`npm run package`) has no `bundled/libs`: the server then comes from the
// interpreter's environment whatever the strategy.

import * as fs from "node:fs";
import * as path from "node:path";

export type ImportStrategy = "useBundled" | "fromEnvironment";

export interface BundledServer {
  /** `bundled/tool/phasegate_server.py`, run by the interpreter. */
  launcher: string;
  /** `bundled/libs`, with phasegate and its dependencies. */
  libs: string;
}

/** `python -c` code: can the interpreter import phasegate? Prints its version. */
const PROBE_CODE = "import phasegate, sys; sys.stdout.write(phasegate.__version__)";

/** The setting's value; anything but `fromEnvironment` is the default, `useBundled`. */
export function importStrategy(value: unknown): ImportStrategy {
  return value === "fromEnvironment" ? "fromEnvironment" : "useBundled";
}

/** The server bundled in the extension at `extensionRoot`, if it was packaged with one. */
export function findBundledServer(extensionRoot: string): BundledServer | undefined {
  const libs = path.join(extensionRoot, "bundled", "libs");
  const launcher = path.join(extensionRoot, "bundled", "tool", "phasegate_server.py");
  if (fs.existsSync(path.join(libs, "bundle.json")) && fs.existsSync(launcher)) {
    return { launcher, libs };
  }
  return undefined;
}

/** The arguments after the interpreter that start the server on stdio. */
export function serveArgs(bundled: BundledServer | null): string[] {
  return bundled ? [bundled.launcher] : ["-m", "phasegate", "serve"];
}

/**
 * The arguments after the interpreter that check it can run the server: they print
 * phasegate's version, or fail with the reason on the last line of standard error.
 */
export function probeArgs(bundled: BundledServer | null): string[] {
  return bundled ? [bundled.launcher, "--probe"] : ["-c", PROBE_CODE];
}
