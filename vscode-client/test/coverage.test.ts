import assert from "node:assert/strict";
import { test } from "node:test";

import { CoverageStore, isUncoveredLines, mergeSpans, spanOf, splitCoverage } from "../src/coverage";

// Diagnostics as vscode-languageclient hands them to the middleware: the server's data
// kept on each (phasegate.lsp.diagnostics marks uncovered lines with data.coverage).
const uncovered = {
  source: "phasegate",
  message: "lines 6-7 not covered by the tests",
  data: { findingId: "a1", check: "TEST-COVERAGE", coverage: true },
};
const summary = {
  source: "phasegate",
  message: "coverage 60.0% is below the target 80%",
  data: { findingId: "b2", check: "TEST-COVERAGE", fix: null },
};
const stub = { source: "phasegate", message: "stub", data: { findingId: "c3", check: "IMPL-STUB" } };

test("only the server's uncovered lines are coverage", () => {
  assert.equal(isUncoveredLines(uncovered), true);
  assert.equal(isUncoveredLines(summary), false);
  assert.equal(isUncoveredLines(stub), false);
  // another extension's diagnostic with the same data is not ours
  assert.equal(isUncoveredLines({ ...uncovered, source: "other" }), false);
  assert.equal(isUncoveredLines({ source: "phasegate", message: "m", data: { coverage: "yes" } }), false);
  assert.equal(isUncoveredLines({ source: "phasegate", message: "m" }), false);
  assert.equal(isUncoveredLines({ source: "phasegate", message: "m", data: null }), false);
});

test("splitCoverage keeps the problems in order and takes the coverage out", () => {
  const { shown, uncovered: lines } = splitCoverage([summary, uncovered, stub]);
  assert.deepEqual(shown, [summary, stub]);
  assert.deepEqual(lines, [uncovered]);
  assert.deepEqual(splitCoverage([]), { shown: [], uncovered: [] });
});

test("mergeSpans sorts and never marks a line twice", () => {
  const a = [
    { start: 10, end: 12, message: "lines 11-13" },
    { start: 2, end: 2, message: "line 3" },
  ];
  const b = [
    { start: 11, end: 15, message: "lines 12-16" },
    { start: 2, end: 2, message: "line 3" },
  ];
  assert.deepEqual(mergeSpans([a, b]), [
    { start: 2, end: 2, message: "line 3" },
    { start: 10, end: 12, message: "lines 11-13" },
    { start: 13, end: 15, message: "lines 12-16" },
  ]);
});

test("CoverageStore: a report replaces the last of its source; a stopped source takes its lines", () => {
  const store = new CoverageStore();
  const file = "file:///w/app.py";
  assert.equal(store.set("folderA", file, [{ start: 5, end: 6, message: "lines 6-7" }]), true);
  assert.equal(store.set("folderA", file, [{ start: 5, end: 6, message: "lines 6-7" }]), false);
  assert.equal(store.set("folderB", file, [{ start: 0, end: 0, message: "line 1" }]), true);
  assert.deepEqual(
    store.spans(file).map((s) => [s.start, s.end]),
    [
      [0, 0],
      [5, 6],
    ],
  );
  // the tests now cover lines 6-7: folderA's next report has none
  assert.equal(store.set("folderA", file, []), true);
  assert.deepEqual(store.spans(file).map((s) => s.start), [0]);
  assert.deepEqual(store.clearSource("folderB"), [file]);
  assert.deepEqual(store.spans(file), []);
  assert.deepEqual(store.uris(), []);
  assert.deepEqual(store.clearSource("folderB"), []);
});

test("spanOf reads the lines of a diagnostic as the server sends it", () => {
  const d = {
    range: { start: { line: 5, character: 0 }, end: { line: 6, character: 12 } },
    message: "lines 6-7 not covered by the tests",
  };
  assert.deepEqual(spanOf(d), { start: 5, end: 6, message: "lines 6-7 not covered by the tests" });
});
