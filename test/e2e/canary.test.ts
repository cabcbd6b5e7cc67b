// The canary live, and the 2-chain devnet: chain A holds collateral only, chain B hosts the
// engine, 1-second blocks, and three `xmargin node` processes deliver every packet. The canary from
// the owner's key deposits on A for engine B (LOCK A -> B) and withdraws it back (RELEASE B -> A):
// through the library, then through `xmargin wire` — by default only after wire changed the pathway,
// always with --canary — and with the nodes stopped it fails with one clear line. Before re-wiring,
// `wire --dry-run` prints the missing step and sends nothing.

import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Contract, type JsonRpcProvider, Wallet, ZeroHash } from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureArtifacts, ROOT, readArtifact } from '../../relayer/chain/artifacts.ts';
import type { ChainConfig, DevnetManifest } from '../../relayer/config/types.ts';
import {
  CANARY_SUBACCOUNT,
  type CanaryResult,
  canaryPathways,
  formatCanary,
  runCanary,
} from '../../relayer/deploy/canary.ts';
import { type Devnet, startDevnet } from '../../relayer/devnet/index.ts';
import { type Cluster, createCluster } from '../support/cluster.ts';
import { providerPool } from '../support/e2e.ts';

const NODE_BIN = path.join(ROOT, 'node_modules', '.bin', 'node');
const MAIN = path.join(ROOT, 'relayer', 'cli', 'main.ts');
const CANARY_LINE =
  /^canary devnet-a -> devnet-b: LOCK \d+\.\d s, RELEASE \d+\.\d s \(1 base unit\(s\) of WETH\)$/m;

let devnet: Devnet | undefined;
let cluster: Cluster | undefined;
let workDir = '';
let manifest: DevnetManifest;
let chainA: ChainConfig;
let chainB: ChainConfig;
let networksFile = '';
let keyFile = '';
const pool = providerPool();
const measured: string[] = [];

