// Bundle the extension into dist/extension.js (vscode stays external).
import * as esbuild from "esbuild";

const production = process.argv.includes("--production");
const watch = process.argv.includes("--watch");

const options = {
  entryPoints: ["src/extension.ts"],
  bundle: true,
  format: "cjs",
  platform: "node",
  target: "node18",
  outfile: "dist/extension.js",
  external: ["vscode"],
  sourcemap: !production,
  minify: production,
  logLevel: "info",
};

if (process.argv.includes("--tests")) {
  // Unit tests of the modules that do not import vscode, run by node --test.
  await esbuild.build({
    entryPoints: ["test/*.test.ts"],
    bundle: true,
    format: "cjs",
    platform: "node",
    target: "node18",
    outdir: "out/test",
    logLevel: "warning",
  });
} else if (watch) {
  const ctx = await esbuild.context(options);
  await ctx.watch();
} else {
  await esbuild.build(options);
}
