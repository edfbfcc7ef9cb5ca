// Vendor the phasegate language server into bundled/libs, for `npm run package:bundled`.
//
//   node scripts/bundle-server.mjs [--python PY] [--wheel FILE]
//
// Builds phasegate's wheel from this repository (`python -m build`, or takes FILE) and
// installs it with its dependencies into bundled/libs (`pip install --target`), with the
// interpreter PY (default: $PYTHON, else python3; python on Windows). Some dependencies
// are compiled (pydantic-core, watchfiles, ruff's binary), so the bundle runs only with
// the Python version and platform it was built with: bundled/libs/bundle.json names them,
// and bundled/tool/phasegate_server.py refuses another interpreter, which makes the
// extension fall back to phasegate from the interpreter's environment.
//
// `npm run package` leaves bundled/libs out of the .vsix (.vscodeignore);
// `npm run package:bundled` packs it (.vscodeignore-bundled).

import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

const CLIENT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const REPO = path.resolve(CLIENT, "..");
const LIBS = path.join(CLIENT, "bundled", "libs");

function option(name) {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function run(cmd, args) {
  console.log(`$ ${[cmd, ...args].join(" ")}`);
  execFileSync(cmd, args, { stdio: "inherit" });
}

function capture(cmd, args) {
  return execFileSync(cmd, args, { encoding: "utf8" }).trim();
}

/** A script that pip wrote into bin/ (a `#!` wrapper naming the build's interpreter). */
function isScriptWrapper(file) {
  const fd = fs.openSync(file, "r");
  try {
    const head = Buffer.alloc(2);
    return fs.readSync(fd, head, 0, 2, 0) === 2 && head.toString("latin1") === "#!";
  } finally {
    fs.closeSync(fd);
  }
}

const python =
  option("--python") || process.env.PYTHON || (process.platform === "win32" ? "python" : "python3");
let wheel = option("--wheel");
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "phasegate-bundle-"));
try {
  if (!wheel) {
    // sdist, then the wheel from the sdist: nothing stale from an in-tree build/ gets in
    try {
      capture(python, ["-c", "import build"]);
    } catch {
      throw new Error(`${python} has no 'build' module: ${python} -m pip install build`);
    }
    run(python, ["-m", "build", "--outdir", scratch, REPO]);
    const built = fs.readdirSync(scratch).filter((f) => /^phasegate-.*\.whl$/.test(f));
    if (built.length !== 1) {
      throw new Error(`expected one phasegate wheel in ${scratch}, found: ${built.join(", ")}`);
    }
    wheel = path.join(scratch, built[0]);
  }
  fs.rmSync(LIBS, { recursive: true, force: true });
  run(python, [
    "-m",
    "pip",
    "install",
    "--disable-pip-version-check",
    "--no-compile",
    "--target",
    LIBS,
    path.resolve(wheel),
  ]);
  // Console scripts name the interpreter they were installed with: of bin/ only the
  // programs (ruff's binary, found by ruff.find_ruff_bin next to the packages) are kept.
  const bin = path.join(LIBS, "bin");
  if (fs.existsSync(bin)) {
    for (const name of fs.readdirSync(bin)) {
      const file = path.join(bin, name);
      if (fs.statSync(file).isFile() && isScriptWrapper(file)) {
        fs.rmSync(file);
      }
    }
  }
  const tags = JSON.parse(
    capture(python, [
      "-c",
      "import json, sys, sysconfig; print(json.dumps({'cache_tag': sys.implementation.cache_tag," +
        " 'platform': sysconfig.get_platform(), 'python': sys.version.split()[0]}))",
    ]),
  );
  const manifest = { phasegate: path.basename(wheel), ...tags };
  fs.writeFileSync(path.join(LIBS, "bundle.json"), JSON.stringify(manifest, null, 2) + "\n");
  console.log(`bundled ${manifest.phasegate} for ${tags.cache_tag} on ${tags.platform} in ${LIBS}`);
} finally {
  fs.rmSync(scratch, { recursive: true, force: true });
}
