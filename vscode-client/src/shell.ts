// Shell quoting for the commands typed into the integrated terminal (no vscode import).

/** Quote one argument for the integrated terminal's shell. */
export function shellQuote(arg: string, platform: NodeJS.Platform = process.platform): string {
  if (/^[A-Za-z0-9_./:=@+-]+$/.test(arg)) {
    return arg;
  }
  if (platform === "win32") {
    return `"${arg.replace(/"/g, '""')}"`;
  }
  return `'${arg.replace(/'/g, "'\\''")}'`;
}

/** The shell line that installs phasegate for `python` (`spec` may hold several arguments). */
export function pipInstallLine(
  python: string,
  spec: string,
  platform: NodeJS.Platform = process.platform,
): string {
  const specArgs = spec.trim().split(/\s+/).filter((a) => a !== "");
  const parts = [python, "-m", "pip", "install", ...specArgs].map((a) => shellQuote(a, platform));
  // PowerShell needs the call operator to run a quoted executable.
  return platform === "win32" && parts[0].startsWith('"') ? `& ${parts.join(" ")}` : parts.join(" ");
}
