// The status object the language server returns from its commands and pushes as the
// `phasegate/status` notification, and small pure helpers to present it.

import { parseOutcome, type RunOutcome } from "./outcome";

export type PhaseState =
  | "pending"
  | "in_progress"
  | "completed"
  | "stalled"
  | "blocked"
  | "regressed";

export interface LspPosition {
  line: number;
  character: number;
}

export interface LspRange {
  start: LspPosition;
  end: LspPosition;
}

export interface FindingInfo {
  id: string;
  path: string | null;
  range: LspRange | null;
  severity: number;
  message: string;
  code: string;
  /** New-code mode: "new", "unchanged" (inherited) or "absent"; null outside the mode. */
  baselineState: string | null;
}

/** New-code mode: a phase's findings split new / unchanged (inherited) / absent. */
export interface PhaseNewCode {
  new: number;
  unchanged: number;
  absent: number;
  /** Checks whose new findings of a blocking severity fail the gate whatever its score. */
  held: string[];
}

export interface CheckInfo {
  id: string;
  passed: boolean;
  score: number | null;
  blocking: boolean;
  owner: string | null;
  skipped: string | null;
  error: string | null;
  /** Nothing for the check to judge here (e.g. no Python source): not scored. */
  notApplicable: string | null;
  findings: FindingInfo[];
}

/** A gate's verdict now: "unknown" when it passes on the checks that ran but some did not. */
export type Verdict = "passed" | "failed" | "unknown";

export interface PhaseInfo {
  name: string;
  title: string;
  status: PhaseState | string;
  score: number | null;
  threshold: number | null;
  iteration: number;
  passed: boolean | null;
  verdict: Verdict;
  /** The checks of the gate that did not run (not run yet, skipped, could not run). */
  notRun: string[];
  /** Why the phase waits, or why it has no score ("" when nothing to say). */
  message: string;
  checks: CheckInfo[];
  /** New-code mode only (null outside it, or before a check of the phase ran). */
  newCode: PhaseNewCode | null;
}

export interface SessionInfo {
  id: string;
  requirement: string;
  status: string;
  current_phase: string | null;
  global_iterations: number;
}

export interface StatusObject {
  workspace: string;
  trusted: boolean;
  session: SessionInfo | null;
  phases: PhaseInfo[];
  /** The long command the server is running, if it says (an addition to the contract). */
  running: string | null;
  /**
   * New-code mode: what new code is judged against, e.g. "since origin/main (1a2b3c4d5e)"
   * or "since the session's start (…)"; null when the whole code is judged.
   */
  newCode: string | null;
  /** The outcome of the last long command the server ran (null: none yet). */
  lastRun: RunOutcome | null;
}

export interface SessionListEntry {
  id: string;
  requirement: string;
  status: string;
  /** When the session last changed: seconds since the epoch, as the server sends it. */
  updated_at: number | null;
  active: boolean;
}

export const SESSION_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** A session id typed by the user: undefined when acceptable, else the reason. */
export function validateSessionId(value: string): string | undefined {
  const v = value.trim();
  if (v === "" || SESSION_ID_PATTERN.test(v)) {
    return undefined;
  }
  return "Use 1 to 64 letters, digits, '-' or '_' (or leave empty for a generated id).";
}

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

function range(v: unknown): LspRange | null {
  if (!isObject(v) || !isObject(v.start) || !isObject(v.end)) {
    return null;
  }
  const sl = num(v.start.line);
  const sc = num(v.start.character);
  const el = num(v.end.line);
  const ec = num(v.end.character);
  if (sl === null || sc === null || el === null || ec === null) {
    return null;
  }
  return { start: { line: sl, character: sc }, end: { line: el, character: ec } };
}

