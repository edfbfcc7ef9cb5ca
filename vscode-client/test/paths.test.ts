import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { test } from "node:test";

import { folderSelector } from "../src/paths";

// the minimatch the language client matches pulled diagnostics with
const requireHere = createRequire(__filename);
const clientDir = requireHere.resolve("vscode-languageclient/node");
const { Minimatch } = createRequire(clientDir)("minimatch") as {
  Minimatch: new (pattern: string, options: object) => { match(path: string): boolean };
};

function matches(dir: string, file: string): boolean {
  return folderSelector(dir, true).some(
    (f) => f.pattern === undefined || new Minimatch(f.pattern, { noext: true }).match(file),
  );
}

test("one folder: every file document", () => {
  assert.deepEqual(folderSelector("/w/app", false), [{ scheme: "file" }]);
});

test("several folders: a folder's files at any depth, dot folders too, nothing else", () => {
  assert.equal(folderSelector("/w/app/", true)[0].pattern, "/w/app/**/*");
  for (const file of [
    "/w/app/README.md",
    "/w/app/src/pkg/mod.py",
    "/w/app/.github/workflows/ci.yml",
    "/w/app/.kiro/specs/login/requirements.md",
    "/w/app/.coveragerc",
    "/w/app/docs/.hidden",
  ]) {
    assert.ok(matches("/w/app", file), file);
  }
  assert.ok(!matches("/w/app", "/w/app2/README.md"));
  assert.ok(!matches("/w/app", "/w/other/app/README.md"));
  assert.ok(!matches("/w/app", "/w/.app/x.py"));
});

test("glob characters in the folder's path match themselves", () => {
  for (const dir of ["/w/a[1]", "/w/star*", "/w/what?", "/w/sp ace"]) {
    assert.ok(matches(dir, `${dir}/docs/requirements.md`), dir);
    assert.ok(matches(dir, `${dir}/.github/workflows/ci.yml`), dir);
  }
  assert.ok(!matches("/w/star*", "/w/starry/docs/requirements.md"));
  assert.ok(!matches("/w/what?", "/w/whats/x.py"));
  assert.ok(!matches("/w/a[1]", "/w/a1/x.py"));
});

test("braces in the path: every file document, the server sorts them out", () => {
  assert.deepEqual(folderSelector("/w/{x,y}", true), [{ scheme: "file" }]);
});

test("Windows paths use forward slashes", () => {
  assert.equal(folderSelector("C:\\work\\app", true)[0].pattern, "C:/work/app/**/*");
});
