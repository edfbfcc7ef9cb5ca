#!/usr/bin/env node
// End-to-end test of the PhaseGate extension in real VS Code (code-server) driven through
// Chromium by playwright-core. Every run uses a fresh code-server, user-data, extensions,
// HOME and XDG folders, and kills code-server by its pid (process group) at the end.
//
//   node e2e/driver.cjs --scenario full|smoke|missing|untrusted|multiroot|outcome|actions --vsix phasegate.vsix \
//     --python /path/to/python --artifacts artifacts/vscode-e2e/full
//
// The actions scenario opens a workspace prepared by the test (--workspace DIR, where
// every check has a finding) and is told the check ids to try (--checks ID,ID,…).
//
// Locations of the tools (written by scripts/install-e2e-deps.sh into env.sh) come from
// the environment: PHASEGATE_E2E_NODE, PHASEGATE_E2E_CODE_SERVER, PHASEGATE_E2E_NODE_PATH,
// PHASEGATE_E2E_CHROMIUM. Exit code 0 = every step passed; a screenshot is taken at each
// step, pass or fail, and results.json lists the steps.
"use strict";

const { spawn, spawnSync } = require("node:child_process");
const fs = require("node:fs");
const http = require("node:http");
const net = require("node:net");
const os = require("node:os");
const path = require("node:path");

function parseArgs(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith("--")) {
      throw new Error(`unexpected argument ${a}`);
    }
    out[a.slice(2)] = argv[++i];
  }
  return out;
}

const args = parseArgs(process.argv.slice(2));
const SCENARIO = args.scenario || "full";
const VSIX = path.resolve(args.vsix || "phasegate.vsix");
const PYTHON = args.python || "python3";
const ARTIFACTS = path.resolve(args.artifacts || `artifacts/vscode-e2e/${SCENARIO}`);
const MEDIA = args.media ? path.resolve(args.media) : null; // README screenshots go here too
const KEEP = process.env.PHASEGATE_E2E_KEEP === "1";
const NODE = process.env.PHASEGATE_E2E_NODE || process.execPath;
const CODE_SERVER = process.env.PHASEGATE_E2E_CODE_SERVER;
const CHROMIUM = process.env.PHASEGATE_E2E_CHROMIUM || "/usr/bin/chromium";
const NODE_PATH = process.env.PHASEGATE_E2E_NODE_PATH;
const REQUIREMENT = "Create a task management system";
const SESSION_ID = "e2e-demo";

function loadPlaywright() {
  const candidates = [NODE_PATH, path.join(__dirname, "..", "node_modules")].filter(Boolean);
  for (const dir of candidates) {
    try {
      return require(require.resolve("playwright-core", { paths: [dir] }));
    } catch {
      // next
    }
  }
  return require("playwright-core");
}

const t0 = Date.now();
const steps = [];
let stepNo = 0;

function log(msg) {
  const s = ((Date.now() - t0) / 1000).toFixed(1).padStart(6);
  process.stdout.write(`[e2e ${s}s] ${msg}\n`);
}

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function healthy(port) {
  return new Promise((resolve) => {
    const req = http.get({ host: "127.0.0.1", port, path: "/healthz", timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on("error", () => resolve(false));
    req.on("timeout", () => {
      req.destroy();
      resolve(false);
    });
  });
}

async function waitFor(what, fn, timeoutMs = 30000, intervalMs = 250) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    try {
      last = await fn();
      if (last) {
        return last;
      }
    } catch (err) {
      if (err && err.fatal) {
        throw err;
      }
      last = err;
    }
    await sleep(intervalMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last instanceof Error ? `: ${last.message}` : ""}`);
}

// ---------------------------------------------------------------------------------------
// Fresh folders, workspace and code-server

function makeRun() {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), "phasegate-e2e-"));
  const run = {
    base,
    data: path.join(base, "data"),
    user: path.join(base, "data", "user"),
    ext: path.join(base, "data", "ext"),
    home: path.join(base, "home"),
    workspace: path.join(base, "workspace"),
  };
  for (const d of [run.user, run.ext, run.home, run.workspace]) {
    fs.mkdirSync(d, { recursive: true });
  }
  for (const x of ["config", "data", "state", "cache", "runtime"]) {
    fs.mkdirSync(path.join(run.home, `.${x}`), { recursive: true, mode: 0o700 });
  }
  run.env = {
    PATH: process.env.PATH,
    LANG: "C.UTF-8",
    HOME: run.home,
    XDG_CONFIG_HOME: path.join(run.home, ".config"),
    XDG_DATA_HOME: path.join(run.home, ".data"),
    XDG_STATE_HOME: path.join(run.home, ".state"),
    XDG_CACHE_HOME: path.join(run.home, ".cache"),
    XDG_RUNTIME_DIR: path.join(run.home, ".runtime"),
    TMPDIR: os.tmpdir(),
  };
  return run;
}

function writeWorkspace(run) {
  fs.writeFileSync(
    path.join(run.workspace, "phasegate.toml"),
    "# PhaseGate configuration: the built-in pipeline.\n",
  );
  fs.writeFileSync(
    path.join(run.workspace, "README.md"),
    "# Task manager\n\nA workspace driven by PhaseGate.\n",
  );
}

/** Two phasegate folders in one multi-root workspace; returns the .code-workspace file. */
function writeMultiRoot(run) {
  for (const name of ["alpha", "beta"]) {
    const dir = path.join(run.workspace, name);
    fs.mkdirSync(dir, { recursive: true });
    // The built-in pipeline, with a requirements persona that runs a program (as a coding
    // agent would): a Rework quick fix is offered only by a persona that can act on the
    // finding, and the scaffold persona only writes missing files.
    const write =
      "import os; os.makedirs('docs', exist_ok=True); " +
      "open('docs/requirements.md', 'a').write('# Requirements\\n\\n## Overview\\n\\nTODO\\n')";
    fs.writeFileSync(
      path.join(dir, "phasegate.toml"),
      "# PhaseGate configuration: the built-in pipeline.\n\n" +
        "[personas.requirement_analyst]\n" +
        'kind = "command"\n' +
        `options = { command = ["python3", "-c", ${JSON.stringify(write)}] }\n`,
    );
    fs.writeFileSync(path.join(dir, "README.md"), `# ${name}\n\nOne folder of a multi-root workspace.\n`);
    fs.writeFileSync(path.join(dir, `${name.toUpperCase()}.md`), `# Notes of ${name}\n`);
  }
  const file = path.join(run.base, "multi.code-workspace");
  fs.writeFileSync(file, JSON.stringify({ folders: [{ path: path.join(run.workspace, "alpha") }, { path: path.join(run.workspace, "beta") }] }, null, 2));
  return file;
}

/**
 * The outcome scenario's workspace: requirements that pass their gate, no design, and a
 * design persona that runs a program which is not installed (as a fixer missing from
 * the editor's PATH): the session stalls at Design and the persona fails.
 */
const MISSING_MODULE = "phasegate_missing_scanner";

function writeOutcomeWorkspace(run) {
  fs.writeFileSync(
    path.join(run.workspace, "phasegate.toml"),
    [
      "# PhaseGate configuration: the built-in pipeline; the security specialist runs a",
      "# scanner that is not installed here.",
      "[personas.security_specialist]",
      'kind = "command"',
      'role = "Runs the security scanner on the design."',
      `options = { command = ["python3", "-m", "${MISSING_MODULE}", "docs/design.md"], stdin = false }`,
      "",
    ].join("\n"),
  );
  fs.mkdirSync(path.join(run.workspace, "docs"), { recursive: true });
  fs.writeFileSync(
    path.join(run.workspace, "docs", "requirements.md"),
    [
      "# Requirements",
      "",
      "## Overview",
      "",
      "A task manager: people keep a list of tasks and mark them done.",
      "",
      "## Functional requirements",
      "",
      "### REQ-001: Add tasks",
      "",
      "Users add a task with a title.",
      "",
      "Acceptance criteria:",
      "- A task with a title can be added.",
      "- An empty title is rejected.",
      "",
      "### REQ-002: Complete tasks",
      "",
      "Users mark a task as done.",
      "",
      "Acceptance criteria:",
      "- A task marked done is listed as done.",
      "",
    ].join("\n"),
  );
}

