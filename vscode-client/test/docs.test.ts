import assert from "node:assert/strict";
import { test } from "node:test";

import {
  checkOfHandlerUri,
  commandUri,
  docsHandlerUri,
  localDocsPage,
  pageDirectory,
  renderDocsHtml,
  siblingPage,
} from "../src/docs";

const CHECKS = "file:///venv/lib/python3.11/site-packages/phasegate/reference/checks.html";

test("a rendered local page is shown by the extension; web pages and Markdown are not", () => {
  assert.deepEqual(localDocsPage(`${CHECKS}#impl-stub`), { page: CHECKS, anchor: "impl-stub" });
  assert.deepEqual(localDocsPage(CHECKS), { page: CHECKS, anchor: "" });
  assert.deepEqual(localDocsPage("file:///a%20b/reference/configuration.htm#x"), {
    page: "file:///a%20b/reference/configuration.htm",
    anchor: "x",
  });
  assert.equal(localDocsPage("https://docs.example.org/checks/#impl-stub"), null);
  assert.equal(localDocsPage("file:///venv/phasegate/reference/checks.md#impl-stub"), null);
  assert.equal(localDocsPage("not a uri"), null);
  assert.equal(pageDirectory(CHECKS), "file:///venv/lib/python3.11/site-packages/phasegate/reference/");
});

test("the code link goes to the extension's URI handler and back", () => {
  const uri = docsHandlerUri("code-oss", "phasegate.phasegate", "IMPL-STUB");
  assert.equal(uri, "code-oss://phasegate.phasegate/docs?check=IMPL-STUB");
  const parsed = new URL(uri);
  assert.equal(checkOfHandlerUri(parsed.pathname, parsed.search.slice(1)), "IMPL-STUB");
  assert.equal(checkOfHandlerUri("/docs/", "check=config"), "config");
  assert.equal(checkOfHandlerUri("/other", "check=IMPL-STUB"), null);
  assert.equal(checkOfHandlerUri("/docs", ""), null);
  assert.equal(checkOfHandlerUri("/docs", "check=../../etc/passwd%00"), null);
});

test("links to the other reference page become commands; others stay", () => {
  const dir = pageDirectory(CHECKS);
  assert.deepEqual(siblingPage(dir, "configuration.html#checks"), {
    page: `${dir}configuration.html`,
    anchor: "checks",
  });
  assert.equal(siblingPage(dir, "#req-ids"), null);
  assert.equal(siblingPage(dir, "https://example.org/x.html"), null);
  assert.equal(siblingPage(dir, "../../secret.html"), null);
  assert.equal(siblingPage(dir, "/etc/x.html"), null);
  assert.equal(
    commandUri("phasegate.docs.openPage", { page: "p", anchor: "a" }),
    `command:phasegate.docs.openPage?${encodeURIComponent('[{"page":"p","anchor":"a"}]')}`,
  );
});

test("the page is rendered with a strict CSP, its links rewritten, and a script that scrolls to the section", () => {
  const page = [
    "<!DOCTYPE html><html><head><title>Checks reference — phasegate</title></head><body>",
    '<p>See <a href="configuration.html#x">configuration</a>, <a href="#impl-stub">IMPL-STUB</a>',
    ' and <a href="https://example.org/">the site</a>.</p>',
    "<script>alert(1)</script>",
    '<p><a id="impl-stub"></a></p>',
    "<h2>IMPL-STUB — No stubs</h2>",
    "</body></html>",
  ].join("\n");
  const out = renderDocsHtml(page, {
    cspSource: "vscode-webview://abc",
    nonce: "N0NCE",
    anchor: "impl-stub",
    linkFor: (href) => (href.startsWith("configuration.html") ? "command:open?x&y" : null),
  });
  assert.match(out, /<head><meta http-equiv="Content-Security-Policy" content="default-src 'none'; [^"]*script-src 'nonce-N0NCE';">/);
  assert.doesNotMatch(out, /alert\(1\)/);
  assert.match(out, /<a href="command:open\?x&amp;y">configuration<\/a>/);
  assert.match(out, /<a href="#impl-stub">IMPL-STUB<\/a>/);
  assert.match(out, /<a href="https:\/\/example.org\/">the site<\/a>/);
  const scripts = out.match(/<script\b[^>]*>/g) ?? [];
  assert.deepEqual(scripts, ['<script nonce="N0NCE">']);
  assert.match(out, /var id = "impl-stub";[\s\S]*scrollIntoView[\s\S]*<\/script><\/body>/);
  // an anchor cannot break out of the script
  const evil = renderDocsHtml("<body></body>", {
    cspSource: "c",
    nonce: "n",
    anchor: '"</script><script>alert(1)</script>',
    linkFor: () => null,
  });
  assert.equal((evil.match(/<script\b/g) ?? []).length, 1);
});
