#!/usr/bin/env node
// Sums the results of both test runners into one line, printed last: `N passed, N failed`.
//
//   node .ci/summary.mjs <dir>
//
// <dir> holds what `npm run test:ci` wrote:
//   forge.json   stdout of `forge test --json`: one object keyed by "path:Contract", each with
//                test_results: { "<test>()": { status: "Success" | "Failure" | "Skipped", reason } }
//   vitest.json  vitest's JSON reporter output (jest-style counts plus testResults per file)
//   forge.exit, vitest.exit  the runners' exit codes (optional)
//
// A runner that left no parsable output, or exited non-zero without reporting a failed test, has
// crashed (compile error, config error, killed): that counts as one failure, never as a pass.
// Exits 1 when anything failed. Plain JS, no dependencies: it runs on Node 20 or 24.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

const dir = process.argv[2];
if (!dir) {
  process.stderr.write('usage: node .ci/summary.mjs <dir with forge.json and vitest.json>\n');
  process.exit(2);
}

const notes = [];

/** Parsed JSON of `<dir>/<name>.json`, or undefined (with a note) when missing or broken. */
function readJson(name) {
  const file = path.join(dir, `${name}.json`);
  if (!existsSync(file)) {
    notes.push(`${name}: crashed, no ${file} was written`);
    return undefined;
  }
  const text = readFileSync(file, 'utf8').trim();
  if (text === '') {
    notes.push(`${name}: crashed, ${file} is empty (see the runner's output above)`);
    return undefined;
  }
  try {
    return JSON.parse(text);
  } catch {
    // Some forge versions print one JSON object per suite, one per line: merge them.
    try {
      return Object.assign(
        {},
        ...text
          .split('\n')
          .filter(Boolean)
          .map((line) => JSON.parse(line)),
      );
    } catch (err) {
      notes.push(`${name}: crashed, ${file} is not JSON (${err.message})`);
      return undefined;
    }
  }
}

/** Exit code recorded in `<dir>/<name>.exit`, or undefined if not recorded. */
function readExit(name) {
  const file = path.join(dir, `${name}.exit`);
  if (!existsSync(file)) return undefined;
  const code = Number(readFileSync(file, 'utf8').trim());
  return Number.isInteger(code) ? code : undefined;
}

function forgeCounts(json) {
  let passed = 0;
  let failed = 0;
  for (const [suite, result] of Object.entries(json)) {
    for (const [test, outcome] of Object.entries(result?.test_results ?? {})) {
      if (outcome?.status === 'Success') passed++;
      else if (outcome?.status === 'Failure') {
        failed++;
        notes.push(`forge: FAIL ${suite} ${test}${outcome.reason ? `: ${outcome.reason}` : ''}`);
      }
    }
  }
  return { passed, failed };
}

function vitestCounts(json) {
  const passed = Number(json.numPassedTests ?? 0);
  let failed = Number(json.numFailedTests ?? 0);
  for (const file of json.testResults ?? []) {
    const rel = path.relative(process.cwd(), file.name ?? '?');
    const failedTests = (file.assertionResults ?? []).filter((t) => t.status === 'failed');
    for (const t of failedTests) notes.push(`vitest: FAIL ${rel} > ${t.fullName}`);
    // A file that failed without a failed test (import error, broken beforeAll) is one failure.
    if (file.status === 'failed' && failedTests.length === 0) {
      failed++;
      notes.push(`vitest: FAIL ${rel}: ${(file.message ?? '').split('\n')[0] || 'suite failed'}`);
    }
  }
  return { passed, failed, success: json.success !== false };
}

let passed = 0;
let failed = 0;

for (const runner of ['forge', 'vitest']) {
  const json = readJson(runner);
  if (json === undefined) {
    failed++;
    continue;
  }
  const counts = runner === 'forge' ? forgeCounts(json) : vitestCounts(json);
  passed += counts.passed;
  failed += counts.failed;
  const exit = readExit(runner);
  const unexplained = counts.failed === 0 && ((exit !== undefined && exit !== 0) || counts.success === false);
  if (unexplained) {
    failed++;
    notes.push(
      `${runner}: exited ${exit ?? 'unsuccessfully'} without a failed test (crash or unhandled error)`,
    );
  }
}

for (const note of notes) process.stdout.write(`${note}\n`);
process.stdout.write(`${passed} passed, ${failed} failed\n`);
process.exit(failed > 0 ? 1 : 0);