function writeUserSettings(run, python, extra = {}) {
  const dir = path.join(run.user, "User");
  fs.mkdirSync(dir, { recursive: true });
  const settings = {
    "phasegate.interpreter": python,
    "security.workspace.trust.enabled": false,
    "workbench.startupEditor": "none",
    "workbench.tips.enabled": false,
    "workbench.enableExperiments": false,
    "workbench.secondarySideBar.defaultVisibility": "hidden",
    "workbench.welcomePage.walkthroughs.openOnInstall": false,
    "chat.disableAIFeatures": true,
    "chat.commandCenter.enabled": false,
    "telemetry.telemetryLevel": "off",
    "update.mode": "none",
    "extensions.autoCheckUpdates": false,
    "extensions.autoUpdate": false,
    "extensions.ignoreRecommendations": true,
    "git.enabled": false,
    "files.autoSave": "off",
    "editor.minimap.enabled": false,
    "window.zoomLevel": 0,
    "problems.decorations.enabled": true,
    "terminal.integrated.gpuAcceleration": "off",
    ...extra,
  };
  fs.writeFileSync(path.join(dir, "settings.json"), JSON.stringify(settings, null, 2));
}

function codeServerArgs(run) {
  const trust = SCENARIO === "untrusted" ? [] : ["--disable-workspace-trust"];
  return [
    CODE_SERVER,
    "--config",
    path.join(run.data, "config.yaml"),
    "--user-data-dir",
    run.user,
    "--extensions-dir",
    run.ext,
    "--disable-telemetry",
    "--disable-update-check",
    ...trust,
    "--disable-getting-started-override",
  ];
}

function installExtension(run) {
  fs.writeFileSync(path.join(run.data, "config.yaml"), "auth: none\ncert: false\n");
  const res = spawnSync(NODE, [...codeServerArgs(run), "--install-extension", VSIX, "--force"], {
    env: run.env,
    encoding: "utf8",
    timeout: 120000,
  });
  fs.writeFileSync(path.join(ARTIFACTS, "install-extension.log"), `${res.stdout}\n${res.stderr}`);
  if (res.status !== 0) {
    throw new Error(`--install-extension failed (${res.status}): ${res.stderr || res.stdout}`);
  }
  const installed = fs.readdirSync(run.ext).filter((d) => d.startsWith("phasegate.phasegate"));
  if (installed.length === 0) {
    throw new Error(`extension not in ${run.ext}: ${fs.readdirSync(run.ext).join(", ")}`);
  }
  return installed[0];
}

async function startCodeServer(run) {
  const port = await freePort();
  const logFile = fs.openSync(path.join(ARTIFACTS, "code-server.log"), "a");
  const child = spawn(
    NODE,
    [
      ...codeServerArgs(run),
      "--bind-addr",
      `127.0.0.1:${port}`,
      "--auth",
      "none",
      "--reconnection-grace-time",
      "5",
      run.workspace,
    ],
    { env: run.env, detached: true, stdio: ["ignore", logFile, logFile] },
  );
  fs.closeSync(logFile);
  let exited = null;
  child.on("exit", (code, signal) => {
    exited = { code, signal };
  });
  await waitFor("code-server /healthz", async () => {
    if (exited) {
      throw new Error(`code-server exited early: ${JSON.stringify(exited)}`);
    }
    return healthy(port);
  }, 60000);
  return { child, port };
}

