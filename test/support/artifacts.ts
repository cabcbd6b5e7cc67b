// Reads the contracts forge compiled into out/, so tests deploy exactly what forge tests run.
// Artifact path: out/<File>.sol/<Name>.json (forge's layout), with `abi` and `bytecode.object`.

import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { InterfaceAbi } from 'ethers';

export const ROOT = path.resolve(import.meta.dirname, '../..');
export const OUT_DIR = path.join(ROOT, 'out');

export interface Artifact {
  abi: InterfaceAbi;
  bytecode: `0x${string}`;
}

/** out/<file>/<name>.json; `file` defaults to `<name>.sol`, as forge names it for one contract per file. */
export function artifactPath(name: string, file = `${name}.sol`): string {
  return path.join(OUT_DIR, file, `${name}.json`);
}

export function readArtifact(name: string, file?: string): Artifact {
  const p = artifactPath(name, file);
  if (!existsSync(p)) {
    throw new Error(`no forge artifact at ${path.relative(ROOT, p)}: run \`npm run build:contracts\` first`);
  }
  const json = JSON.parse(readFileSync(p, 'utf8')) as {
    abi?: InterfaceAbi;
    bytecode?: { object?: string };
  };
  const object = json.bytecode?.object;
  if (json.abi === undefined || object === undefined || !object.startsWith('0x') || object.length <= 2) {
    throw new Error(
      `${path.relative(ROOT, p)} has no abi or no deployable bytecode (abstract or interface?)`,
    );
  }
  return { abi: json.abi, bytecode: object as `0x${string}` };
}

/**
 * Makes sure the artifacts of `names` exist and match the sources. It always runs `forge build`:
 * forge's cache makes that a ~1 s no-op when nothing changed, and checking only for a missing file
 * would let a parity test pass against bytecode older than the Solidity it claims to check. A cold
 * build compiles with solc-js (~25 s on our 2 cores), so callers give their hook a long timeout.
 */
export async function ensureArtifacts(names: readonly string[]): Promise<void> {
  await forgeBuild();
  const missing = names.filter((name) => !existsSync(artifactPath(name)));
  if (missing.length > 0) {
    throw new Error(`forge build succeeded but wrote no artifact for ${missing.join(', ')} (wrong name?)`);
  }
}

/**
 * Runs `forge build` from the repository root; on failure the error carries forge's output. Goes
 * through contracts/tools/foundry.mjs because the npm `forge` launcher exits 0 even when the
 * compilation fails.
 */
export async function forgeBuild(): Promise<void> {
  const foundry = path.join(ROOT, 'contracts', 'tools', 'foundry.mjs');
  try {
    await promisify(execFile)(process.execPath, [foundry, 'forge', 'build'], {
      cwd: ROOT,
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`forge build failed: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`);
  }
}
