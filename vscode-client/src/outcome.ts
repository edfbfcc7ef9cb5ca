// The outcome of a long command (the status object's `lastRun`) and the notification
// that tells it: what happened, and buttons for the next step. Pure: no vscode import.

export interface PersonaFailure {
  phase: string;
  persona: string;
  iteration: number | null;
  /** The error in one line ("python3 exited with code 1: No module named ruff"). */
  reason: string;
  /** The whole error, as the persona reported it. */
  error: string;
  /** Not run at all (e.g. an untrusted workspace), rather than failed. */
  skipped: boolean;
}

/** The place to look at next: a finding of the phase on a file that exists. */
export interface OpenTarget {
  path: string;
  line: number;
  character: number;
  check: string;
  message: string;
}

export interface RunOutcome {
  /** Increases with every long command the server runs (a new server starts at 1). */
  id: number;
  /** The server's command: "startSession", "validate", "remediate"… */
  command: string;
  /** "done", "stopped" (by the user) or "failed". */
  result: string;
  error: string | null;
  session: { id: string; status: string; currentPhase: string | null } | null;
  phase: string | null;
  phaseTitle: string | null;
  phaseStatus: string | null;
  verdict: string | null;
  score: number | null;
  threshold: number | null;
  gates: { total: number; passed: number; failed: number; unknown: number };
  findings: { total: number; new: number | null; fixed: number | null };
  personaFailures: PersonaFailure[];
  open: OpenTarget | null;
  /** The server's own sentence (what a client without this code shows). */
  summary: string;
}

export type OutcomeAction =
  | "showOutput"
  | "openDocument"
  | "showProblems"
  | "resume"
  | "openReport"
  | "startSession";

export interface OutcomeMessage {
  severity: "info" | "warning" | "error";
  text: string;
  actions: { label: string; action: OutcomeAction }[];
}

/** At most this many buttons: a toast with more wraps them out of sight. */
export const MAX_ACTIONS = 4;

const SESSION_COMMANDS = new Set(["startSession", "resumeSession", "rework", "runGates"]);

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function num(v: unknown): number | null {
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}

function str(v: unknown, fallback = ""): string {
  return typeof v === "string" ? v : fallback;
}

function optStr(v: unknown): string | null {
  return typeof v === "string" ? v : null;
}

/** Parse an untrusted `lastRun` payload; null when it is not one. */
export function parseOutcome(raw: unknown): RunOutcome | null {
  if (!isObject(raw) || num(raw.id) === null || typeof raw.command !== "string") {
    return null;
  }
  const s = isObject(raw.session) ? raw.session : null;
  const g = isObject(raw.gates) ? raw.gates : {};
  const f = isObject(raw.findings) ? raw.findings : {};
  const o = isObject(raw.open) && typeof raw.open.path === "string" ? raw.open : null;
  return {
    id: num(raw.id) ?? 0,
    command: raw.command,
    result: str(raw.result, "done"),
    error: optStr(raw.error),
    session: s
      ? { id: str(s.id), status: str(s.status), currentPhase: optStr(s.current_phase) }
      : null,
    phase: optStr(raw.phase),
    phaseTitle: optStr(raw.phaseTitle) ?? optStr(raw.phase),
    phaseStatus: optStr(raw.phaseStatus),
    verdict: optStr(raw.verdict),
    score: num(raw.score),
    threshold: num(raw.threshold),
    gates: {
      total: num(g.total) ?? 0,
      passed: num(g.passed) ?? 0,
      failed: num(g.failed) ?? 0,
      unknown: num(g.unknown) ?? 0,
    },
    findings: { total: num(f.total) ?? 0, new: num(f.new), fixed: num(f.fixed) },
    personaFailures: (Array.isArray(raw.personaFailures) ? raw.personaFailures : [])
      .filter(isObject)
      .map((p) => ({
        phase: str(p.phase),
        persona: str(p.persona),
        iteration: num(p.iteration),
        reason: str(p.reason, str(p.error, "failed")),
        error: str(p.error),
        skipped: p.skipped === true,
      })),
    open: o
      ? {
          path: str(o.path),
          line: num(o.line) ?? 0,
          character: num(o.character) ?? 0,
          check: str(o.check),
          message: str(o.message),
        }
      : null,
    summary: str(raw.summary),
  };
}

