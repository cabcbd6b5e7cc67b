#!/usr/bin/env node
// Standard-JSON front end for solc-js, so forge can compile without a native
// solc (none can be downloaded here). forge calls it two ways:
//   solc.mjs --version
//   solc.mjs --allow-paths .. --base-path <dir> --standard-json   (input on stdin)
// solc-js's own CLI rejects --allow-paths, so this wrapper calls solc.compile
// directly and resolves any import forge did not inline from --base-path.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
const solc = require('solc');
const args = process.argv.slice(2);

if (args.includes('--version')) {
  process.stdout.write(`solc, the solidity compiler commandline interface\nVersion: ${solc.version()}\n`);
  process.exit(0);
}

if (!args.includes('--standard-json')) {
  process.stderr.write('solc.mjs: only --version and --standard-json are supported (it is forge\'s compiler wrapper)\n');
  process.exit(2);
}

const basePathIndex = args.indexOf('--base-path');
const basePath = basePathIndex >= 0 ? args[basePathIndex + 1] : process.cwd();

function findImport(importPath) {
  for (const candidate of [path.resolve(basePath, importPath), path.resolve(process.cwd(), importPath)]) {
    try {
      return { contents: readFileSync(candidate, 'utf8') };
    } catch {
      // try the next root
    }
  }
  return { error: `File not found: ${importPath}` };
}

const input = readFileSync(0, 'utf8');
process.stdout.write(solc.compile(input, { import: findImport }));
