// The documentation of a check in a webview, at the check's section: for "Show
// documentation of <ID>" (the server's window/showDocument) and for the check id linked
// from a diagnostic (hover, Problems panel).

import { randomBytes } from "node:crypto";
import { promises as fs } from "node:fs";
import * as vscode from "vscode";

import {
  checkOfHandlerUri,
  commandUri,
  type DocsPage,
  docsHandlerUri,
  localDocsPage,
  pageDirectory,
  renderDocsHtml,
  siblingPage,
} from "./docs";

/** Opens a page of the reference from a link inside the webview (a command URI). */
export const OPEN_PAGE_COMMAND = "phasegate.docs.openPage";
/** The server's command that shows a check's documentation (window/showDocument). */
const SERVER_SHOW_DOCUMENTATION = "phasegate.showDocumentation";

export class DocsViewer implements vscode.Disposable {
  private panel: vscode.WebviewPanel | undefined;
  /** check id -> its rendered local page, as the server linked it in a diagnostic */
  private readonly targets = new Map<string, string>();
  /** the folders of the pages the servers pointed at: the only ones shown */
  private readonly dirs = new Set<string>();
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    private readonly extensionId: string,
    private readonly output: vscode.LogOutputChannel,
  ) {
    this.disposables.push(
      vscode.window.registerUriHandler({ handleUri: (uri) => this.handleUri(uri) }),
      vscode.commands.registerCommand(OPEN_PAGE_COMMAND, (arg: unknown) => this.openPage(arg)),
    );
  }

  /**
   * A diagnostic from the server: a code linked to a rendered local page links to this
   * extension instead (VS Code would open the file:// page as text).
   */
  linkCode(d: vscode.Diagnostic): void {
    const code = d.code;
    if (typeof code !== "object" || code === null || !("target" in code)) {
      return;
    }
    const link = this.linkFor(String(code.value), code.target.toString(true));
    if (link !== null) {
      d.code = { value: code.value, target: vscode.Uri.parse(link) };
    }
  }

  /**
   * The link that replaces a diagnostic's documentation link `href` (its
   * codeDescription) for check `check`: this extension's, when `href` is a rendered
   * local page (remembered for the check); null to keep `href` (a web page: the
   * browser shows it at its section).
   */
  linkFor(check: string, href: string): string | null {
    const page = localDocsPage(href);
    if (!page) {
      return null;
    }
    this.targets.set(check, href);
    this.dirs.add(pageDirectory(page.page));
    return docsHandlerUri(vscode.env.uriScheme, this.extensionId, check);
  }

  /**
   * The server's window/showDocument: a rendered local page is shown here (a web page
   * or a source file: undefined, for the language client's own handling).
   */
  async showDocument(uri: string): Promise<boolean | undefined> {
    const page = localDocsPage(uri);
    if (!page) {
      return undefined;
    }
    this.dirs.add(pageDirectory(page.page));
    return this.show(page);
  }

  private async handleUri(uri: vscode.Uri): Promise<void> {
    const check = checkOfHandlerUri(uri.path, uri.query);
    if (!check) {
      this.output.warn(`unknown link: ${uri.toString(true)}`);
      return;
    }
    const target = this.targets.get(check);
    const page = target ? localDocsPage(target) : null;
    if (page) {
      await this.show(page);
      return;
    }
    // not linked by a diagnostic of this window yet: the server knows where it is
    try {
      await vscode.commands.executeCommand(SERVER_SHOW_DOCUMENTATION, { check });
    } catch (err) {
      void vscode.window.showErrorMessage(
        `PhaseGate: no documentation of ${check}: ${err instanceof Error ? err.message : err}`,
      );
    }
  }

  private async openPage(arg: unknown): Promise<void> {
    const a = (typeof arg === "object" && arg !== null ? arg : {}) as Partial<DocsPage>;
    const page = typeof a.page === "string" ? localDocsPage(a.page) : null;
    if (!page || !this.dirs.has(pageDirectory(page.page))) {
      return; // only the reference pages the servers pointed at
    }
    await this.show({ page: page.page, anchor: typeof a.anchor === "string" ? a.anchor : "" });
  }

  /** Show a rendered page in the documentation webview, scrolled to its section. */
  async show(page: DocsPage): Promise<boolean> {
    const file = vscode.Uri.parse(page.page).fsPath;
    let html: string;
    try {
      html = await fs.readFile(file, "utf8");
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      this.output.error(`cannot read the documentation ${file}: ${reason}`);
      void vscode.window.showErrorMessage(`PhaseGate: cannot read the documentation ${file}: ${reason}`);
      return false;
    }
    const title = pageTitle(html, page.anchor);
    if (!this.panel) {
      this.panel = vscode.window.createWebviewPanel(
        "phasegate.docs",
        title,
        { viewColumn: vscode.ViewColumn.Beside, preserveFocus: false },
        {
          enableScripts: true, // only the page's scroll to the section (CSP nonce)
          enableCommandUris: [OPEN_PAGE_COMMAND],
          enableFindWidget: true,
          localResourceRoots: [],
        },
      );
      this.panel.onDidDispose(() => {
        this.panel = undefined;
      });
    } else {
      this.panel.reveal(undefined, false);
    }
    this.panel.title = title;
    const dir = pageDirectory(page.page);
    this.panel.webview.html = renderDocsHtml(html, {
      cspSource: this.panel.webview.cspSource,
      nonce: randomBytes(16).toString("base64"),
      anchor: page.anchor,
      linkFor: (href) => {
        const sibling = siblingPage(dir, href);
        return sibling ? commandUri(OPEN_PAGE_COMMAND, sibling) : null;
      },
    });
    return true;
  }

  dispose(): void {
    this.panel?.dispose();
    for (const d of this.disposables) {
      d.dispose();
    }
  }
}

/** "IMPL-STUB · Checks reference" (the page's <title> before " — phasegate"). */
function pageTitle(html: string, anchor: string): string {
  const m = /<title>([^<]*)<\/title>/i.exec(html);
  const page = (m ? m[1] : "PhaseGate documentation").replace(/\s+—\s+phasegate\s*$/i, "").trim();
  return anchor ? `${anchor.toUpperCase()} · ${page}` : page;
}