/** Parse an untrusted status payload into a well-formed object; null if it is not one. */
export function parseStatus(raw: unknown): StatusObject | null {
  if (!isObject(raw) || !Array.isArray(raw.phases)) {
    return null;
  }
  const phasesRaw = raw.phases;
  const phases: PhaseInfo[] = phasesRaw.filter(isObject).map((p) => ({
    name: str(p.name),
    title: str(p.title, str(p.name)),
    status: str(p.status, "pending"),
    score: num(p.score),
    threshold: num(p.threshold),
    iteration: num(p.iteration) ?? 0,
    passed: typeof p.passed === "boolean" ? p.passed : null,
    verdict: verdictOf(p.verdict, p.passed),
    notRun: strings(p.notRun),
    message: str(p.message),
    checks: (Array.isArray(p.checks) ? p.checks : []).filter(isObject).map((c) => ({
      id: str(c.id),
      passed: c.passed === true,
      score: num(c.score),
      blocking: c.blocking === true,
      owner: optStr(c.owner),
      skipped: optStr(c.skipped),
      error: optStr(c.error),
      notApplicable: optStr(c.not_applicable),
      findings: (Array.isArray(c.findings) ? c.findings : []).filter(isObject).map((f) => ({
        id: str(f.id),
        path: optStr(f.path),
        range: range(f.range),
        severity: num(f.severity) ?? 2,
        message: str(f.message),
        code: str(f.code, str(c.id)),
        baselineState: optStr(f.baseline_state),
      })),
    })),
    newCode: phaseNewCode(p.newCode),
  }));
  let session: SessionInfo | null = null;
  if (isObject(raw.session)) {
    const s = raw.session;
    session = {
      id: str(s.id),
      requirement: str(s.requirement),
      status: str(s.status),
      current_phase: optStr(s.current_phase),
      global_iterations: num(s.global_iterations) ?? 0,
    };
  }
  return {
    workspace: str(raw.workspace),
    trusted: raw.trusted !== false,
    session,
    phases,
    running: optStr(raw.running),
    newCode: optStr(raw.newCode),
    lastRun: parseOutcome(raw.lastRun),
  };
}

function strings(v: unknown): string[] {
  return (Array.isArray(v) ? v : []).filter((x): x is string => typeof x === "string");
}

/** The server's verdict; from `passed` for a server that does not send one. */
function verdictOf(v: unknown, passed: unknown): Verdict {
  if (v === "passed" || v === "failed" || v === "unknown") {
    return v;
  }
  return passed === true ? "passed" : passed === false ? "failed" : "unknown";
}

function phaseNewCode(v: unknown): PhaseNewCode | null {
  if (!isObject(v)) {
    return null;
  }
  return {
    new: num(v.new) ?? 0,
    unchanged: num(v.unchanged) ?? 0,
    absent: num(v.absent) ?? 0,
    held: (Array.isArray(v.held) ? v.held : []).filter((x): x is string => typeof x === "string"),
  };
}

/** "new code since origin/main (1a2b3c4d5e)": the mode as a sentence; undefined when off. */
export function newCodeLine(status: StatusObject | null): string | undefined {
  return status?.newCode ? `new code ${status.newCode}` : undefined;
}

/**
 * The mode in a few words for the status bar: "new code since origin/main" (commits
 * left out), "new code vs baseline phasegate-baseline.sarif", "new code since main, vs
 * baseline b.sarif"; undefined when off.
 */
export function newCodeShort(status: StatusObject | null): string | undefined {
  if (!status?.newCode) {
    return undefined;
  }
  const parts = status.newCode
    .split(" and ")
    .map((part) => part.replace(/ \([0-9a-f]{4,40}\)$/, ""))
    .map((part) => (part.startsWith("baseline ") ? `vs ${part}` : part));
  return `new code ${parts.join(", ")}`;
}

/** "2 new, 5 inherited" for a phase in new-code mode; undefined outside it. */
export function newCodeCounts(p: PhaseInfo): string | undefined {
  const nc = p.newCode;
  if (!nc) {
    return undefined;
  }
  const parts = [`${nc.new} new`, `${nc.unchanged} inherited`];
  if (nc.absent > 0) {
    parts.push(`${nc.absent} fixed`);
  }
  return parts.join(", ");
}

