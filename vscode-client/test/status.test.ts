import assert from "node:assert/strict";
import { test } from "node:test";

import { pipInstallLine, shellQuote } from "../src/shell";
import {
  currentPhase,
  findingCount,
  parseAgentOffer,
  parseSessionList,
  parseStatus,
  phaseDescription,
  phaseIconId,
  validateSessionId,
} from "../src/status";

const STATUS = {
  workspace: "/w",
  trusted: true,
  session: {
    id: "demo",
    requirement: "Create a task management system",
    status: "running",
    current_phase: "design",
    global_iterations: 3,
  },
  phases: [
    {
      name: "requirements",
      title: "Requirements",
      status: "completed",
      score: 0.9,
      threshold: 0.6,
      iteration: 1,
      passed: true,
      checks: [],
    },
    {
      name: "design",
      title: "Design",
      status: "in_progress",
      score: 0.5,
      threshold: 0.75,
      iteration: 2,
      passed: false,
      checks: [
        {
          id: "DES-TRACE",
          passed: false,
          score: 0.5,
          blocking: false,
          owner: "solution_architect",
          skipped: null,
          error: null,
          notApplicable: null,
          findings: [
            {
              id: "f1",
              path: "docs/design.md",
              range: { start: { line: 3, character: 0 }, end: { line: 3, character: 7 } },
              severity: 2,
              message: "REQ-002 is not traced",
              code: "DES-TRACE",
            },
            { id: "f2", path: null, range: null, severity: "bad", message: 1 },
          ],
        },
      ],
    },
  ],
  running: "phasegate.rework",
};

test("parseStatus keeps well-formed parts and defaults the rest", () => {
  const s = parseStatus(STATUS);
  assert.ok(s);
  assert.equal(s.session?.id, "demo");
  assert.equal(s.phases.length, 2);
  assert.equal(s.running, "phasegate.rework");
  const findings = s.phases[1].checks[0].findings;
  assert.equal(findings[0].range?.start.line, 3);
  assert.equal(findings[1].severity, 2);
  assert.equal(findings[1].message, "");
  assert.equal(findings[1].code, "DES-TRACE");
  assert.equal(findingCount(s), 2);
});

test("parseStatus refuses what is not a status object", () => {
  assert.equal(parseStatus(null), null);
  assert.equal(parseStatus([]), null);
  assert.equal(parseStatus({ path: "/tmp/report.html" }), null);
});

test("phase description puts the state first: the session's status, else the verdict", () => {
  const s = parseStatus(STATUS);
  assert.ok(s);
  assert.equal(phaseDescription(s.phases[1]), "in progress · 0.50/0.75 · it. 2");
  assert.equal(phaseDescription(s.phases[1], false), "failed · 0.50/0.75");
  assert.equal(
    phaseDescription({ ...s.phases[1], score: null, threshold: null, iteration: 0, status: "pending" }),
    "pending",
  );
  assert.equal(
    phaseDescription({ ...s.phases[1], verdict: "unknown", iteration: 0 }, false),
    "not judged · 0.50/0.75",
  );
});

test("the verdict comes from the server, else from passed", () => {
  const s = parseStatus({
    ...STATUS,
    phases: [
      { name: "a", verdict: "unknown", passed: true, notRun: ["TEST-PYTEST", 3] },
      { name: "b", passed: false },
      { name: "c", passed: true },
      { name: "d" },
    ],
  });
  assert.ok(s);
  assert.deepEqual(
    s.phases.map((p) => p.verdict),
    ["unknown", "failed", "passed", "unknown"],
  );
  assert.deepEqual(s.phases[0].notRun, ["TEST-PYTEST"]);
});

