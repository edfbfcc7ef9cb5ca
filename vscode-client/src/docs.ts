// The documentation of a check, rendered in the editor (no vscode import: unit-tested
// with node --test). The server links each diagnostic to its check's section of the
// reference installed with phasegate (file:///…/phasegate/reference/checks.html#impl-stub)
// unless a documentation site is configured (http(s), left to the browser). VS Code
// would open such a file:// link as text, and in code-server openExternal would point at
// the browser's machine: the extension shows the page in a webview instead
// (docsView.ts), scrolled to the section.

/** A rendered reference page on this machine: its address without the fragment, and the fragment. */
export interface DocsPage {
  /** file:// URI of the .html page, no fragment. */
  page: string;
  /** The section (the check's anchor, e.g. "impl-stub"), or "". */
  anchor: string;
}

/** The rendered local page a documentation address names, or null (a web address, a Markdown file…). */
export function localDocsPage(uri: string): DocsPage | null {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return null;
  }
  if (url.protocol !== "file:" || !/\.html?$/i.test(url.pathname)) {
    return null;
  }
  const anchor = url.hash ? decodeURIComponent(url.hash.slice(1)) : "";
  url.hash = "";
  return { page: url.toString(), anchor };
}

/** The directory part of a page's file:// URI (with its trailing slash). */
export function pageDirectory(page: string): string {
  return page.slice(0, page.lastIndexOf("/") + 1);
}

/**
 * The link a diagnostic's code gets instead of a file:// page: a URI that VS Code hands
 * to the extension (`vscode://phasegate.phasegate/docs?check=IMPL-STUB`; the scheme is
 * `vscode.env.uriScheme`: vscode, vscode-insiders, code-oss in code-server…).
 */
export function docsHandlerUri(scheme: string, extensionId: string, check: string): string {
  return `${scheme}://${extensionId.toLowerCase()}/docs?check=${encodeURIComponent(check)}`;
}

/** The check a docs handler URI asks for (path `/docs`, query `check=`), or null. */
export function checkOfHandlerUri(path: string, query: string): string | null {
  if (path.replace(/\/+$/, "") !== "/docs") {
    return null;
  }
  const check = new URLSearchParams(query).get("check");
  return check && /^[A-Za-z0-9_.-]{1,80}$/.test(check) ? check : null;
}

export interface RenderOptions {
  /** The webview's CSP source (webview.cspSource). */
  cspSource: string;
  /** A fresh nonce: only the script added here runs. */
  nonce: string;
  /** The section to show (an element id), or "". */
  anchor: string;
  /**
   * The href a link of the page gets: a link to another page of the reference becomes
   * a command the webview may run; null leaves the link as it is (a web address, a
   * fragment of this page).
   */
  linkFor: (href: string) => string | null;
}

/**
 * The page's HTML for a webview: a strict Content Security Policy (inline styles, and
 * only the one script added here, which scrolls to the section and marks its heading),
 * links to the other reference pages rewritten by `linkFor`.
 */
export function renderDocsHtml(html: string, o: RenderOptions): string {
  const csp =
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; ` +
    `style-src ${o.cspSource} 'unsafe-inline'; img-src ${o.cspSource} data:; ` +
    `script-src 'nonce-${o.nonce}';">`;
  const style =
    "<style>.phasegate-target { background: var(--code, rgba(127,127,127,.15)); " +
    "outline: 2px solid var(--link, #0969da); outline-offset: 2px; }</style>";
  const script =
    `<script nonce="${o.nonce}">(function () {` +
    `var id = ${scriptString(o.anchor)};` +
    "var el = id ? document.getElementById(id) : null;" +
    "if (!el) { return; }" +
    // <p><a id="impl-stub"></a></p> then the section's heading
    "var h = el.parentElement && el.parentElement.tagName === 'P' ? el.parentElement.nextElementSibling : el;" +
    "if (h && /^H[1-6]$/.test(h.tagName)) { h.classList.add('phasegate-target'); }" +
    "(h || el).scrollIntoView({ block: 'start' });" +
    "})();</script>";
  let out = html.replace(/<script\b[\s\S]*?<\/script>/gi, ""); // the page's own: none expected
  out = out.replace(/(<a\b[^>]*?\bhref=)(["'])(.*?)\2/gi, (m, before: string, q: string, href: string) => {
    const replaced = o.linkFor(unescapeAttr(href));
    return replaced === null ? m : `${before}${q}${escapeAttr(replaced)}${q}`;
  });
  if (/<head[^>]*>/i.test(out)) {
    out = out.replace(/<head[^>]*>/i, (m) => `${m}${csp}${style}`);
  } else {
    out = `<!DOCTYPE html><html><head>${csp}${style}</head><body>${out}</body></html>`;
  }
  return /<\/body>/i.test(out) ? out.replace(/<\/body>/i, `${script}</body>`) : out + script;
}

/** A link of a page in `dir` to another reference page (`configuration.html#x`), as a DocsPage; null for any other link. */
export function siblingPage(dir: string, href: string): DocsPage | null {
  if (/^[a-z][a-z0-9+.-]*:/i.test(href) || href.startsWith("#") || href.startsWith("/")) {
    return null;
  }
  const [path, fragment = ""] = href.split("#", 2);
  if (!/^[A-Za-z0-9_-]+\.html?$/.test(path)) {
    return null; // only pages beside this one
  }
  return { page: dir + path, anchor: decodeURIComponent(fragment) };
}

/** `command:<id>?<args>` for a webview link (enableCommandUris). */
export function commandUri(id: string, arg: unknown): string {
  return `command:${id}?${encodeURIComponent(JSON.stringify([arg]))}`;
}

function unescapeAttr(s: string): string {
  return s.replace(/&amp;/g, "&").replace(/&quot;/g, '"').replace(/&#39;/g, "'");
}

function escapeAttr(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/'/g, "&#39;");
}

/** A JavaScript string literal that cannot end the <script> element it is in. */
function scriptString(s: string): string {
  return JSON.stringify(s).replace(/</g, "\\u003c").replace(/>/g, "\\u003e");
}
