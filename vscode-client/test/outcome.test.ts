import assert from "node:assert/strict";
import { test } from "node:test";

import { MAX_ACTIONS, outcomeMessage, parseOutcome, waitsOnDocument } from "../src/outcome";
import { parseStatus } from "../src/status";

// What the server sends after Start Session stalled at Design while a persona failed
// (the shape of phasegate.lsp.status.last_run).
const STALLED = {
  id: 2,
  command: "startSession",
  result: "done",
  error: null,
  startedAt: 1796470202.1,
  finishedAt: 1796470207.8,
  session: { id: "demo", requirement: "r", status: "waiting", current_phase: "design", global_iterations: 2 },
  phase: "design",
  phaseTitle: "Design",
  phaseStatus: "stalled",
  verdict: "failed",
  score: 0.571,
  threshold: 0.75,
  gates: { total: 5, passed: 1, failed: 4, unknown: 0 },
  findings: { total: 8, new: 5, fixed: 1 },
  personaFailures: [
    {
      phase: "design",
      persona: "security_specialist",
      iteration: 1,
      reason: "python3 exited with code 1: No module named scanner",
      error: "security_specialist: python3 exited with code 1:\nNo module named scanner",
      skipped: false,
    },
    {
      phase: "design",
      persona: "security_specialist",
      iteration: 2,
      reason: "python3 exited with code 1: No module named scanner",
      error: "security_specialist: python3 exited with code 1:\nNo module named scanner",
      skipped: false,
    },
  ],
  open: { path: "docs/design.md", line: 4, character: 0, check: "DES-PLACEHOLDER", message: "TODO" },
  summary: "Design stalled at 0.57 / 0.75: …",
};

test("a stalled session with a failed persona is a warning naming the reason once", () => {
  const run = parseOutcome(STALLED);
  assert.ok(run);
  const msg = outcomeMessage(run, "Start Session");
  assert.equal(msg.severity, "warning");
  assert.equal(
    msg.text,
    "PhaseGate: Start Session: Design stalled at 0.57/0.75: waiting for you · " +
      "security_specialist failed: python3 exited with code 1: No module named scanner · " +
      "8 findings (5 new, 1 fixed)",
  );
  assert.deepEqual(
    msg.actions.map((a) => a.label),
    ["Show Output", "Open design.md", "Show Problems", "Resume"],
  );
  assert.ok(msg.actions.length <= MAX_ACTIONS);
});

test("a completed session is information with the report to open", () => {
  const run = parseOutcome({
    ...STALLED,
    session: { ...STALLED.session, status: "completed" },
    phase: null,
    phaseTitle: null,
    phaseStatus: null,
    verdict: null,
    personaFailures: [],
    open: null,
    findings: { total: 0, new: 0, fixed: 3 },
  });
  assert.ok(run);
  const msg = outcomeMessage(run, "Resume Session");
  assert.equal(msg.severity, "info");
  assert.equal(
    msg.text,
    "PhaseGate: Resume Session: session demo completed: every phase passed · 0 findings (3 fixed)",
  );
  assert.deepEqual(
    msg.actions.map((a) => a.action),
    ["openReport"],
  );
});

test("validate without a session says how many gates fail and where", () => {
  const run = parseOutcome({
    ...STALLED,
    command: "validate",
    session: null,
    phaseStatus: "pending",
    phase: "implementation",
    phaseTitle: "Implementation",
    score: 0.770833,
    threshold: 0.9,
    gates: { total: 5, passed: 2, failed: 3, unknown: 0 },
    findings: { total: 10, new: 0, fixed: 0 },
    personaFailures: [],
    open: { path: "taskboard/service.py", line: 64, character: 4, check: "IMPL-STUB", message: "stub" },
  });
  assert.ok(run);
  const msg = outcomeMessage(run, "Validate Workspace");
  assert.equal(msg.severity, "info");
  assert.equal(
    msg.text,
    "PhaseGate: Validate Workspace: 3 of 5 gates fail, first Implementation (0.77/0.90) · 10 findings",
  );
  assert.deepEqual(
    msg.actions.map((a) => a.label),
    ["Open service.py", "Show Problems"],
  );
});

test("every gate passing still offers a next step", () => {
  const run = parseOutcome({
    ...STALLED,
    command: "validate",
    session: null,
    phase: null,
    phaseTitle: null,
    verdict: null,
    gates: { total: 5, passed: 5, failed: 0, unknown: 0 },
    findings: { total: 0, new: 0, fixed: 0 },
    personaFailures: [],
    open: null,
  });
  assert.ok(run);
  const msg = outcomeMessage(run, "Validate Workspace");
  assert.equal(msg.text, "PhaseGate: Validate Workspace: every gate passes (5) · 0 findings");
  assert.deepEqual(
    msg.actions.map((a) => a.action),
    ["startSession"],
  );
});

test("a failed command is an error with its reason", () => {
  const run = parseOutcome({ ...STALLED, result: "failed", error: "session 'demo' already exists" });
  assert.ok(run);
  const msg = outcomeMessage(run, "Start Session");
  assert.equal(msg.severity, "error");
  assert.equal(msg.text, "PhaseGate: Start Session failed: session 'demo' already exists");
});

test("a stopped session says where it stopped and offers to resume", () => {
  const run = parseOutcome({
    ...STALLED,
    result: "stopped",
    session: { ...STALLED.session, status: "stopped" },
    personaFailures: [],
  });
  assert.ok(run);
  const msg = outcomeMessage(run, "Start Session");
  assert.match(msg.text, /session demo stopped at Design \(0\.57\/0\.75\); resume it to go on/);
  assert.ok(msg.actions.some((a) => a.action === "resume"));
});

test("outcomes are parsed defensively and carried by the status", () => {
  assert.equal(parseOutcome(null), null);
  assert.equal(parseOutcome({ id: "x", command: "validate" }), null);
  const run = parseOutcome({ id: 1, command: "validate", personaFailures: ["junk", { persona: "p" }] });
  assert.ok(run);
  assert.equal(run.result, "done");
  assert.equal(run.personaFailures.length, 1);
  assert.equal(run.personaFailures[0].reason, "failed");
  const status = parseStatus({ phases: [], lastRun: STALLED });
  assert.equal(status?.lastRun?.id, 2);
  assert.equal(parseStatus({ phases: [] })?.lastRun, null);
});

test("a session waiting for a person opens the document it waits on", () => {
  const run = parseOutcome(STALLED);
  assert.ok(run);
  assert.equal(waitsOnDocument(run), true);
  assert.equal(waitsOnDocument({ ...run, open: null }), false);
  assert.equal(waitsOnDocument({ ...run, command: "validate" }), false);
  assert.equal(waitsOnDocument({ ...run, result: "stopped" }), false);
  const going = { ...run, phaseStatus: "in_progress", session: { ...run.session!, status: "completed" } };
  assert.equal(waitsOnDocument(going), false);
});
