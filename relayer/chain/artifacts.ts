// Reads compiled contracts: xmargin's from forge's out/ (so the devnet and the tests deploy exactly
// what forge tests run) and LayerZero's from the Hardhat-format artifacts shipped in
// @layerzerolabs/lz-evm-sdk-v2 (deployed unmodified).
// Forge artifact path: out/<File>.sol/<Name>.json, with `abi` and `bytecode.object`; a contract
// built by several profiles may also have out/<File>.sol/<Name>.<profile>.json.

import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { type Fragment, Interface, type InterfaceAbi, type JsonFragment } from 'ethers';

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

/** EIP-170: the largest runtime code a chain accepts. */
export const MAX_CODE_SIZE = 24_576;

export function readArtifact(name: string, file?: string): Artifact {
  const artifact = readForgeArtifactAt(pickForgeArtifact(name, file));
  const modules = DELEGATED_MODULES[name];
  if (modules === undefined) return artifact;
  return { ...artifact, abi: mergeAbis([artifact.abi, ...modules.map((m) => readArtifact(m).abi)]) };
}

/**
 * Contracts that forward unknown selectors to a module by delegatecall (to stay under EIP-170):
 * their address answers the module's functions too, so their ABI is the union of both. The engine's
 * setters and struct views run in MarginEngineAdmin (contracts/engine/MarginEngine.sol, fallback).
 */
const DELEGATED_MODULES: Record<string, readonly string[]> = { MarginEngine: ['MarginEngineAdmin'] };

/** The union of ABIs, each function, event and error once (the first definition wins). */
function mergeAbis(abis: readonly InterfaceAbi[]): InterfaceAbi {
  const seen = new Set<string>();
  const out: Fragment[] = [];
  for (const abi of abis) {
    for (const fragment of new Interface(abi).fragments) {
      // Constructor, fallback and receive have no signature: one of each.
      const named = fragment.type === 'function' || fragment.type === 'event' || fragment.type === 'error';
      const key = named ? `${fragment.type} ${fragment.format('sighash')}` : fragment.type;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push(fragment);
    }
  }
  return out.map((f) => JSON.parse(f.format('json')) as JsonFragment);
}

/**
 * out/<file>/<name>.json, or when forge also wrote profile-suffixed variants (<name>.<profile>.json),
 * the first whose runtime code fits under EIP-170 (MarginEngine is only deployable from the IR build).
 */
function pickForgeArtifact(name: string, file = `${name}.sol`): string {
  const plain = artifactPath(name, file);
  const dir = path.dirname(plain);
  if (!existsSync(dir)) return plain;
  const variants = readdirSync(dir)
    .filter((f) => f === `${name}.json` || (f.startsWith(`${name}.`) && f.endsWith('.json')))
    .map((f) => path.join(dir, f))
    .sort((a, b) => (a === plain ? -1 : b === plain ? 1 : a.localeCompare(b)));
  if (variants.length <= 1) return plain;
  for (const p of variants) {
    const json = JSON.parse(readFileSync(p, 'utf8')) as { deployedBytecode?: { object?: string } };
    const runtime = json.deployedBytecode?.object ?? '0x';
    if (runtime.length > 2 && (runtime.length - 2) / 2 < MAX_CODE_SIZE) return p;
  }
  return plain;
}