const provider = (chain: ChainConfig): JsonRpcProvider => pool.provider(chain);

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await promisify(execFile)(NODE_BIN, [MAIN, ...args], { cwd: ROOT, timeout: 100_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

describe('canary: 2-chain devnet + 3 relayer nodes', () => {
  let deployerKey = '';

  beforeAll(async () => {
    await ensureArtifacts(['CollateralVault', 'MarginEngine', 'PerpMarket', 'MockERC20']);
    workDir = mkdtempSync(path.join(tmpdir(), 'xmargin-canary-'));
    const manifestFile = path.join(workDir, 'manifest.json');
    devnet = await startDevnet({ chains: 2, blockTime: 1, collateralOnly: [0], manifestPath: manifestFile });
    manifest = devnet.manifest;
    [chainA, chainB] = manifest.chains as [ChainConfig, ChainConfig];
    cluster = await createCluster({ manifest, manifestFile, dir: workDir });
    await Promise.all(cluster.nodes.map((n) => cluster?.start(n.index)));
    // What `xmargin wire` reads: a networks file with the devnet's chains, and the owner's key.
    networksFile = path.join(workDir, 'networks.json');
    writeFileSync(networksFile, JSON.stringify({ version: 1, chains: manifest.chains, dvn: manifest.dvn }));
    deployerKey = manifest.accounts.find((a) => a.role === 'deployer')?.privateKey as string;
    keyFile = path.join(workDir, 'owner.key');
    writeFileSync(keyFile, `${deployerKey}\n`, { mode: 0o600 });
  }, 240_000);

  afterAll(async () => {
    await cluster?.stopAll();
    pool.destroyAll();
    await devnet?.stop();
    if (workDir !== '' && process.env.XMARGIN_KEEP_TMP === undefined)
      rmSync(workDir, { recursive: true, force: true });
    if (measured.length > 0) console.log(`canary round trips (1 s blocks, 3 nodes): ${measured.join('; ')}`);
  });

  const signers = (): Record<string, Wallet> => ({
    [chainA.name]: new Wallet(deployerKey, provider(chainA)),
    [chainB.name]: new Wallet(deployerKey, provider(chainB)),
  });

  it('the library canary completes LOCK A -> B and RELEASE B -> A and leaves nothing behind', async () => {
    const pathways = canaryPathways(manifest.chains);
    expect(pathways.map((p) => `${p.vault.name} -> ${p.engine.name}`)).toEqual(['devnet-a -> devnet-b']);
    const s = signers();
    const results: CanaryResult[] = await runCanary(pathways, s);
    const [r] = results;
    expect(results).toHaveLength(1);
    expect(r).toMatchObject({ from: 'devnet-a', to: 'devnet-b', token: 'WETH', amount: 1n });
    expect(r?.lockMs).toBeGreaterThan(0);
    expect(r?.releaseMs).toBeGreaterThan(0);
    if (r !== undefined) measured.push(formatCanary(r).replace('canary ', 'library '));

    // The deployer had no WETH on A: the canary minted 1 unit, locked it, and got it back.
    const owner = s[chainA.name]?.address as string;
    const weth = chainA.tokens.find((t) => t.symbol === 'WETH')?.address as string;
    const token = new Contract(weth, readArtifact('MockERC20').abi, provider(chainA));
    const vault = new Contract(chainA.xmargin.vault, readArtifact('CollateralVault').abi, provider(chainA));
    const engine = new Contract(
      chainB.xmargin.engine as string,
      readArtifact('MarginEngine').abi,
      provider(chainB),
    );
    expect(await token.getFunction('balanceOf')(owner)).toBe(1n);
    expect(await vault.getFunction('locked')(owner, CANARY_SUBACCOUNT, weth)).toBe(0n);
    expect(await engine.getFunction('creditOf')(owner, CANARY_SUBACCOUNT, chainA.eid, weth)).toBe(0n);
  }, 300_000);

  it('`xmargin wire` re-wires a broken pathway, then runs the canary on it by default', async () => {
    // Break A -> B: the vault forgets its engine peer. wire must notice, fix it and prove it.
    const owner = new Wallet(deployerKey, provider(chainA));
    const vault = new Contract(chainA.xmargin.vault, readArtifact('CollateralVault').abi, owner);
    await (await vault.getFunction('setPeer')(chainB.eid, ZeroHash)).wait();

    // --dry-run: the missing step is printed, nothing is sent (no nonce used, the peer still unset).
    const nonces = async () =>
      Promise.all([chainA, chainB].map((c) => provider(c).getTransactionCount(owner.address)));
    const noncesBefore = await nonces();
    const dry = await cli('wire', '--networks', networksFile, '--key', keyFile, '--dry-run');
    expect(dry.stderr).toBe('');
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/^devnet-a {2}vault\.setPeer\(/m);
    expect(dry.stdout).toContain('1 transaction(s) planned (dry run) on 2 chain(s)');
    expect(dry.stdout).not.toContain('canary');
    expect(await nonces()).toEqual(noncesBefore);
    expect(await vault.getFunction('peers')(chainB.eid)).toBe(ZeroHash);

    const r = await cli('wire', '--networks', networksFile, '--key', keyFile);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('devnet-a  vault.setPeer(');
    expect(r.stdout).toContain('1 transaction(s) sent on 2 chain(s)');
    expect(r.stdout).toMatch(CANARY_LINE);
    measured.push((r.stdout.match(CANARY_LINE)?.[0] ?? '').replace('canary ', 'wire '));
  }, 300_000);

  it('nothing to wire: no canary unless --canary asks for one', async () => {
    const quiet = await cli('wire', '--networks', networksFile, '--key', keyFile);
    expect(quiet.code).toBe(0);
    expect(quiet.stdout).toContain('0 transaction(s) sent');
    expect(quiet.stdout).not.toContain('canary');

    const asked = await cli('wire', '--networks', networksFile, '--key', keyFile, '--canary');
    expect(asked.stderr).toBe('');
    expect(asked.code).toBe(0);
    expect(asked.stdout).toMatch(CANARY_LINE);
    measured.push((asked.stdout.match(CANARY_LINE)?.[0] ?? '').replace('canary ', 'wire --canary '));
  }, 300_000);

  it('with every node stopped the canary fails with one clear line', async () => {
    await cluster?.stopAll();
    const r = await cli(
      'wire',
      '--networks',
      networksFile,
      '--key',
      keyFile,
      '--canary',
      '--canary-timeout',
      '5',
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      'xmargin: canary devnet-a -> devnet-b: LOCK not delivered within 5 s — are relayer nodes running and serving both chains?\n',
    );
  }, 120_000);
});