function two(v: number | null): string {
  return v === null ? "–" : v.toFixed(2);
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

function baseName(p: string): string {
  const parts = p.split(/[\\/]/);
  return parts[parts.length - 1] || p;
}

const WAITING = new Set(["stalled", "blocked", "regressed"]);

/** Where the command left the work, in a few words. */
export function outcomeHeadline(run: RunOutcome): string {
  const at = run.phaseTitle ? `${run.phaseTitle} (${two(run.score)}/${two(run.threshold)})` : "";
  const session = run.session;
  if (session && SESSION_COMMANDS.has(run.command)) {
    if (run.result === "stopped") {
      return `session ${session.id} stopped${at ? ` at ${at}` : ""}; resume it to go on`;
    }
    if (session.status === "completed" && (run.verdict === null || run.verdict === "passed")) {
      return `session ${session.id} completed: every phase passed`;
    }
    if (run.phaseTitle) {
      const score = `${two(run.score)}/${two(run.threshold)}`;
      const status = run.phaseStatus ?? "";
      const word =
        status === "blocked"
          ? "is blocked"
          : WAITING.has(status)
            ? status
            : run.verdict === "passed"
              ? "passes"
              : run.verdict === "failed"
                ? "fails"
                : "is not judged";
      const waits = WAITING.has(status) ? ": waiting for you" : "";
      return `${run.phaseTitle} ${word} at ${score}${waits}`;
    }
    return `session ${session.id} ${session.status}`;
  }
  const g = run.gates;
  const stopped = run.result === "stopped" ? "stopped; " : "";
  if (g.total === 0) {
    return `${stopped}no gate to score`;
  }
  if (g.total === 1 && run.phaseTitle) {
    const word = run.verdict === "failed" ? "fails" : run.verdict === "passed" ? "passes" : "is not judged";
    return `${stopped}${run.phaseTitle} ${word} at ${two(run.score)}/${two(run.threshold)}`;
  }
  if (g.failed === 0 && g.unknown === 0) {
    return `${stopped}every gate passes (${g.total})`;
  }
  const parts: string[] = [];
  if (g.failed > 0) {
    parts.push(`${g.failed} of ${g.total} gates fail` + (at && run.verdict === "failed" ? `, first ${at}` : ""));
  }
  if (g.unknown > 0) {
    parts.push(`${g.unknown} not judged (checks not run)`);
  }
  return stopped + parts.join(", ");
}

/** "security_specialist failed: No module named x" (distinct failures, the first ones). */
export function failureText(failures: PersonaFailure[], max = 2): string {
  const seen = new Map<string, PersonaFailure>();
  for (const f of failures) {
    const key = `${f.persona}\u0000${f.reason}`;
    if (!seen.has(key)) {
      seen.set(key, f);
    }
  }
  const distinct = [...seen.values()];
  const shown = distinct
    .slice(0, max)
    .map((f) => `${f.persona} ${f.skipped ? "was not run" : "failed"}: ${f.reason.replace(/^not run: /, "")}`);
  const more = distinct.length - shown.length;
  return shown.join("; ") + (more > 0 ? ` (+${more} more)` : "");
}

/** "8 findings (3 new, 2 fixed)" */
export function findingsText(run: RunOutcome): string {
  const f = run.findings;
  const changes: string[] = [];
  if (f.new) {
    changes.push(`${f.new} new`);
  }
  if (f.fixed) {
    changes.push(`${f.fixed} fixed`);
  }
  return plural(f.total, "finding") + (changes.length > 0 ? ` (${changes.join(", ")})` : "");
}

/**
 * The notification that ends a command: severity, one line of text, and buttons for
 * the next step (at most MAX_ACTIONS, the most useful first). `title` is the command's
 * name as the user chose it ("Start Session").
 */
export function outcomeMessage(run: RunOutcome, title: string): OutcomeMessage {
  if (run.result === "failed") {
    return {
      severity: "error",
      text: `PhaseGate: ${title} failed: ${run.error ?? (run.summary || "unknown error")}`,
      actions: [{ label: "Show Output", action: "showOutput" }],
    };
  }
  const failures = run.personaFailures;
  const waiting =
    run.session !== null &&
    SESSION_COMMANDS.has(run.command) &&
    (run.session.status === "waiting" || WAITING.has(run.phaseStatus ?? ""));
  const pieces = [outcomeHeadline(run)];
  if (failures.length > 0) {
    pieces.push(failureText(failures));
  }
  pieces.push(findingsText(run));
  const actions: OutcomeMessage["actions"] = [];
  if (failures.length > 0) {
    actions.push({ label: "Show Output", action: "showOutput" });
  }
  if (run.open) {
    actions.push({ label: `Open ${baseName(run.open.path)}`, action: "openDocument" });
  }
  if (run.findings.total > 0) {
    actions.push({ label: "Show Problems", action: "showProblems" });
  }
  if (run.session && ["waiting", "stopped"].includes(run.session.status)) {
    actions.push({ label: "Resume", action: "resume" });
  }
  if (run.session) {
    actions.push({ label: "Open Report", action: "openReport" });
  }
  if (actions.length === 0) {
    actions.push({ label: "Start Session", action: "startSession" });
  }
  return {
    severity: failures.length > 0 || waiting ? "warning" : "info",
    text: `PhaseGate: ${title}: ${pieces.join(" · ")}`,
    actions: actions.slice(0, MAX_ACTIONS),
  };
}

/**
 * A session's command left the session waiting for a person (a phase stalled or
 * blocked) at a document: the editor shows that document at once.
 */
export function waitsOnDocument(run: RunOutcome): boolean {
  return (
    run.result === "done" &&
    run.open !== null &&
    run.session !== null &&
    ["startSession", "resumeSession", "rework"].includes(run.command) &&
    (run.session.status === "waiting" || WAITING.has(run.phaseStatus ?? ""))
  );
}

/** The name of a server command as the user knows it. */
export const COMMAND_TITLES: Record<string, string> = {
  startSession: "Start Session",
  resumeSession: "Resume Session",
  validate: "Validate Workspace",
  runGates: "Run Gates",
  remediate: "Remediate",
  rework: "Rework",
};