async function stopProcessGroup(child) {
  if (!child || child.exitCode !== null || child.signalCode !== null) {
    return;
  }
  const gone = new Promise((r) => child.once("exit", r));
  try {
    process.kill(-child.pid, "SIGTERM");
  } catch {
    return;
  }
  const timer = sleep(5000).then(() => "timeout");
  if ((await Promise.race([gone, timer])) === "timeout") {
    try {
      process.kill(-child.pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
}

// ---------------------------------------------------------------------------------------
// UI helpers

class Ui {
  constructor(page) {
    this.page = page;
  }

  async shot(name, { media } = {}) {
    const file = path.join(ARTIFACTS, `${String(++stepNo).padStart(2, "0")}-${name}.png`);
    await this.page.screenshot({ path: file }).catch((err) => log(`screenshot failed: ${err}`));
    if (media && MEDIA && fs.existsSync(file)) {
      fs.mkdirSync(MEDIA, { recursive: true });
      fs.copyFileSync(file, path.join(MEDIA, `${media}.png`));
    }
    return file;
  }

  async waitWorkbench() {
    await this.page.waitForSelector(".monaco-workbench .statusbar", { timeout: 60000 });
    await this.page.waitForSelector(".monaco-workbench .part.editor", { timeout: 60000 });
    // Let the workbench restore and the extension host start.
    await sleep(1500);
  }

  /** Drag the side bar's sash so that the PhaseGate view's descriptions fit (best effort). */
  async widenSideBar(width = 470) {
    const box = await this.page.locator(".part.sidebar").boundingBox().catch(() => null);
    if (!box || box.width >= width) {
      return;
    }
    const edge = box.x + box.width;
    const sashes = await this.page.locator(".monaco-sash.vertical").all();
    for (const sash of sashes) {
      const b = await sash.boundingBox().catch(() => null);
      if (b && Math.abs(b.x + b.width / 2 - edge) < 6 && b.height > 200) {
        const y = b.y + b.height / 2;
        await this.page.mouse.move(b.x + b.width / 2, y);
        await this.page.mouse.down();
        await this.page.mouse.move(box.x + width, y, { steps: 8 });
        await this.page.mouse.up();
        await this.page.mouse.move(box.x + width + 300, y);
        return;
      }
    }
  }

  async dismissNotifications() {
    // Clear all notifications (Notifications: Clear All).
    await this.runCommand("Notifications: Clear All Notifications", { exact: false }).catch(() => undefined);
  }

  async closeSecondarySideBar() {
    const auxbar = this.page.locator(".part.auxiliarybar");
    if (await auxbar.isVisible().catch(() => false)) {
      await this.runCommand("View: Close Secondary Side Bar", { exact: false }).catch(() => undefined);
    }
  }

  async openPalette(prefix = ">") {
    await this.page.keyboard.press("Escape");
    await this.page.keyboard.press("F1");
    const input = this.page.locator(".quick-input-widget input");
    await input.waitFor({ state: "visible", timeout: 10000 });
    if (prefix !== ">") {
      await input.fill(prefix);
    }
    return input;
  }

  /** F1, type the command, pick the row whose label matches, Enter. */
  async runCommand(label, { exact = true, shotName } = {}) {
    const input = await this.openPalette();
    await input.fill(`>${label}`);
    const row = this.page
      .locator(".quick-input-list .monaco-list-row")
      .filter({ hasText: label })
      .first();
    await row.waitFor({ state: "visible", timeout: 15000 });
    if (exact) {
      const text = (await row.innerText()).split("\n")[0];
      if (!text.includes(label)) {
        throw new Error(`palette row is "${text}", expected "${label}"`);
      }
    }
    if (shotName) {
      await this.shot(shotName);
    }
    await row.click();
  }

  async paletteLabels(filter) {
    const input = await this.openPalette();
    await input.fill(`>${filter}`);
    await this.page.waitForSelector(".quick-input-list .monaco-list-row", { timeout: 15000 });
    await sleep(500);
    const labels = await this.page
      .locator(".quick-input-list .monaco-list-row .label-name")
      .allInnerTexts();
    return labels.map((l) => l.trim());
  }

  async closeQuickInput() {
    const widget = this.page.locator(".quick-input-widget");
    for (let i = 0; i < 3 && (await widget.isVisible().catch(() => false)); i++) {
      await this.page.keyboard.press("Escape");
      await sleep(200);
    }
  }

  async quickInput(text) {
    const input = this.page.locator(".quick-input-widget input");
    await input.waitFor({ state: "visible", timeout: 15000 });
    await input.fill(text);
    await sleep(200);
    await input.press("Enter");
  }

  async openFile(relPath) {
    // Quick Open finds a file created moments ago only once the file search has seen it:
    // ask again for a while.
    const input = this.page.locator(".quick-input-widget input");
    const row = this.page
      .locator(".quick-input-list .monaco-list-row")
      .filter({ hasText: path.basename(relPath) })
      .first();
    for (let attempt = 1; ; attempt++) {
      await this.page.keyboard.press("Escape");
      await this.page.keyboard.press("Control+P");
      await input.waitFor({ state: "visible", timeout: 10000 });
      await input.fill(relPath);
      try {
        await row.waitFor({ state: "visible", timeout: 5000 });
        break;
      } catch (err) {
        if (attempt >= 6) {
          throw err;
        }
      }
    }
    await input.press("Enter");
    await this.page.waitForSelector(
      `.tabs-container .tab.active[data-resource-name="${path.basename(relPath)}"], .tabs-container .tab.active:has-text("${path.basename(relPath)}")`,
      { timeout: 15000 },
    );
    await this.page.locator(".editor-instance .monaco-editor .view-lines").first().click();
  }

  /** F8 to the next problem, then Ctrl+.: the labels of the code actions offered. */
  async quickFixesAtNextProblem() {
    await this.page.keyboard.press("F8");
    await this.page.waitForSelector(".marker-widget", { timeout: 10000 });
    await this.page.keyboard.press("Escape");
    await sleep(200);
    // The code actions are computed by the server: retry the key if no menu opened.
    for (let attempt = 1; ; attempt++) {
      await this.page.keyboard.press("Control+.");
      try {
        await this.page.waitForSelector(".action-widget .monaco-list-row", { timeout: 5000 });
        break;
      } catch (err) {
        if (attempt >= 3) {
          throw err;
        }
        await this.page.keyboard.press("Escape");
      }
    }
    await sleep(400);
    const rows = await this.page
      .locator(".action-widget .monaco-list-row:not(.group-header)")
      .allInnerTexts();
    return rows.map((t) => t.replace(/\s+/g, " ").trim()).filter((t) => t !== "");
  }

  async cursorLine() {
    const loc = this.page.locator("#status\\.editor\\.selection");
    return (await loc.count()) ? (await loc.innerText()).trim() : "";
  }

  async problemsCount() {
    const text = await this.page.locator("#status\\.problems").innerText();
    const nums = (text.match(/\d+/g) || []).map(Number);
    return { text: text.replace(/\s+/g, " ").trim(), total: nums.reduce((a, b) => a + b, 0) };
  }

  /** Throw at once when the extension reports a failed command (don't wait for a timeout). */
  async failOnErrorToast() {
    const texts = await this.notificationTexts();
    // "PhaseGate: Start Session failed: …" (not a persona named in an outcome's text)
    const bad = texts.find((t) => /PhaseGate: [^:]* failed:|did not start/.test(t));
    if (bad) {
      const err = new Error(`the extension reported: ${bad}`);
      err.fatal = true;
      throw err;
    }
  }

  async notificationTexts() {
    return (await this.page.locator(".notification-toast").allInnerTexts()).map((t) =>
      t.replace(/\s+/g, " ").trim(),
    );
  }

  /**
   * The notification that ends a command ("PhaseGate: <title>: …" with the outcome's
   * buttons, not the progress notification of the command, whose button is Cancel):
   * {text, buttons, severity}, or null while there is none.
   */
  async outcomeToast(title) {
    const toasts = await this.page.locator(".notification-toast").all();
    for (const toast of toasts) {
      // One read of one element: the toasts are found by position, and a progress
      // notification that ends while they are read gives its place to the outcome's, so
      // reading its text and its buttons apart could mix the two.
      const seen = await toast
        .evaluate((el) => ({
          text: el.innerText,
          buttons: Array.from(el.querySelectorAll(".monaco-button")).map((b) => b.innerText),
          warning: el.querySelector(".codicon-warning") !== null,
          error: el.querySelector(".codicon-error") !== null,
        }), undefined, { timeout: 1000 })
        .catch(() => null);
      if (seen === null) {
        continue;
      }
      const text = seen.text.replace(/\s+/g, " ").trim();
      if (!text.includes(`PhaseGate: ${title}`)) {
        continue;
      }
      const buttons = seen.buttons.map((b) => b.trim()).filter((b) => b !== "");
      if (buttons.length === 0 || buttons.includes("Cancel")) {
        continue;
      }
      const severity = seen.warning ? "warning" : seen.error ? "error" : "info";
      return { text, buttons, severity };
    }
    return null;
  }

  async waitOutcomeToast(title, timeoutMs = 180000) {
    const toast = await waitFor(`the outcome notification of ${title}`, () => this.outcomeToast(title), timeoutMs, 250);
    await this.waitProgressGone();
    return toast;
  }

  /** Let the command's progress notification go (it hides the outcome's while it fades). */
  async waitProgressGone() {
    const progress = this.page
      .locator(".notification-toast")
      .filter({ has: this.page.locator(".monaco-button", { hasText: /^Cancel$/ }) });
    await waitFor("the progress notification to go", async () => (await progress.count()) === 0, 5000, 100).catch(
      () => undefined,
    );
    await sleep(300);
  }

  /** Click a button of the outcome notification of `title`. */
  async clickOutcomeButton(title, label) {
    const toast = this.page
      .locator(".notification-toast")
      .filter({ hasText: `PhaseGate: ${title}` })
      .filter({ has: this.page.locator(".monaco-button", { hasText: label }) })
      .last();
    await toast.locator(".monaco-button", { hasText: label }).first().click();
  }

  /** The PhaseGate view's rows: their text and the codicon of their icon. */
  async treeRowsWithIcons() {
    const rows = await this.page.locator(".part.sidebar .monaco-list-row").all();
    const out = [];
    for (const row of rows) {
      const text = (await row.innerText().catch(() => "")).replace(/\s+/g, " ").trim();
      const icon = await row
        .locator(".custom-view-tree-node-item-icon")
        .first()
        .getAttribute("class")
        .catch(() => "");
      const m = /codicon-([a-z-~]+)/.exec(icon || "");
      out.push({ text, icon: m ? m[1] : null });
    }
    return out;
  }

  async statusItem() {
    const loc = this.page.locator(".statusbar [aria-label^='PhaseGate']").first();
    if (!(await loc.count())) {
      return null;
    }
    return (await loc.innerText()).trim();
  }

  async showPhaseGateView() {
    await this.runCommand("View: Show PhaseGate", { exact: false });
    await this.page.waitForSelector(".part.sidebar .title-label:has-text('PhaseGate')", {
      timeout: 15000,
    });
  }

  async treeRows() {
    return (
      await this.page
        .locator(".part.sidebar .monaco-list-row")
        .allInnerTexts()
    ).map((t) => t.replace(/\s+/g, " ").trim());
  }
}

// ---------------------------------------------------------------------------------------
// Scenarios

async function step(ui, name, fn, opts = {}) {
  const started = Date.now();
  log(`step: ${name}`);
  const rec = { name, ok: false, seconds: 0 };
  steps.push(rec);
  try {
    rec.detail = await fn();
    rec.ok = true;
  } catch (err) {
    rec.error = String(err && err.stack ? err.stack : err);
    log(`FAILED: ${name}: ${err && err.message ? err.message : err}`);
  } finally {
    rec.seconds = (Date.now() - started) / 1000;
    rec.screenshot = await ui.shot(name.replace(/[^A-Za-z0-9]+/g, "-").toLowerCase(), {
      media: rec.ok ? opts.media : undefined,
    });
  }
  if (!rec.ok) {
    throw new Error(`step "${name}" failed: ${rec.error}`);
  }
  return rec.detail;
}

const PALETTE_COMMANDS = [
  "PhaseGate: Start Session",
  "PhaseGate: Resume Session",
  "PhaseGate: Validate Workspace",
  "PhaseGate: Remediate",
  "PhaseGate: Rework Phase",
  "PhaseGate: Run Gates",
  "PhaseGate: Show Report",
  "PhaseGate: Stop Session",
  "PhaseGate: Restart Server",
  "PhaseGate: Show Output",
  "PhaseGate: Show Last Result",
];

async function commandsListed(ui) {
  // The contributions appear once the extension host has scanned the extension.
  let labels = [];
  await waitFor(
    "PhaseGate commands in the palette",
    async () => {
      labels = await ui.paletteLabels("PhaseGate:");
      return labels.some((l) => l.includes(PALETTE_COMMANDS[0]));
    },
    30000,
    1000,
  ).catch(() => undefined);
  const missing = PALETTE_COMMANDS.filter((c) => !labels.some((l) => l.includes(c)));
  if (missing.length > 0) {
    throw new Error(`commands missing from the palette: ${missing.join(", ")} (saw ${labels.join(" | ")})`);
  }
  await ui.shot("command-palette", { media: "command-palette" });
  await ui.closeQuickInput();
  return labels;
}

async function scenarioMissing(ui) {
  // The interpreter has no phasegate: an error with an Install button, status bar in error.
  // (The commands are listed last: Escape in the palette would hide the toast.)
  await step(ui, "server missing is reported with an install button", async () => {
    const toast = ui.page
      .locator(".notification-toast")
      .filter({ hasText: "language server is not installed" })
      .first();
    await toast.waitFor({ state: "visible", timeout: 30000 });
    const text = (await toast.innerText()).replace(/\s+/g, " ");
    if (!/Install phasegate/.test(text)) {
      throw new Error(`no Install button in: ${text}`);
    }
    return text;
  }, { media: "server-missing" });
  await step(ui, "install button opens a terminal with pip install", async () => {
    const toast = ui.page
      .locator(".notification-toast")
      .filter({ hasText: "language server is not installed" })
      .first();
    await toast.locator(".monaco-button", { hasText: "Install phasegate" }).click();
    await ui.page.waitForSelector(".terminal-wrapper, .xterm", { timeout: 20000 });
    const deadline = Date.now() + 15000;
    let text = "";
    while (Date.now() < deadline) {
      // Rows joined without breaks: a long command wraps over several rows.
      text = (await ui.page.locator(".xterm-rows > div").allInnerTexts()).join("").replace(/\s+/g, " ");
      const m = /\S*python3? -m pip install --dry-run --no-index phasegate/.exec(text);
      if (m) {
        return m[0];
      }
      await sleep(100);
    }
    throw new Error(`terminal does not show the pip command: ${text.slice(0, 500)}`);
  });
  await step(ui, "activates and lists the commands", () => commandsListed(ui));
}

async function scenarioUntrusted(ui) {
  // Restricted Mode: the commands that run workspace code explain why they are disabled.
  await step(ui, "decline trust: restricted mode", async () => {
    const dialog = ui.page.locator(".monaco-dialog-box");
    await dialog.waitFor({ state: "visible", timeout: 30000 });
    await dialog.locator(".monaco-button", { hasText: /No, I don.t trust/ }).first().click();
    await ui.page.waitForSelector(".statusbar [aria-label*='Restricted Mode'], .statusbar-item:has-text('Restricted Mode')", {
      timeout: 15000,
    });
  });
  await step(ui, "activates and lists the commands", () => commandsListed(ui));
  await step(ui, "start session explains that trust is needed", async () => {
    await ui.runCommand("PhaseGate: Start Session");
    const toast = ui.page
      .locator(".notification-toast")
      .filter({ hasText: "disabled in an untrusted workspace" })
      .first();
    await toast.waitFor({ state: "visible", timeout: 15000 });
    const text = (await toast.innerText()).replace(/\s+/g, " ");
    if (!/Manage Workspace Trust/.test(text)) {
      throw new Error(`no Manage Workspace Trust button in: ${text}`);
    }
    // No requirement input box was offered: nothing ran.
    await sleep(800);
    const asked = ui.page.locator(".quick-input-widget", { hasText: "Start Session (1/2)" });
    if (await asked.isVisible().catch(() => false)) {
      throw new Error("the requirement input box opened in an untrusted workspace");
    }
    return text;
  }, { media: "untrusted" });
}

async function scenarioSmoke(ui) {
  await step(ui, "activates and lists the commands", () => commandsListed(ui));
  await step(ui, "status bar shows PhaseGate", () =>
    waitFor("PhaseGate status bar item", () => ui.statusItem(), 30000),
  );
}

/**
 * Before the first session the extension offers a coding agent found on PATH (a modal
 * dialog); this flow goes on without it. Nothing to answer when no agent is installed.
 */
async function declineAgentOffer(ui) {
  const dialog = ui.page.locator(".monaco-dialog-box", { hasText: "can do the code phases' work" });
  const input = ui.page.locator(".quick-input-widget", { hasText: "Start Session (1/2)" });
  await waitFor(
    "the coding-agent offer or the requirement input box",
    async () =>
      (await dialog.isVisible().catch(() => false)) || (await input.isVisible().catch(() => false)),
    60000,
    200,
  );
  if (await dialog.isVisible().catch(() => false)) {
    await dialog.locator(".monaco-button", { hasText: "Continue without" }).first().click();
  }
}

/** Start Session from the palette; wait for its documents and checkpoint in `folder`. */
async function startSession(ui, folder) {
  await ui.runCommand("PhaseGate: Start Session");
  await declineAgentOffer(ui);
  await ui.quickInput(REQUIREMENT);
  await ui.quickInput(SESSION_ID);
  await waitFor(
    `docs/requirements.md and the session checkpoint in ${path.basename(folder)}`,
    async () => {
      await ui.failOnErrorToast();
      return (
        fs.existsSync(path.join(folder, "docs", "requirements.md")) &&
        fs.existsSync(path.join(folder, ".phasegate", "sessions", SESSION_ID))
      );
    },
    180000,
    500,
  );
  // The command ends with a notification of its outcome.
  const outcome = await waitFor(
    "the Start Session outcome notification",
    async () => {
      await ui.failOnErrorToast();
      return ui.outcomeToast("Start Session");
    },
    300000,
    500,
  );
  await ui.waitProgressGone();
  log(`start session outcome: ${outcome.text} [${outcome.buttons.join(" | ")}]`);
  return { docs: fs.readdirSync(path.join(folder, "docs")), outcome };
}

async function scenarioFull(ui, run) {
  await step(ui, "activates and lists the commands", () => commandsListed(ui));

  await step(ui, "server starts and the status bar shows a phase", async () => {
    const text = await waitFor(
      "PhaseGate status bar item with a score",
      async () => {
        const t = await ui.statusItem();
        return t && /\d\.\d\d|–/.test(t) ? t : null;
      },
      60000,
    );
    return text;
  });

  await step(ui, "start session from the command palette", async () => {
    const started = await startSession(ui, run.workspace);
    await ui.dismissNotifications();
    return started;
  });

  await step(ui, "requirements.md has gate squiggles", async () => {
    await ui.openFile("docs/requirements.md");
    await waitFor(
      "squiggles in docs/requirements.md",
      async () => (await ui.page.locator(".squiggly-error, .squiggly-warning, .squiggly-info").count()) > 0,
      60000,
    );
    return ui.problemsCount();
  }, { media: "squiggles" });

  const before = await ui.problemsCount();
  log(`problems before the fix: ${before.text}`);

  await step(ui, "quick fixes open with Ctrl+.", async () => {
    await ui.page.keyboard.press("Control+Home");
    const rows = await ui.quickFixesAtNextProblem();
    if (!rows.some((r) => /^(Apply fix|Rework|Suppress|Show documentation|Create)/.test(r))) {
      throw new Error(`no PhaseGate action among the quick fixes: ${rows.join(" | ")}`);
    }
    await ui.shot("quick-fixes-requirements", { media: "quick-fix-rework" });
    await ui.page.keyboard.press("Escape");
    return rows;
  });

  // A finding with its own fix: in requirements.md if it has one, else in README.md
  // (DEP-README: a missing section, fixed by adding its heading).
  let applied;
  let fixedFile;
  await step(ui, "a squiggle offers Apply fix", async () => {
    for (const file of ["docs/requirements.md", "README.md"]) {
      await ui.openFile(file);
      await ui.page.keyboard.press("Control+Home");
      const seen = new Set();
      for (let i = 0; i < 15; i++) {
        const rows = await ui.quickFixesAtNextProblem().catch(() => []);
        applied = rows.find((r) => r.startsWith("Apply fix"));
        if (applied) {
          fixedFile = file;
          return { file, rows };
        }
        await ui.page.keyboard.press("Escape");
        const key = rows.join("|") + (await ui.cursorLine());
        if (seen.has(key)) {
          break; // F8 wrapped around
        }
        seen.add(key);
      }
    }
    throw new Error("no finding with a fix in docs/requirements.md or README.md");
  }, { media: "quick-fix" });

  await step(ui, "apply the fix and save; problems drop", async () => {
    await ui.page.locator(".action-widget .monaco-list-row").filter({ hasText: applied }).first().click();
    await ui.page.locator(".action-widget .monaco-list-row").first().waitFor({ state: "hidden", timeout: 10000 });
    await sleep(500);
    await ui.page.keyboard.press("Control+S");
    const after = await waitFor(
      "the Problems count to drop",
      async () => {
        const now = await ui.problemsCount();
        return now.total < before.total ? now : null;
      },
      60000,
      500,
    );
    return { applied, file: fixedFile, before: before.text, after: after.text };
  }, { media: "problems-dropped" });

  await step(ui, "reload: the session is resumed in the PhaseGate view", async () => {
    await ui.page.reload();
    await ui.waitWorkbench();
    await ui.showPhaseGateView();
    const rows = await waitFor(
      `the session ${SESSION_ID} in the PhaseGate view`,
      async () => {
        const r = await ui.treeRows();
        return r.some((x) => x.includes(`Session ${SESSION_ID}`)) && r.some((x) => /Requirements/.test(x))
          ? r
          : null;
      },
      60000,
      500,
    );
    return rows;
  }, { media: "session-view" });

  await step(ui, "status bar shows the current phase and score", async () => {
    const text = await waitFor("status bar phase", async () => {
      const t = await ui.statusItem();
      return t && /\d\.\d\d/.test(t) ? t : null;
    }, 30000);
    return text;
  });

  await step(ui, "show report opens the HTML report in a tab", async () => {
    await ui.runCommand("PhaseGate: Show Report");
    await ui.page.waitForSelector(".tabs-container .tab:has-text('PhaseGate Report')", { timeout: 30000 });
    await ui.failOnErrorToast();
    const reports = fs.existsSync(path.join(run.workspace, ".phasegate"))
      ? fs.readdirSync(path.join(run.workspace, ".phasegate"), { recursive: true }).filter((f) => String(f).endsWith(".html"))
      : [];
    // The webview's innermost frame holds the report's own HTML.
    const title = await waitFor(
      "the report to render in the webview",
      async () => {
        for (const frame of ui.page.frames()) {
          const t = await frame.title().catch(() => "");
          if (/phasegate report/i.test(t)) {
            const body = await frame.locator("body").innerText().catch(() => "");
            return body.includes(SESSION_ID) ? t : null;
          }
        }
        return null;
      },
      30000,
      500,
    );
    return { title, reports };
  }, { media: "report" });
}

async function scenarioOutcome(ui, run) {
  // Every command ends with a message and a next step; without a session the view and
  // the status bar give each gate's verdict.
  await step(ui, "activates and lists the commands", () => commandsListed(ui));

  await step(ui, "the view marks each phase passed or failed without a session", async () => {
    await ui.showPhaseGateView();
    const rows = await waitFor(
      "Requirements passed and Design failed in the PhaseGate view",
      async () => {
        const r = await ui.treeRowsWithIcons();
        const req = r.find((x) => x.text.startsWith("Requirements"));
        const des = r.find((x) => x.text.startsWith("Design"));
        return req && des && req.icon === "pass-filled" && /passed/.test(req.text) &&
          des.icon === "error" && /failed/.test(des.text)
          ? r
          : null;
      },
      60000,
      500,
    );
    // the status bar shows the first failing phase, against the last threshold (0.85)
    const bar = await waitFor("the status bar on Design", async () => {
      const t = await ui.statusItem();
      return t && /Design .*\/0\.85/.test(t) ? t : null;
    }, 30000);
    const icon = await ui.page
      .locator(".statusbar [aria-label^='PhaseGate'] .codicon-error")
      .count();
    if (!icon) {
      throw new Error(`the status bar has no failed icon: ${bar}`);
    }
    return { rows, statusBar: bar };
  }, { media: "verdicts-no-session" });

  await step(ui, "validate workspace ends with a message", async () => {
    await ui.runCommand("PhaseGate: Validate Workspace");
    const toast = await ui.waitOutcomeToast("Validate Workspace", 120000);
    if (!/4 of 5 gates fail/.test(toast.text) || !toast.buttons.includes("Show Problems")) {
      throw new Error(`unexpected validate outcome: ${JSON.stringify(toast)}`);
    }
    await ui.shot("validate-outcome");
    await ui.dismissNotifications();
    return toast;
  });

  let outcome;
  await step(ui, "start session ends with a notification of its outcome", async () => {
    ({ outcome } = await startSession(ui, run.workspace));
    if (!/Design stalled at 0\.\d\d\/0\.\d\d/.test(outcome.text)) {
      throw new Error(`the outcome does not say where the session stopped: ${outcome.text}`);
    }
    for (const b of ["Open design.md", "Show Problems", "Resume"]) {
      if (!outcome.buttons.includes(b)) {
        throw new Error(`no ${b} button: ${outcome.buttons.join(" | ")}`);
      }
    }
    // the session waits on the design document: it is shown at once
    await ui.page.waitForSelector(".tabs-container .tab:has-text('design.md')", { timeout: 15000 });
    return outcome;
  }, { media: "outcome" });

  await step(ui, "a persona failure is a warning naming the reason", async () => {
    if (outcome.severity !== "warning") {
      throw new Error(`the outcome is ${outcome.severity}, not a warning: ${outcome.text}`);
    }
    if (!outcome.text.includes(`security_specialist failed`) || !outcome.text.includes(`No module named ${MISSING_MODULE}`)) {
      throw new Error(`the warning does not name the persona and its reason: ${outcome.text}`);
    }
    await ui.clickOutcomeButton("Start Session", "Show Output");
    const panel = await waitFor(
      "the PhaseGate output with the persona's failure",
      async () => {
        // (the output editor draws spaces as no-break spaces)
        const text = (await ui.page.locator(".part.panel").innerText().catch(() => "")).replace(/\s+/g, " ");
        return text.includes(`No module named ${MISSING_MODULE}`) ? text : null;
      },
      20000,
      500,
    );
    if (/Cancel notification for unknown message id/.test(panel)) {
      throw new Error("the output shows pygls noise");
    }
    return outcome.text;
  }, { media: "persona-failure" });

  await step(ui, "the outcome's buttons work", async () => {
    const done = {};
    // Open design.md: the document the stalled phase waits on, at its finding
    await ui.runCommand("View: Close All Editors", { exact: false });
    await waitFor(
      "no design.md tab",
      async () => (await ui.page.locator(".tabs-container .tab:has-text('design.md')").count()) === 0,
      10000,
    );
    await ui.runCommand("PhaseGate: Show Last Result");
    await ui.waitOutcomeToast("Start Session", 15000);
    await ui.clickOutcomeButton("Start Session", "Open design.md");
    await ui.page.waitForSelector(".tabs-container .tab.active:has-text('design.md')", { timeout: 15000 });
    done.openDocument = await ui.cursorLine();
    // Show Problems: the Problems panel with the findings
    await ui.runCommand("PhaseGate: Show Last Result");
    await ui.waitOutcomeToast("Start Session", 15000);
    await ui.clickOutcomeButton("Start Session", "Show Problems");
    await ui.page.waitForSelector(".markers-panel .monaco-list-row", { timeout: 15000 });
    done.showProblems = (await ui.page.locator(".markers-panel .monaco-list-row").count()) + " rows";
    await ui.shot("outcome-show-problems");
    // Resume: the session is resumed and ends with its own outcome, with a report to open
    await ui.runCommand("PhaseGate: Show Last Result");
    await ui.waitOutcomeToast("Start Session", 15000);
    await ui.clickOutcomeButton("Start Session", "Resume");
    const resumed = await ui.waitOutcomeToast("Resume Session", 120000);
    if (!/Design stalled/.test(resumed.text) || !resumed.buttons.includes("Open Report")) {
      throw new Error(`unexpected resume outcome: ${JSON.stringify(resumed)}`);
    }
    done.resume = resumed.text;
    await ui.clickOutcomeButton("Resume Session", "Open Report");
    await ui.page.waitForSelector(".tabs-container .tab:has-text('PhaseGate Report')", { timeout: 30000 });
    done.openReport = "PhaseGate Report tab";
    return done;
  }, { media: "outcome-buttons" });

  await step(ui, "the view marks each phase of the session", async () => {
    await ui.dismissNotifications();
    await ui.showPhaseGateView();
    const rows = await waitFor(
      "the session's phases with their verdicts",
      async () => {
        const r = await ui.treeRowsWithIcons();
        const req = r.find((x) => x.text.startsWith("Requirements"));
        const des = r.find((x) => x.text.startsWith("Design"));
        return r.some((x) => x.text.includes("Session e2e-demo")) &&
          req && req.icon === "pass-filled" && /completed/.test(req.text) &&
          des && des.icon === "error" && /stalled/.test(des.text)
          ? r
          : null;
      },
      30000,
      500,
    );
    return rows;
  }, { media: "verdicts-session" });
}

async function scenarioMultiRoot(ui, run) {
  // Two folders, a server each: each folder's findings are its own, and a command acts on
  // the folder of the active editor.
  await step(ui, "activates and lists the commands", () => commandsListed(ui));

  await step(ui, "each folder's server reports its folder's findings", async () => {
    await ui.runCommand("View: Focus Problems (Errors, Warnings, Infos)", { exact: false });
    const rows = await waitFor(
      "problems in both folders",
      async () => {
        const r = (await ui.page.locator(".markers-panel .monaco-list-row").allInnerTexts()).map((t) =>
          t.replace(/\s+/g, " ").trim(),
        );
        const files = r.filter((x) => /phasegate\.toml|README\.md/.test(x));
        return files.some((x) => /alpha/.test(x)) && files.some((x) => /beta/.test(x)) ? r : null;
      },
      90000,
      500,
    );
    return rows.slice(0, 12);
  }, { media: "multi-root-problems" });

  await step(ui, "start session acts on the active editor's folder", async () => {
    await ui.openFile("BETA.md");
    const beta = path.join(run.workspace, "beta");
    const alpha = path.join(run.workspace, "alpha");
    const { docs } = await startSession(ui, beta);
    await ui.dismissNotifications();
    if (fs.existsSync(path.join(alpha, "docs")) || fs.existsSync(path.join(alpha, ".phasegate", "sessions"))) {
      throw new Error("the session also touched the other folder (alpha)");
    }
    return docs;
  });

  await step(ui, "a Rework quick fix runs in the folder of its editor", async () => {
    // the server's commands are registered once for every folder: this one must reach
    // beta's server, whose session gets the persona run
    const events = path.join(run.workspace, "beta", ".phasegate", "sessions", SESSION_ID, "events.jsonl");
    const personaRuns = () =>
      fs.readFileSync(events, "utf8").split("\n").filter((l) => l.includes('"persona_started"')).length;
    const before = personaRuns();
    await ui.openFile("requirements.md");
    await ui.page.keyboard.press("Control+Home");
    let rework;
    for (let i = 0; i < 10 && !rework; i++) {
      const rows = await ui.quickFixesAtNextProblem().catch(() => []);
      rework = rows.find((r) => r.startsWith("Rework with"));
      if (!rework) {
        await ui.page.keyboard.press("Escape");
      }
    }
    if (!rework) {
      throw new Error("no Rework quick fix in beta's docs/requirements.md");
    }
    await ui.page.locator(".action-widget .monaco-list-row").filter({ hasText: rework }).first().click();
    await waitFor(
      "a persona run in beta's session",
      async () => {
        await ui.failOnErrorToast();
        return personaRuns() > before;
      },
      120000,
      500,
    );
    const alphaSessions = path.join(run.workspace, "alpha", ".phasegate", "sessions");
    if (fs.existsSync(alphaSessions) && fs.readdirSync(alphaSessions).length > 0) {
      throw new Error("the rework reached alpha");
    }
    return { rework, personaRuns: personaRuns() };
  });

  await step(ui, "the view follows the active editor's folder", async () => {
    await ui.showPhaseGateView();
    const rows = await waitFor(
      `the session ${SESSION_ID} of beta in the PhaseGate view`,
      async () => {
        const r = await ui.treeRows();
        return r.some((x) => x.includes(`Session ${SESSION_ID}`)) ? r : null;
      },
      60000,
      500,
    );
    const header = await ui.page.locator(".part.sidebar").innerText();
    if (!/beta/i.test(header)) {
      throw new Error(`the view does not name the folder beta: ${header.slice(0, 300)}`);
    }
    // alpha has no session: its editor makes the view show alpha's gates instead
    await ui.openFile("ALPHA.md");
    await waitFor(
      "the view to show alpha (no session)",
      async () => {
        const text = await ui.page.locator(".part.sidebar").innerText();
        const r = await ui.treeRows();
        return /alpha/i.test(text) && !r.some((x) => x.includes(`Session ${SESSION_ID}`)) ? r : null;
      },
      30000,
      500,
    );
    return rows;
  }, { media: "multi-root-view" });
}

/** The Problems panel, filtered on `text` (its filter box matches messages and codes). */
async function filterProblems(ui, text) {
  const panel = ui.page.locator(".part.panel");
  if (!(await panel.locator(".markers-panel").isVisible().catch(() => false))) {
    await ui.runCommand("View: Focus Problems (Errors, Warnings, Infos)", { exact: false });
    await ui.page.waitForSelector(".part.panel .markers-panel", { timeout: 15000 });
  }
  // (the Output view has a filter box too: this one's placeholder is the Problems')
  const input = ui.page.locator(".part.panel input[placeholder^='Filter (e.g. text, **/*.ts']:visible").first();
  await input.waitFor({ state: "visible", timeout: 10000 });
  // The box applies its value after a debounce: on a busy machine a fill can land while
  // the previous filter is still being applied and be put back. Fill until it holds.
  for (let attempt = 0; ; attempt++) {
    await input.fill(text);
    await sleep(200 * (attempt + 1));
    if ((await input.inputValue()) === text) break;
    if (attempt >= 4) {
      throw new Error(`the Problems filter shows "${await input.inputValue()}", not "${text}"`);
    }
  }
  await sleep(400);
  return input;
}

/** The rows of the (filtered) Problems panel, as text. */
async function problemRows(ui) {
  return (await ui.page.locator(".part.panel .markers-panel .monaco-list-row").allInnerTexts()).map((t) =>
    t.replace(/\s+/g, " ").trim(),
  );
}

/** The problem rows of check `id` (its code, drawn as "phasegate(ID)", is a .marker-code). */
function problemRowsOf(ui, id) {
  const code = ui.page.locator(".marker-code", { hasText: new RegExp(`^${id}$`) });
  return ui.page.locator(".part.panel .markers-panel .monaco-list-row").filter({ has: code });
}

/** The codes of the problem rows shown. */
async function problemCodes(ui) {
  return (await ui.page.locator(".part.panel .markers-panel .monaco-list-row .marker-code").allInnerTexts()).map((t) =>
    t.trim(),
  );
}

/**
 * Go to a problem of check `id` (Problems filtered on it, its row, Enter: the editor at
 * the problem, focused) and press Ctrl+.: the labels of the code actions offered.
 */
async function actionsOfProblem(ui, id) {
  const text = await goToProblem(ui, id);
  for (let attempt = 1; ; attempt++) {
    await ui.page.keyboard.press("Control+.");
    try {
      await ui.page.waitForSelector(".action-widget .monaco-list-row", { timeout: 5000 });
      break;
    } catch (err) {
      if (attempt >= 3) {
        throw new Error(`no code action menu on the ${id} problem "${text}": ${err.message}`);
      }
      await ui.page.keyboard.press("Escape");
    }
  }
  await sleep(400);
  const actions = (await ui.page.locator(".action-widget .monaco-list-row:not(.group-header)").allInnerTexts())
    .map((t) => t.replace(/\s+/g, " ").trim())
    .filter((t) => t !== "");
  return { problem: text, actions };
}

/** Open the first problem of check `id` from the Problems panel: its editor, focused, at the problem. */
async function goToProblem(ui, id) {
  await ui.page.keyboard.press("Escape");
  await filterProblems(ui, id);
  const row = problemRowsOf(ui, id).first();
  await row.waitFor({ state: "visible", timeout: 30000 });
  const text = (await row.innerText()).replace(/\s+/g, " ").trim();
  // (on the message's first words: a short message leaves the code's link, which opens
  // the documentation, mid-row; the row's lightbulb, left of the message, shows fixes)
  await row.click({ position: { x: 100, y: 10 } });
  await ui.page.keyboard.press("Enter");
  await ui.page.waitForSelector(".editor-instance .monaco-editor.focused", { timeout: 10000 });
  await sleep(300);
  return text;
}

/** The frame of the documentation webview showing `id`'s section, or null. */
async function docsSection(ui, id) {
  for (const frame of ui.page.frames()) {
    const title = await frame.title().catch(() => "");
    if (!/checks reference/i.test(title)) {
      continue;
    }
    const found = await frame
      .evaluate((anchor) => {
        const h = document.querySelector(".phasegate-target");
        const a = document.getElementById(anchor);
        if (!h || !a) {
          return null;
        }
        const r = h.getBoundingClientRect();
        return { heading: h.textContent, top: r.top, bottom: r.bottom, height: window.innerHeight };
      }, id.toLowerCase())
      .catch(() => null);
    // the section's heading, marked, in view (scrolled to)
    if (found && found.heading.startsWith(id) && found.bottom > 0 && found.top < found.height / 2) {
      return found;
    }
  }
  return null;
}

async function scenarioActions(ui, run) {
  // Every check of the default pipeline has a finding here, with no session (the
  // workspace comes from tests/test_code_actions_every_check.py).
  const ids = String(args.checks || "").split(",").filter(Boolean);
  if (ids.length === 0) {
    throw new Error("--checks lists no check id");
  }

  await step(ui, "validate runs every check", async () => {
    await waitFor("the PhaseGate status bar item", () => ui.statusItem(), 60000);
    await ui.runCommand("PhaseGate: Validate Workspace");
    const toast = await ui.waitOutcomeToast("Validate Workspace", 240000);
    await ui.dismissNotifications();
    return toast.text;
  });

  const seen = {};
  await step(ui, "Ctrl+. on a problem of every check lists its actions", async () => {
    const failed = [];
    for (const id of ids) {
      try {
        const got = await actionsOfProblem(ui, id);
        seen[id] = got;
        // the menu is this check's: its documentation, and its suppression (or, for a
        // missing file, its creation)
        const docs = got.actions.includes(`Show documentation of ${id}`);
        const act = got.actions.some((a) => a === `Suppress ${id} on this line` || a.startsWith("Create "));
        if (!docs || !act) {
          failed.push(`${id}: not its actions: ${got.actions.join(" | ")}`);
        }
        // the menu of each check, in artifacts/ (IMPL-STUB's in the README too)
        await ui.shot(`actions-${id.toLowerCase()}`, id === "IMPL-STUB" ? { media: "quick-fix-every-check" } : {});
      } catch (err) {
        failed.push(`${id}: ${err.message}`);
        await ui.shot(`actions-failed-${id.toLowerCase()}`);
      }
      await ui.page.keyboard.press("Escape");
    }
    if (failed.length > 0) {
      throw new Error(`checks without an action:\n${failed.join("\n")}`);
    }
    return seen;
  });

  await step(ui, "uncovered lines are coverage marks, not problems", async () => {
    await filterProblems(ui, "not covered by the tests");
    const rows = await problemRows(ui);
    if (rows.some((r) => /not covered by the tests/.test(r))) {
      throw new Error(`uncovered lines are listed as problems: ${rows.join(" | ")}`);
    }
    // app.py (at its coverage summary, which is a problem): its uncovered lines are
    // marked in the gutter with the extension's icon, and the hover says why
    const summary = await goToProblem(ui, "TEST-COVERAGE");
    await filterProblems(ui, "");
    const marks = await waitFor(
      "the uncovered lines marked in app.py's gutter",
      async () => {
        const found = await ui.page.evaluate(() => {
          const out = [];
          for (const el of document.querySelectorAll(".editor-instance .monaco-editor .margin *")) {
            if (/coverage-uncovered/.test(getComputedStyle(el).backgroundImage)) {
              const r = el.getBoundingClientRect();
              out.push({ top: r.top, height: r.height });
            }
          }
          return out.sort((a, b) => a.top - b.top);
        });
        return found.length > 0 ? found : null;
      },
      60000,
      500,
    );
    // the hover of a marked line says what it is
    const last = marks[marks.length - 1];
    const text = await ui.page.locator(".editor-instance .monaco-editor .view-lines").first().boundingBox();
    await ui.page.mouse.move(text.x + 90, last.top + last.height / 2);
    const hover = await waitFor(
      "the hover of an uncovered line",
      async () => {
        // (the hover's Markdown draws spaces as no-break spaces)
        const shown = ui.page.getByText(/not\scovered\sby\sthe\stests\s\(TEST-COVERAGE\)/).first();
        return (await shown.isVisible().catch(() => false)) ? (await shown.innerText()).replace(/\s+/g, " ").trim() : null;
      },
      15000,
      300,
    );
    // nor squiggles: a hint would be drawn as dots under the code (nothing else in
    // app.py is a hint here)
    const hints = await ui.page.locator(".editor-instance .monaco-editor .squiggly-hint").count();
    if (hints > 0) {
      throw new Error(`${hints} hint squiggles in app.py: uncovered lines are drawn as diagnostics`);
    }
    return { summary, marks: marks.length, hover };
  }, { media: "coverage-gutter" });

  await step(ui, "Show documentation renders the check's section", async () => {
    const got = await actionsOfProblem(ui, "IMPL-STUB");
    const label = got.actions.find((a) => a.startsWith("Show documentation of IMPL-STUB"));
    if (!label) {
      throw new Error(`no Show documentation action: ${got.actions.join(" | ")}`);
    }
    await ui.page.locator(".action-widget .monaco-list-row").filter({ hasText: label }).first().click();
    await ui.page.waitForSelector(".tabs-container .tab:has-text('IMPL-STUB')", { timeout: 30000 });
    const section = await waitFor("the IMPL-STUB section in the webview", () => docsSection(ui, "IMPL-STUB"), 30000, 500);
    // never the raw file
    if ((await ui.page.locator(".tabs-container .tab:has-text('checks.html')").count()) > 0) {
      throw new Error("checks.html was opened as a file");
    }
    return section;
  }, { media: "docs-webview" });

  await step(ui, "the check id in a hover opens its documentation", async () => {
    await ui.runCommand("View: Close All Editors", { exact: false });
    await actionsOfProblem(ui, "IMPL-LINT");
    await ui.page.keyboard.press("Escape");
    await ui.runCommand("Show or Focus Hover", { exact: false });
    const link = ui.page.locator(".monaco-hover a, .monaco-hover .code-link").filter({ hasText: "IMPL-LINT" }).first();
    await link.waitFor({ state: "visible", timeout: 15000 });
    const href = await link.getAttribute("href").catch(() => null);
    await ui.shot("hover-code-link");
    await link.click();
    const section = await waitFor("the IMPL-LINT section in the webview", () => docsSection(ui, "IMPL-LINT"), 30000, 500);
    return { href, section };
  });

  await step(ui, "the check id in the Problems panel opens its documentation", async () => {
    await ui.runCommand("View: Close All Editors", { exact: false });
    await filterProblems(ui, "REQ-IDS");
    const row = problemRowsOf(ui, "REQ-IDS").first();
    await row.waitFor({ state: "visible", timeout: 15000 });
    const link = row.locator("a").filter({ hasText: "REQ-IDS" }).first();
    const href = await link.getAttribute("href").catch(() => null);
    await link.click();
    const section = await waitFor("the REQ-IDS section in the webview", () => docsSection(ui, "REQ-IDS"), 30000, 500);
    return { href, section };
  });

  await step(ui, "Suppress on this line clears the problem", async () => {
    await ui.runCommand("View: Close All Editors", { exact: false });
    const got = await actionsOfProblem(ui, "IMPL-STUB");
    const label = "Suppress IMPL-STUB on this line";
    if (!got.actions.includes(label)) {
      throw new Error(`no "${label}": ${got.actions.join(" | ")}`);
    }
    await ui.page.locator(".action-widget .monaco-list-row").filter({ hasText: label }).first().click();
    await ui.page.locator(".action-widget").first().waitFor({ state: "hidden", timeout: 10000 }).catch(() => undefined);
    await sleep(300);
    await ui.page.keyboard.press("Control+S");
    await filterProblems(ui, "IMPL-STUB");
    await waitFor(
      "IMPL-STUB to leave the Problems panel",
      async () => !(await problemCodes(ui)).includes("IMPL-STUB"),
      60000,
      500,
    );
    const text = fs.readFileSync(path.join(run.workspace, "app.py"), "utf8");
    if (!text.includes("# phasegate: ignore[IMPL-STUB]")) {
      throw new Error(`app.py has no suppression comment:\n${text}`);
    }
    return { problem: got.problem, rows: await problemRows(ui) };
  });
}

// ---------------------------------------------------------------------------------------

async function main() {
  if (!CODE_SERVER || !fs.existsSync(CODE_SERVER)) {
    throw new Error("PHASEGATE_E2E_CODE_SERVER is not set or missing: run scripts/install-e2e-deps.sh");
  }
  if (!fs.existsSync(VSIX)) {
    throw new Error(`no .vsix at ${VSIX}: run npm run package in vscode-client`);
  }
  fs.rmSync(ARTIFACTS, { recursive: true, force: true });
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const run = makeRun();
  log(`scenario ${SCENARIO}; run folder ${run.base}; python ${PYTHON}`);
  if (args.workspace) {
    // a workspace the test prepared (and reads afterwards): used in place
    run.workspace = path.resolve(args.workspace);
  } else {
    writeWorkspace(run);
  }
  if (SCENARIO === "outcome") {
    writeOutcomeWorkspace(run);
  }
  const multiRootFile = SCENARIO === "multiroot" ? writeMultiRoot(run) : null;
  if (SCENARIO === "missing") {
    // An interpreter without phasegate; the install button must not change this machine,
    // so pip only resolves offline (--dry-run --no-index).
    writeUserSettings(run, args["missing-python"] || "/usr/bin/python3", {
      "phasegate.server.installSpec": "--dry-run --no-index phasegate",
    });
  } else if (SCENARIO === "untrusted") {
    writeUserSettings(run, PYTHON, {
      "security.workspace.trust.enabled": true,
      "security.workspace.trust.startupPrompt": "always",
    });
  } else {
    writeUserSettings(run, PYTHON);
  }

  let server;
  let browser;
  let ok = false;
  const consoleLines = [];
  try {
    const installed = installExtension(run);
    log(`installed ${installed}`);
    server = await startCodeServer(run);
    log(`code-server pid ${server.child.pid} on port ${server.port}`);

    const { chromium } = loadPlaywright();
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
      env: run.env,
      timeout: 60000,
    });
    const context = await browser.newContext({ viewport: { width: 1400, height: 860 } });
    const page = await context.newPage();
    page.on("console", (m) => consoleLines.push(`[${m.type()}] ${m.text()}`));
    page.setDefaultTimeout(30000);
    const ui = new Ui(page);
    const target = multiRootFile
      ? `workspace=${encodeURIComponent(multiRootFile)}`
      : `folder=${encodeURIComponent(run.workspace)}`;
    await page.goto(`http://127.0.0.1:${server.port}/?${target}`);
    await step(ui, "workbench loads", async () => {
      await ui.waitWorkbench();
      await ui.closeSecondarySideBar();
      await ui.widenSideBar();
    });
    if (SCENARIO === "full") {
      await scenarioFull(ui, run);
    } else if (SCENARIO === "smoke") {
      await scenarioSmoke(ui);
    } else if (SCENARIO === "missing") {
      await scenarioMissing(ui);
    } else if (SCENARIO === "untrusted") {
      await scenarioUntrusted(ui);
    } else if (SCENARIO === "multiroot") {
      await scenarioMultiRoot(ui, run);
    } else if (SCENARIO === "outcome") {
      await scenarioOutcome(ui, run);
    } else if (SCENARIO === "actions") {
      await scenarioActions(ui, run);
    } else {
      throw new Error(`unknown scenario ${SCENARIO}`);
    }
    ok = true;
  } catch (err) {
    log(`ERROR: ${err && err.message ? err.message : err}`);
  } finally {
    fs.writeFileSync(path.join(ARTIFACTS, "browser-console.log"), consoleLines.join("\n"));
    if (browser) {
      await browser.close().catch(() => undefined);
    }
    if (server) {
      await stopProcessGroup(server.child);
    }
    copyLogs(run);
    fs.writeFileSync(
      path.join(ARTIFACTS, "results.json"),
      JSON.stringify({ scenario: SCENARIO, ok, seconds: (Date.now() - t0) / 1000, steps }, null, 2),
    );
    if (!KEEP) {
      fs.rmSync(run.base, { recursive: true, force: true });
    }
  }
  const passed = steps.filter((s) => s.ok).length;
  log(`${passed} passed, ${steps.length - passed} failed (scenario ${SCENARIO}, ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  process.exitCode = ok ? 0 : 1;
}

function copyLogs(run) {
  // The PhaseGate output channel and the extension host logs, for diagnosis.
  const logs = path.join(run.user, "logs");
  if (!fs.existsSync(logs)) {
    return;
  }
  const dest = path.join(ARTIFACTS, "vscode-logs");
  try {
    fs.cpSync(logs, dest, { recursive: true });
  } catch (err) {
    log(`copying logs failed: ${err}`);
  }
  if (fs.existsSync(run.workspace)) {
    try {
      fs.cpSync(run.workspace, path.join(ARTIFACTS, "workspace"), { recursive: true });
    } catch {
      // best effort
    }
  }
}

main().catch((err) => {
  log(`fatal: ${err && err.stack ? err.stack : err}`);
  process.exitCode = 1;
});
