import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { test } from "node:test";

import { findBundledServer, importStrategy, probeArgs, serveArgs } from "../src/bundled";

function extensionRoot(withLibs: boolean): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "pg-ext-"));
  fs.mkdirSync(path.join(root, "bundled", "tool"), { recursive: true });
  fs.writeFileSync(path.join(root, "bundled", "tool", "phasegate_server.py"), "");
  if (withLibs) {
    fs.mkdirSync(path.join(root, "bundled", "libs"));
    fs.writeFileSync(path.join(root, "bundled", "libs", "bundle.json"), "{}");
  }
  return root;
}

test("the strategy defaults to useBundled", () => {
  assert.equal(importStrategy(undefined), "useBundled");
  assert.equal(importStrategy("useBundled"), "useBundled");
  assert.equal(importStrategy("fromEnvironment"), "fromEnvironment");
  assert.equal(importStrategy("nonsense"), "useBundled");
});

test("a package without bundled/libs has no bundled server", () => {
  assert.equal(findBundledServer(extensionRoot(false)), undefined);
});

test("a bundled server runs its launcher, which puts bundled/libs first", () => {
  const root = extensionRoot(true);
  const bundled = findBundledServer(root);
  assert.ok(bundled);
  const launcher = path.join(root, "bundled", "tool", "phasegate_server.py");
  assert.deepEqual(bundled, { launcher, libs: path.join(root, "bundled", "libs") });
  assert.deepEqual(serveArgs(bundled), [launcher]);
  assert.deepEqual(probeArgs(bundled), [launcher, "--probe"]);
});

test("from the environment: python -m phasegate serve", () => {
  assert.deepEqual(serveArgs(null), ["-m", "phasegate", "serve"]);
  const probe = probeArgs(null);
  assert.equal(probe[0], "-c");
  assert.match(probe[1], /import phasegate/);
});
