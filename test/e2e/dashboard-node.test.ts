// The dashboard and the operator commands on a RUNNING node: a 2-chain devnet (1 s blocks), one
// `xmargin node` (watcher) whose margin view follows the chains; a trader with collateral on both
// chains' vaults credited to the engine on B and a long on B. Headless Chromium (playwright-core)
// loads the node's page, finds the account's health and the chains it spans, sees the health fall
// after a real price update on chain, and saves a screenshot in the test's temp folder. Then
// `xmargin status` (table and --json) and `xmargin keys` against it.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Contract, JsonRpcProvider, NonceManager, Wallet } from 'ethers';
import { type BrowserContext, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureArtifacts, readArtifact } from '../../relayer/chain/artifacts.ts';
import { createClient, type XmarginClient } from '../../relayer/client/index.ts';
import type { ChainConfig, DevnetManifest } from '../../relayer/config/types.ts';
import { type Cluster, createCluster } from '../../relayer/devnet/cluster.ts';
import { type Devnet, startDevnet } from '../../relayer/devnet/index.ts';
import { CHROMIUM, CHROMIUM_ARGS } from '../support/chromium.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');

let devnet: Devnet | undefined;
let cluster: Cluster | undefined;
let browser: BrowserContext | undefined;
let client: XmarginClient | undefined;
let dir = '';
let manifest: DevnetManifest;
let A: ChainConfig;
let B: ChainConfig;
const providers: JsonRpcProvider[] = [];

function cli(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(
    path.join(ROOT, 'node_modules', '.bin', 'node'),
    [path.join(ROOT, 'relayer/cli/main.ts'), ...args],
    {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 60_000,
    },
  );
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

describe('dashboard and operator commands on a running node', () => {
  beforeAll(async () => {
    await ensureArtifacts([
      'CollateralVault',
      'MarginEngine',
      'PerpMarket',
      'MockERC20',
      'SettableAggregator',
    ]);
    dir = mkdtempSync(path.join(tmpdir(), 'xmargin-dashboard-node-'));
    const manifestFile = path.join(dir, 'manifest.json');
    devnet = await startDevnet({ chains: 2, blockTime: 1, collateralOnly: [], manifestPath: manifestFile });
    manifest = devnet.manifest;
    [A, B] = manifest.chains as [ChainConfig, ChainConfig];
    cluster = await createCluster({ manifest, manifestFile, dir, count: 1, roles: ['watcher'] });
    await cluster.start(0);
    client = createClient({
      chains: manifest.chains,
      privateKey: manifest.accounts.find((a) => a.role === 'trader')?.privateKey as string,
    });
    // Local deposits on both chains' engines need no relayer; the long is on B.
    await client.deposit({ chain: B.name, token: 'WETH', amount: '2', engine: B.name });
    await client.deposit({ chain: A.name, token: 'USDC', amount: '1000', engine: A.name });
    await client.trade({ engine: B.name, size: '10' });
    browser = await chromium.launchPersistentContext(path.join(dir, 'profile'), {
      executablePath: CHROMIUM,
      args: CHROMIUM_ARGS,
      viewport: { width: 1280, height: 900 },
    });
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    client?.destroy();
    await cluster?.stopAll();
    for (const p of providers) p.destroy();
    await devnet?.stop();
    if (dir !== '' && process.env.XMARGIN_KEEP_TMP === undefined)
      rmSync(path.join(dir, 'profile'), { recursive: true, force: true });
  });

  it('shows the account, its health and its chains, and follows a real price move', async () => {
    const page = browser?.pages()[0] ?? (await browser?.newPage());
    if (page === undefined) throw new Error('no browser page');
    const trader = client?.address as string;
    await page.goto(`${cluster?.nodes[0]?.apiUrl}/`);
    const row = page.locator(`[data-testid="account-row"][data-account="${trader}"]`);
    await row.waitFor({ timeout: 60_000 });
    const health = row.locator(`[data-testid="health"][data-engine="${B.eid}"]`);
    await expect.poll(async () => Number(await health.textContent()), { timeout: 30_000 }).toBeGreaterThan(1);
    const before = Number(await health.textContent());
    const chains = await row.getByTestId('account-chains').textContent();
    expect(chains).toContain(A.name);
    expect(chains).toContain(B.name);

    // A real price update on chain B: ETH from 2,000 to 1,900.
    const p = new JsonRpcProvider(B.rpcUrls[0], B.chainId, { staticNetwork: true });
    providers.push(p);
    const feed = new Contract(
      B.tokens.find((t) => t.symbol === 'WETH')?.feed as string,
      readArtifact('SettableAggregator').abi,
      new NonceManager(new Wallet(manifest.accounts[0]?.privateKey as string, p)),
    );
    await (await feed.getFunction('setAnswer')(1900n * 10n ** 8n)).wait();
    await expect
      .poll(async () => Number(await health.textContent()), { timeout: 30_000 })
      .toBeLessThan(before);
    const onChain = (await client?.health())?.find((h) => h.chain === B.name)?.health as bigint;
    await expect
      .poll(async () => Math.abs(Number(await health.textContent()) - Number(onChain) / 1e18), {
        timeout: 15_000,
      })
      .toBeLessThan(0.01);

    const shot = path.join(dir, 'dashboard-node.png');
    await page.screenshot({ path: shot, fullPage: true });
    console.log(`dashboard screenshot: ${shot} (health ${before} -> ${await health.textContent()})`);
    expect(statSync(shot).size).toBeGreaterThan(10_000);
  }, 120_000);

  it('xmargin status prints peers, chains, packets and liquidations; --json the raw document', () => {
    const url = cluster?.nodes[0]?.apiUrl as string;
    const table = cli('status', '--url', url);
    expect(table.code).toBe(0);
    expect(table.stdout).toContain(`node ${cluster?.nodes[0]?.signer}`);
    expect(table.stdout).toMatch(new RegExp(`${A.name} +eid ${A.eid} +head \\d+`));
    expect(table.stdout).toMatch(/packets: \d+ in flight/);
    const json = JSON.parse(cli('status', '--url', url, '--json').stdout);
    expect(json.node.roles).toEqual(['watcher']);
    expect(json.chains.map((c: { name: string }) => c.name)).toEqual([A.name, B.name]);
    expect(json.accounts.some((a: { account: string }) => a.account === client?.address)).toBe(true);
    const down = cli('status', '--url', 'http://127.0.0.1:9');
    expect(down.code).not.toBe(0);
    expect(down.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('xmargin keys creates 0600 key files, shows them without secrets, and refuses to overwrite', () => {
    const keys = path.join(dir, 'keys');
    const made = cli('keys', 'create', '--dir', keys);
    expect(made.code).toBe(0);
    expect(made.stdout).toMatch(/evm signer {2}0x[0-9a-fA-F]{40}/);
    expect(statSync(path.join(keys, 'evm.key')).mode & 0o777).toBe(0o600);
    expect(statSync(path.join(keys, 'p2p.key')).mode & 0o777).toBe(0o600);
    const shown = cli('keys', 'show', '--dir', keys);
    expect(shown.stdout).not.toMatch(/0x[0-9a-f]{64}/);
    expect(cli('keys', 'show', '--dir', keys, '--reveal').stdout).toMatch(/evm key {5}0x[0-9a-f]{64}/);
    const again = cli('keys', 'create', '--dir', keys);
    expect(again.code).not.toBe(0);
    expect(again.stderr.trim().split('\n')).toHaveLength(1);
  });
});