export function parseSessionList(raw: unknown): SessionListEntry[] {
  if (!Array.isArray(raw)) {
    return [];
  }
  return raw.filter(isObject).map((s) => ({
    id: str(s.id),
    requirement: str(s.requirement),
    status: str(s.status),
    updated_at: typeof s.updated_at === "number" && Number.isFinite(s.updated_at) ? s.updated_at : null,
    active: s.active === true,
  }));
}

/** The server's offer of an installed coding agent (phasegate.agentOffer). */
export interface AgentOffer {
  name: string;
  title: string;
  path: string | null;
  personas: string[];
  message: string;
}

/** `{"offer": {...} | null}` -> the offer, or null when there is none (or it is malformed). */
export function parseAgentOffer(raw: unknown): AgentOffer | null {
  if (!isObject(raw) || !isObject(raw.offer)) {
    return null;
  }
  const offer = raw.offer;
  const agent = isObject(offer.agent) ? offer.agent : null;
  const personas = Array.isArray(offer.personas)
    ? offer.personas.filter((p): p is string => typeof p === "string")
    : [];
  if (!agent || typeof agent.name !== "string" || agent.name === "" || personas.length === 0) {
    return null;
  }
  return {
    name: agent.name,
    title: typeof agent.title === "string" && agent.title !== "" ? agent.title : agent.name,
    path: typeof agent.path === "string" ? agent.path : null,
    personas,
    message: str(offer.message),
  };
}

export function formatScore(v: number | null): string {
  return v === null ? "–" : v.toFixed(2);
}

export const VERDICT_WORDS: Record<Verdict, string> = {
  passed: "passed",
  failed: "failed",
  unknown: "not judged",
};

/** "0.72/0.75": a gate's score and threshold, compact. */
export function scoreText(p: PhaseInfo): string {
  return `${formatScore(p.score)}/${formatScore(p.threshold)}`;
}

/**
 * The phase's line in the view, its state first so that a narrow side bar cuts the
 * numbers, not the words: in a session "stalled · 0.72/0.75 · it. 2"; without one the
 * gate's verdict, "failed · 0.72/0.90".
 */
export function phaseDescription(p: PhaseInfo, inSession = true): string {
  const parts: string[] = [inSession ? p.status.replace("_", " ") : VERDICT_WORDS[p.verdict]];
  if (p.score !== null || p.threshold !== null) {
    parts.push(scoreText(p));
  }
  if (inSession && p.iteration > 0) {
    parts.push(`it. ${p.iteration}`);
  }
  const counts = newCodeCounts(p);
  if (counts) {
    parts.push(counts);
  }
  return parts.join(" · ");
}

/**
 * The phase the status bar shows: the session's current one; without a session (or
 * once it completed) the first failing phase, else the first not judged, else the last.
 */
export function currentPhase(status: StatusObject): PhaseInfo | undefined {
  const session = status.session;
  const name = session && session.status !== "completed" ? session.current_phase : null;
  if (name) {
    const p = status.phases.find((x) => x.name === name);
    if (p) {
      return p;
    }
  }
  return (
    status.phases.find((p) => p.verdict === "failed") ??
    status.phases.find((p) => p.verdict === "unknown") ??
    status.phases.at(-1)
  );
}

/**
 * The codicon of a phase: its gate's verdict (passed, failed, not judged), or a spinner
 * while a running session works on it.
 */
export function phaseIconId(p: PhaseInfo, status: StatusObject | null): string {
  if (p.status === "in_progress" && status?.session?.status === "running" && status.running) {
    return "sync~spin";
  }
  return VERDICT_ICONS[p.verdict];
}

export const VERDICT_ICONS: Record<Verdict, string> = {
  passed: "pass-filled",
  failed: "error",
  unknown: "question",
};

export function findingCount(status: StatusObject): number {
  let n = 0;
  for (const p of status.phases) {
    for (const c of p.checks) {
      n += c.findings.length;
    }
  }
  return n;
}
