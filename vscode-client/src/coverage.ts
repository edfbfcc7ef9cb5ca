// Lines the tests do not run, told apart from the other diagnostics (no vscode import:
// unit-tested with node --test). The server marks TEST-COVERAGE's "lines 4-7 not
// covered by the tests" with data.coverage = true (a hint); the extension draws them as
// coverage (coverageView.ts) and leaves them out of the Problems panel.

/** What this module reads of a diagnostic (a vscode.Diagnostic has it). */
export interface DiagnosticLike {
  readonly source?: string;
  readonly message: string;
  /** The server's `data` (vscode-languageclient keeps it on the diagnostic). */
  readonly data?: unknown;
}

/** A diagnostic of the phasegate server that marks lines the tests do not run. */
export function isUncoveredLines(d: DiagnosticLike): boolean {
  if (d.source !== "phasegate") {
    return false;
  }
  const data = d.data;
  return typeof data === "object" && data !== null && (data as { coverage?: unknown }).coverage === true;
}

/** The diagnostics to show as problems, and the uncovered lines to draw as coverage. */
export function splitCoverage<D extends DiagnosticLike>(items: readonly D[]): { shown: D[]; uncovered: D[] } {
  const shown: D[] = [];
  const uncovered: D[] = [];
  for (const d of items) {
    (isUncoveredLines(d) ? uncovered : shown).push(d);
  }
  return { shown, uncovered };
}

/** What this module reads of a diagnostic's range (a vscode.Diagnostic and an LSP one have it). */
export interface RangedDiagnostic {
  readonly range: { readonly start: { readonly line: number }; readonly end: { readonly line: number } };
  readonly message: string;
}

/** The lines a diagnostic marks, with its message. */
export function spanOf(d: RangedDiagnostic): LineSpan {
  return { start: d.range.start.line, end: d.range.end.line, message: d.message };
}

/** A line range, 0-based and inclusive. */
export interface LineSpan {
  start: number;
  end: number;
  /** What the hover says ("lines 6-7 not covered by the tests"). */
  message: string;
}

/**
 * The uncovered lines of one file, gathered from every source (each folder's server)
 * that reported on it: sorted, and without a line twice.
 */
export function mergeSpans(sources: Iterable<readonly LineSpan[]>): LineSpan[] {
  const all = [...sources].flat().sort((a, b) => a.start - b.start || a.end - b.end);
  const out: LineSpan[] = [];
  for (const s of all) {
    const last = out[out.length - 1];
    if (last && s.start <= last.end) {
      if (s.end > last.end) {
        out.push({ start: last.end + 1, end: s.end, message: s.message });
      }
      continue;
    }
    out.push({ ...s });
  }
  return out;
}

/**
 * Uncovered lines per file and per source: what each server last said about each file
 * replaces what it said before; a server that stops takes its lines with it.
 */
export class CoverageStore {
  // file uri -> source key -> spans
  private readonly files = new Map<string, Map<string, LineSpan[]>>();

  /** `source` says these are the uncovered lines of `uri` (none: the file is covered). Returns whether anything changed. */
  set(source: string, uri: string, spans: readonly LineSpan[]): boolean {
    let bySource = this.files.get(uri);
    const before = bySource?.get(source) ?? [];
    if (sameSpans(before, spans)) {
      return false;
    }
    if (spans.length === 0) {
      bySource?.delete(source);
      if (bySource && bySource.size === 0) {
        this.files.delete(uri);
      }
      return true;
    }
    if (!bySource) {
      bySource = new Map();
      this.files.set(uri, bySource);
    }
    bySource.set(source, [...spans]);
    return true;
  }

  /** Forget everything `source` said; returns the uris whose lines changed. */
  clearSource(source: string): string[] {
    const changed: string[] = [];
    for (const [uri, bySource] of this.files) {
      if (bySource.delete(source)) {
        changed.push(uri);
        if (bySource.size === 0) {
          this.files.delete(uri);
        }
      }
    }
    return changed;
  }

  /** The uncovered lines of `uri`, every source merged. */
  spans(uri: string): LineSpan[] {
    const bySource = this.files.get(uri);
    return bySource ? mergeSpans(bySource.values()) : [];
  }

  /** The files that have uncovered lines. */
  uris(): string[] {
    return [...this.files.keys()];
  }
}

function sameSpans(a: readonly LineSpan[], b: readonly LineSpan[]): boolean {
  return (
    a.length === b.length &&
    a.every((s, i) => s.start === b[i].start && s.end === b[i].end && s.message === b[i].message)
  );
}
