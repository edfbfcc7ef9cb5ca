// What the extension changes in the language client's traffic: the server's diagnostics
// (uncovered lines drawn as coverage, not problems; check ids linked to the rendered
// documentation) and its window/showDocument (the reference shown in a webview).

import * as vscode from "vscode";
import {
  CancellationToken,
  type Diagnostic as LspDiagnostic,
  DocumentDiagnosticRequest,
  type Middleware,
  ResponseError,
  WorkspaceDiagnosticRequest,
} from "vscode-languageclient/node";

import { spanOf, splitCoverage } from "./coverage";
import type { CoverageDecorations } from "./coverageView";
import type { DocsViewer } from "./docsView";

/** Hooks a folder's language client gets from the extension (see ServerManager). */
export interface ClientHooks {
  /** The middleware of the client of `folder`. */
  middleware(folder: vscode.WorkspaceFolder): Middleware;
  /** The client of `folder` stopped: what it showed goes. */
  stopped(folder: vscode.WorkspaceFolder): void;
}

/** A pulled report of one document, as the server sent it (only "full" ones have items). */
interface PulledReport {
  kind?: string;
  uri?: string;
  items?: LspDiagnostic[];
}

export class EditorHooks implements ClientHooks {
  constructor(
    private readonly coverage: CoverageDecorations,
    private readonly docs: DocsViewer,
  ) {}

  middleware(folder: vscode.WorkspaceFolder): Middleware {
    const source = folder.uri.toString();
    // Pushed diagnostics come converted: what the Problems panel and the editor get.
    const shapePushed = (uri: vscode.Uri, items: vscode.Diagnostic[]): vscode.Diagnostic[] => {
      const { shown, uncovered } = splitCoverage(items);
      this.coverage.set(source, uri, uncovered.map(spanOf));
      for (const d of shown) {
        this.docs.linkCode(d);
      }
      return shown;
    };
    // Pulled ones are changed as the server sent them, before the client converts them:
    // the workspace pull has no other hook (its middleware cannot replace the reporter;
    // phasegate's server answers a pull in one reply, without partial results).
    const shapePulled = (uri: string | undefined, report: PulledReport | null | undefined): void => {
      if (!report || report.kind !== "full" || !Array.isArray(report.items) || !uri) {
        return; // "unChanged": the last full report stands, and so do its lines
      }
      const { shown, uncovered } = splitCoverage(report.items);
      this.coverage.set(source, vscode.Uri.parse(uri), uncovered.map(spanOf));
      for (const d of shown) {
        const href = d.codeDescription?.href;
        const link = href !== undefined && d.code !== undefined ? this.docs.linkFor(String(d.code), href) : null;
        if (link !== null) {
          d.codeDescription = { href: link };
        }
      }
      report.items = shown;
    };
    return {
      handleDiagnostics: (uri, diagnostics, next) => next(uri, shapePushed(uri, diagnostics)),
      sendRequest: async (type, param, token, next) => {
        const result = await next(type, param, token);
        const method = typeof type === "string" ? type : type.method;
        if (method === DocumentDiagnosticRequest.method) {
          const uri = (param as { textDocument?: { uri?: string } } | undefined)?.textDocument?.uri;
          shapePulled(uri, result as PulledReport);
        } else if (method === WorkspaceDiagnosticRequest.method) {
          for (const item of (result as { items?: PulledReport[] } | null)?.items ?? []) {
            shapePulled(item.uri, item);
          }
        }
        return result;
      },
      window: {
        showDocument: async (params, next) => {
          const shown = await this.docs.showDocument(params.uri);
          if (shown !== undefined) {
            return { success: shown };
          }
          const result = await next(params, CancellationToken.None);
          return result instanceof ResponseError ? { success: false } : result;
        },
      },
    };
  }

  stopped(folder: vscode.WorkspaceFolder): void {
    this.coverage.clearSource(folder.uri.toString());
  }
}
