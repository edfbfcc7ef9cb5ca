// Paths and globs (no vscode import: unit-tested under node).

/** A document filter of the language client: a URI scheme and an optional glob. */
export interface FileFilter {
  scheme: "file";
  pattern?: string;
}

/**
 * The documents a workspace folder's server is sent. With one folder: every file (the
 * server ignores what lies outside its folder). With several, each server gets its own
 * folder's files, including those under dot folders such as `.github/` (globs skip those
 * unless named). The globs serve two matchers: VS Code's and the minimatch the language
 * client uses for pulled diagnostics; `[`, `*` and `?` in the path become one-character
 * classes so that they match themselves. A path with `{` or `}` (brace expansion, which
 * the two matchers treat differently) is not turned into a glob: every file is sent.
 */
export function folderSelector(dir: string, multiRoot: boolean): FileFilter[] {
  if (!multiRoot || /[{}]/.test(dir)) {
    return [{ scheme: "file" }];
  }
  const base = dir
    .replace(/\\/g, "/")
    .replace(/[[*?]/g, (c) => `[${c}]`)
    .replace(/\/+$/, "");
  return [`${base}/**/*`, `${base}/**/.*`, `${base}/**/.*/**/*`].map((pattern) => ({
    scheme: "file",
    pattern,
  }));
}