function readForgeArtifactAt(p: string): Artifact {
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

/** What a build compiles besides the contracts under contracts/. */
export interface BuildScope {
  /**
   * Also the forge test tree (test/forge: the tests, TestHelperOz5's LayerZero stack, harnesses such
   * as MsgCodecHarness). Off by default: a node, a devnet or a bench deploys only contracts/, and the
   * test tree is most of a cold build (~95 s of ~115 s on our 2 cores; contracts/ alone ~18 s).
   */
  withTests?: boolean;
}

/**
 * Makes sure the artifacts of `names` exist and match the sources. It always runs `forge build`:
 * forge's cache makes that a ~1 s no-op when nothing changed, and checking only for a missing file
 * would let a parity test pass against bytecode older than the Solidity it claims to check (so a
 * contract under test/forge needs `withTests`, else its artifact is not brought up to date). A cold
 * build compiles with solc-js (~18 s on our 2 cores for contracts/), so callers give their hook a
 * long timeout.
 */
export async function ensureArtifacts(names: readonly string[], scope: BuildScope = {}): Promise<void> {
  await forgeBuild(scope);
  const missing = names.filter((name) => !existsSync(artifactPath(name)));
  if (missing.length > 0) {
    const hint = scope.withTests
      ? 'wrong name?'
      : 'wrong name, or a contract under test/forge: pass withTests';
    throw new Error(`forge build succeeded but wrote no artifact for ${missing.join(', ')} (${hint})`);
  }
}

/**
 * Runs `forge build` from the repository root, of contracts/ alone unless `scope.withTests`; on
 * failure the error carries forge's output. Goes through contracts/tools/foundry.mjs because the npm
 * `forge` launcher exits 0 even when the compilation fails.
 */
export async function forgeBuild(scope: BuildScope = {}): Promise<void> {
  const foundry = path.join(ROOT, 'contracts', 'tools', 'foundry.mjs');
  // `forge build <path>` compiles that folder's sources and what they import; the cache stays shared
  // with full builds (either one after the other compiles only what the first left out).
  const only = scope.withTests ? [] : ['contracts'];
  try {
    await promisify(execFile)(process.execPath, [foundry, 'forge', 'build', ...only], {
      cwd: ROOT,
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`forge build failed: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`);
  }
}

// ---------------------------------------------------------------------------- LayerZero artifacts

export const LZ_SDK_DIR = path.join(ROOT, 'node_modules', '@layerzerolabs', 'lz-evm-sdk-v2');

/** The LayerZero v2 contracts the devnet deploys, by artifact path under lz-evm-sdk-v2/artifacts/contracts. */
export const LZ_ARTIFACTS = {
  EndpointV2: 'EndpointV2.sol/EndpointV2.json',
  EndpointV2View: 'EndpointV2View.sol/EndpointV2View.json',
  SendUln302: 'uln/uln302/SendUln302.sol/SendUln302.json',
  ReceiveUln302: 'uln/uln302/ReceiveUln302.sol/ReceiveUln302.json',
  ReceiveUln302View: 'uln/uln302/ReceiveUln302View.sol/ReceiveUln302View.json',
  PriceFeed: 'PriceFeed.sol/PriceFeed.json',
  DVN: 'uln/dvn/DVN.sol/DVN.json',
  DVNFeeLib: 'uln/dvn/DVNFeeLib.sol/DVNFeeLib.json',
  Executor: 'Executor.sol/Executor.json',
  ExecutorFeeLib: 'ExecutorFeeLib.sol/ExecutorFeeLib.json',
} as const;
export type LzContractName = keyof typeof LZ_ARTIFACTS;

const lzCache = new Map<LzContractName, Artifact>();

/** A LayerZero sdk artifact (Hardhat format: `abi`, `bytecode` as a hex string, no libraries to link). */
export function readLzArtifact(name: LzContractName): Artifact {
  const cached = lzCache.get(name);
  if (cached !== undefined) return cached;
  const p = path.join(LZ_SDK_DIR, 'artifacts', 'contracts', LZ_ARTIFACTS[name]);
  if (!existsSync(p)) {
    throw new Error(`no LayerZero artifact at ${path.relative(ROOT, p)}: run \`npm install\``);
  }
  const json = JSON.parse(readFileSync(p, 'utf8')) as {
    abi?: InterfaceAbi;
    bytecode?: string;
    linkReferences?: Record<string, unknown>;
  };
  if (json.abi === undefined || json.bytecode === undefined || !json.bytecode.startsWith('0x')) {
    throw new Error(`${path.relative(ROOT, p)} has no abi or bytecode`);
  }
  if (json.linkReferences !== undefined && Object.keys(json.linkReferences).length > 0) {
    throw new Error(`${path.relative(ROOT, p)} needs libraries linked, which this reader does not do`);
  }
  const artifact: Artifact = { abi: json.abi, bytecode: json.bytecode as `0x${string}` };
  lzCache.set(name, artifact);
  return artifact;
}
