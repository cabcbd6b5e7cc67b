#!/usr/bin/env node
// Runs a Foundry tool (forge, cast, anvil) from the npm platform package and exits with ITS status.
//
// Why: the npm launcher (node_modules/.bin/forge -> @foundry-rs/forge/bin.mjs, 1.7.1) spawns the
// native binary but never forwards its exit code, so `forge test` and `forge fmt --check` "succeed"
// even when tests fail or files are unformatted. npm scripts and CI therefore call
//   node contracts/tools/foundry.mjs forge test ...
// Plain JS so that it runs on any Node (CI's system node as well as the pinned v24).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { constants } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const TOOLS = ['forge', 'cast', 'anvil', 'chisel'];
const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Absolute path of the native binary of `tool`, or undefined when its platform package is absent. */
export function foundryBinary(tool) {
  const arch = process.arch === 'x64' ? 'amd64' : process.arch;
  const exe = process.platform === 'win32' ? `${tool}.exe` : tool;
  try {
    const file = require.resolve(`@foundry-rs/${tool}-${process.platform}-${arch}/bin/${exe}`, { paths: [root] });
    return existsSync(file) ? file : undefined;
  } catch {
    return undefined;
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [tool, ...args] = process.argv.slice(2);
  if (!TOOLS.includes(tool)) {
    process.stderr.write(`usage: node contracts/tools/foundry.mjs <${TOOLS.join('|')}> [args...]\n`);
    process.exit(2);
  }
  const binary = foundryBinary(tool);
  if (!binary) {
    process.stderr.write(
      `foundry.mjs: no @foundry-rs/${tool} binary for ${process.platform}/${process.arch}; run \`npm ci\`\n`,
    );
    process.exit(127);
  }
  const child = spawn(binary, args, { stdio: 'inherit' });
  // Let the tool handle Ctrl-C itself; we only report how it ended.
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
  child.on('error', (err) => {
    process.stderr.write(`foundry.mjs: cannot run ${binary}: ${err.message}\n`);
    process.exit(127);
  });
  child.on('exit', (code, signal) => process.exit(code ?? 128 + (constants.signals[signal] ?? 1)));
}
