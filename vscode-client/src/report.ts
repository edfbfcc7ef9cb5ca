// Show the HTML session report in a webview or the system browser.

import * as path from "node:path";
import * as vscode from "vscode";

let panel: vscode.WebviewPanel | undefined;

export async function showReport(reportPath: string): Promise<void> {
  const uri = vscode.Uri.file(reportPath);
  const openIn = vscode.workspace.getConfiguration("phasegate").get<string>("report.openIn");
  if (openIn === "browser") {
    const ok = await vscode.env.openExternal(uri);
    if (!ok) {
      void vscode.window.showWarningMessage(`PhaseGate: could not open ${reportPath}.`);
    }
    return;
  }
  let html: string;
  try {
    html = new TextDecoder().decode(await vscode.workspace.fs.readFile(uri));
  } catch (err) {
    void vscode.window.showErrorMessage(
      `PhaseGate: cannot read the report ${reportPath}: ${err instanceof Error ? err.message : err}`,
    );
    return;
  }
  if (!panel) {
    panel = vscode.window.createWebviewPanel(
      "phasegate.report",
      "PhaseGate Report",
      vscode.ViewColumn.Active,
      {
        enableScripts: false,
        localResourceRoots: [vscode.Uri.file(path.dirname(reportPath))],
      },
    );
    panel.onDidDispose(() => {
      panel = undefined;
    });
  } else {
    panel.reveal();
  }
  panel.webview.html = withCsp(html, panel.webview.cspSource);
}

/** Scripts off; styles and images inline or from the report's folder only. */
export function withCsp(html: string, cspSource: string): string {
  const csp =
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; ` +
    `img-src ${cspSource} data:; style-src ${cspSource} 'unsafe-inline'; font-src ${cspSource};">`;
  if (/<head[^>]*>/i.test(html)) {
    return html.replace(/<head[^>]*>/i, (m) => `${m}${csp}`);
  }
  return `<!DOCTYPE html><html><head>${csp}</head><body>${html}</body></html>`;
}
