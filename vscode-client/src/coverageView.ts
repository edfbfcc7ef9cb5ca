// Coverage shown as coverage: the lines the tests do not run, marked in the gutter, the
// overview ruler and with a faint background in the editors that show them, never as
// squiggles or problems.

import * as vscode from "vscode";

import { CoverageStore, type LineSpan } from "./coverage";

const SETTING = "coverage.showUncovered";

export class CoverageDecorations implements vscode.Disposable {
  private readonly store = new CoverageStore();
  private readonly type: vscode.TextEditorDecorationType;
  private readonly disposables: vscode.Disposable[] = [];
  private enabled: boolean;

  constructor(extensionUri: vscode.Uri) {
    this.type = vscode.window.createTextEditorDecorationType({
      isWholeLine: true,
      backgroundColor: new vscode.ThemeColor("phasegate.uncoveredLineBackground"),
      overviewRulerColor: new vscode.ThemeColor("phasegate.uncoveredLineRuler"),
      overviewRulerLane: vscode.OverviewRulerLane.Left,
      gutterIconPath: vscode.Uri.joinPath(extensionUri, "media", "coverage-uncovered.svg"),
      gutterIconSize: "cover",
    });
    this.enabled = readEnabled();
    this.disposables.push(
      this.type,
      vscode.window.onDidChangeVisibleTextEditors((editors) => {
        for (const editor of editors) {
          this.draw(editor);
        }
      }),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration(`phasegate.${SETTING}`)) {
          this.enabled = readEnabled();
          this.redrawAll();
        }
      }),
    );
  }

  /**
   * The server of `source` (a folder) says which lines of `uri` the tests do not run
   * (the diagnostics it marked as coverage; none: the file's lines are covered).
   */
  set(source: string, uri: vscode.Uri, spans: readonly LineSpan[]): void {
    if (this.store.set(source, uri.toString(), spans)) {
      this.redraw(uri.toString());
    }
  }

  /** The server of `source` stopped: its lines go. */
  clearSource(source: string): void {
    for (const uri of this.store.clearSource(source)) {
      this.redraw(uri);
    }
  }

  private redraw(uri: string): void {
    for (const editor of vscode.window.visibleTextEditors) {
      if (editor.document.uri.toString() === uri) {
        this.draw(editor);
      }
    }
  }

  private redrawAll(): void {
    for (const editor of vscode.window.visibleTextEditors) {
      this.draw(editor);
    }
  }

  private draw(editor: vscode.TextEditor): void {
    const spans = this.enabled ? this.store.spans(editor.document.uri.toString()) : [];
    const last = editor.document.lineCount - 1;
    const options: vscode.DecorationOptions[] = [];
    for (const s of spans) {
      if (s.start > last) {
        continue;
      }
      const hover = new vscode.MarkdownString();
      hover.appendText(`${capitalize(s.message)} (TEST-COVERAGE)`);
      const end = editor.document.lineAt(Math.min(s.end, last)).range.end;
      // the lines' text too, not only their start: the hover shows over any of it
      options.push({ range: new vscode.Range(s.start, 0, end.line, end.character), hoverMessage: hover });
    }
    editor.setDecorations(this.type, options);
  }

  dispose(): void {
    for (const d of this.disposables) {
      d.dispose();
    }
  }
}

function readEnabled(): boolean {
  return vscode.workspace.getConfiguration("phasegate").get<boolean>(SETTING) !== false;
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