test("current phase: the session's, else the first failing, else the first not judged", () => {
  const s = parseStatus(STATUS);
  assert.ok(s);
  assert.equal(currentPhase(s)?.name, "design");
  const phases = [
    { ...s.phases[0], name: "one", verdict: "passed" as const },
    { ...s.phases[0], name: "two", verdict: "unknown" as const },
    { ...s.phases[0], name: "three", verdict: "failed" as const },
  ];
  assert.equal(currentPhase({ ...s, session: null, phases })?.name, "three");
  const noFailure = phases.map((p) => (p.verdict === "failed" ? { ...p, verdict: "passed" as const } : p));
  assert.equal(currentPhase({ ...s, session: null, phases: noFailure })?.name, "two");
  const allPass = phases.map((p) => ({ ...p, verdict: "passed" as const }));
  assert.equal(currentPhase({ ...s, session: null, phases: allPass })?.name, "three");
  // a completed session shows the failing phase, not its last current one
  const done = { ...s, session: { ...s.session!, status: "completed" }, phases };
  assert.equal(currentPhase(done)?.name, "three");
});

test("phase icons show the verdict, a spinner while the session works on it", () => {
  const s = parseStatus(STATUS);
  assert.ok(s);
  const design = s.phases[1];
  assert.equal(phaseIconId(design, s), "sync~spin"); // in progress, session running, busy
  assert.equal(phaseIconId(design, { ...s, running: null }), "error");
  assert.equal(phaseIconId(s.phases[0], s), "pass-filled");
  assert.equal(phaseIconId({ ...design, status: "pending", verdict: "unknown" }, s), "question");
});

test("session ids follow the server's rule", () => {
  assert.equal(validateSessionId(""), undefined);
  assert.equal(validateSessionId("task-manager_2"), undefined);
  assert.notEqual(validateSessionId("../etc"), undefined);
  assert.notEqual(validateSessionId("a".repeat(65)), undefined);
});

test("session list entries are parsed defensively", () => {
  const list = parseSessionList([
    { id: "a", requirement: "r", status: "completed", updated_at: 1764028800.5, active: true },
    "junk",
    { id: "b" },
  ]);
  assert.deepEqual(
    list.map((s) => [s.id, s.active]),
    [
      ["a", true],
      ["b", false],
    ],
  );
  assert.deepEqual(parseSessionList({}), []);
});

test("pip install line quotes paths and splits the spec", () => {
  assert.equal(shellQuote("/usr/bin/python3", "linux"), "/usr/bin/python3");
  assert.equal(shellQuote("/my dir/py", "linux"), "'/my dir/py'");
  assert.equal(shellQuote("it's", "linux"), "'it'\\''s'");
  assert.equal(
    pipInstallLine("/opt/py 3/bin/python", "phasegate[llm]>=0.1", "linux"),
    "'/opt/py 3/bin/python' -m pip install 'phasegate[llm]>=0.1'",
  );
  assert.equal(
    pipInstallLine("/usr/bin/python3", "--dry-run --no-index phasegate", "linux"),
    "/usr/bin/python3 -m pip install --dry-run --no-index phasegate",
  );
  assert.equal(
    pipInstallLine("C:\\Program Files\\Python\\python.exe", "phasegate", "win32"),
    '& "C:\\Program Files\\Python\\python.exe" -m pip install phasegate',
  );
});

test("parseAgentOffer reads the server's offer and refuses malformed ones", () => {
  const offer = parseAgentOffer({
    offer: {
      agent: { name: "claude", title: "Claude Code", path: "/usr/bin/claude" },
      personas: ["backend_developer", "qa_engineer"],
      agents: ["claude"],
      message: "Claude Code (claude) is installed.",
    },
    reason: null,
  });
  assert.deepEqual(offer, {
    name: "claude",
    title: "Claude Code",
    path: "/usr/bin/claude",
    personas: ["backend_developer", "qa_engineer"],
    message: "Claude Code (claude) is installed.",
  });
  assert.equal(parseAgentOffer({ offer: null, reason: "no coding agent on PATH" }), null);
  assert.equal(parseAgentOffer({ offer: { agent: { name: "claude" }, personas: [] } }), null);
  assert.equal(parseAgentOffer({ offer: { agent: 3, personas: ["x"] } }), null);
  assert.equal(parseAgentOffer("nope"), null);
});
