// Observations over gossip, live: a 3-chain devnet (1 s blocks, DVN quorum 2 of 4 keys) with three
// attestor nodes serving every chain and one watcher node that serves only B and C (no RPC for A).
// The attestors publish a signed observation of every block they apply; the watcher applies a block
// of A once two attestors signed the same digest. A trader deposits WETH on A for the engine on C:
// the watcher shows the collateral locked on A (learned from observations) and credited on C. With
// two attestors stopped the lone one's observations are not enough, and the watcher's view of A
// stands still; once they are back (their publishers fill in the blocks they missed) it moves again.
// Last, a busy block: 300 deposits mined in one block of A, more events than one gossip message holds
// (256 events, 64 KiB), reach the watcher as observations in parts and show as the sum locked.

import { rmSync } from 'node:fs';
import { Contract, JsonRpcProvider, NonceManager, parseUnits, Wallet } from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeStatus, ObservedChainStatus } from '../../relayer/api/types.ts';
import { ensureArtifacts, readArtifact } from '../../relayer/chain/artifacts.ts';
import { fetchStatus } from '../../relayer/cli/status.ts';
import { createClient } from '../../relayer/client/index.ts';
import type { ChainConfig, DevnetManifest } from '../../relayer/config/types.ts';
import { type Cluster, createCluster } from '../../relayer/devnet/cluster.ts';
import type { Devnet } from '../../relayer/devnet/index.ts';
import { startNodeDevnet, waitFor } from '../support/e2e.ts';

const WATCHER = 3;

let devnet: Devnet | undefined;
let cluster: Cluster | undefined;
let dir = '';
let manifest: DevnetManifest;
let A: ChainConfig;
let B: ChainConfig;
let C: ChainConfig;
const providers: JsonRpcProvider[] = [];

async function status(i: number): Promise<NodeStatus> {
  return fetchStatus(cluster?.nodes[i]?.apiUrl as string);
}

async function observedA(): Promise<ObservedChainStatus> {
  const o = (await status(WATCHER)).observed?.find((c) => c.eid === A.eid);
  if (o === undefined) throw new Error('the watcher lists no observed chain A');
  return o;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The trader's WETH locked on A, as the watcher shows it (0 if none). */
async function watcherLockedOnA(trader: string): Promise<number> {
  const a = (await status(WATCHER)).accounts?.find((x) => x.account.toLowerCase() === trader.toLowerCase());
  return Number(a?.collateral.find((c) => c.chain === A.name && c.symbol === 'WETH')?.amount ?? 0);
}

describe('observations: a watcher without RPC for A follows it through attested observations', () => {
  beforeAll(async () => {
    await ensureArtifacts(['CollateralVault', 'MarginEngine', 'PerpMarket', 'MockERC20']);
    const booted = await startNodeDevnet('observations', 4);
    ({ devnet, dir } = booted);
    const manifestFile = booted.manifestFile;
    manifest = devnet.manifest;
    [A, B, C] = manifest.chains as [ChainConfig, ChainConfig, ChainConfig];
    cluster = await createCluster({
      manifest,
      manifestFile,
      dir,
      roles: ['attestor', 'executor'],
      nodes: [undefined, undefined, undefined, { chains: [B.name, C.name], roles: ['watcher'] }],
    });
    // The watcher first: it has to hear the attestors from the first block of A on.
    await cluster.start(WATCHER);
    await waitFor('the watcher API', async () => (await status(WATCHER)) && true);
    await Promise.all([0, 1, 2].map((i) => cluster?.start(i)));
    await waitFor('every node API', async () => {
      for (let i = 0; i < 4; i++) await status(i);
      return true;
    });
  }, 240_000);

  afterAll(async () => {
    await cluster?.stopAll();
    for (const p of providers) p.destroy();
    await devnet?.stop();
    if (dir !== '' && process.env.XMARGIN_KEEP_TMP === undefined)
      rmSync(dir, { recursive: true, force: true });
  });

  it('shows WETH locked on A (from observations) and credited on C', async () => {
    // The watcher does not serve A, and its view of A follows A's head.
    const s = await status(WATCHER);
    expect(s.chains.map((c) => c.name).sort()).toEqual([B.name, C.name].sort());
    const p = new JsonRpcProvider(A.rpcUrls[0], A.chainId, { staticNetwork: true });
    providers.push(p);
    await waitFor(
      'the watcher to follow A within a few blocks of its head',
      async () => ((await p.getBlockNumber()) - (await observedA()).block <= 5 ? true : undefined),
      90_000,
    );

    const trader = manifest.accounts.find((a) => a.role === 'trader') as { privateKey: string };
    const deployer = new NonceManager(new Wallet(manifest.accounts[0]?.privateKey as string, p));
    const client = createClient({ chains: manifest.chains, privateKey: trader.privateKey });
    await (
      await new Contract(
        A.tokens.find((t) => t.symbol === 'WETH')?.address as string,
        readArtifact('MockERC20').abi,
        deployer,
      ).getFunction('mint')(client.address, parseUnits('2', 18))
    ).wait();
    await client.deposit({ chain: A.name, token: 'WETH', amount: '2', engine: C.name });

    const account = await waitFor(
      'the watcher to show the deposit locked on A and credited on C',
      async () => {
        const a = (await status(WATCHER)).accounts?.find(
          (x) => x.account.toLowerCase() === client.address.toLowerCase(),
        );
        const locked = a?.collateral.find((c) => c.chain === A.name && Number(c.amount) === 2);
        const onC = a?.engines.find((e) => e.chain === C.name && Number(e.collateralValue) > 0);
        return locked !== undefined && onC !== undefined ? a : undefined;
      },
      90_000,
    );
    expect(account.collateral).toEqual([
      expect.objectContaining({ chain: A.name, symbol: 'WETH', amount: '2.0' }),
    ]);
    const a = await observedA();
    expect(a.applied).toBeGreaterThan(0);
    expect(a.conflicts).toBe(0);
    client.destroy();
  }, 240_000);

  it('with only one attestor publishing, the watcher does not advance its view of A; it resumes when they return', async () => {
    await Promise.all([cluster?.stop(1), cluster?.stop(2)]);
    await sleep(3_000); // observations already in flight land
    const before = (await observedA()).block;
    await sleep(6_000); // six blocks of A, each signed by one attestor only
    const after = await observedA();
    expect(after.block).toBe(before);
    // The remaining attestor is alive and following A (so it is publishing).
    const a0 = (await status(0)).chains.find((c) => c.name === A.name);
    expect(a0).toBeDefined();

    await Promise.all([cluster?.start(1), cluster?.start(2)]);
    await waitFor('the watcher to move on along A', async () =>
      (await observedA()).block > before + 3 ? true : undefined,
    );
  }, 120_000);

  it('a block with more events than one message holds reaches the watcher in parts', async () => {
    const BUSY = 300;
    const p = new JsonRpcProvider(A.rpcUrls[0], A.chainId, { staticNetwork: true });
    providers.push(p);
    const traderKey = (manifest.accounts.find((a) => a.role === 'trader') as { privateKey: string })
      .privateKey;
    const trader = new Wallet(traderKey, p);
    const deployer = new NonceManager(new Wallet(manifest.accounts[0]?.privateKey as string, p));
    const weth = A.tokens.find((t) => t.symbol === 'WETH')?.address as string;
    const client = createClient({ chains: manifest.chains, privateKey: traderKey });
    await (
      await new Contract(weth, readArtifact('MockERC20').abi, deployer).getFunction('mint')(
        trader.address,
        parseUnits('1', 18),
      )
    ).wait();
    const before = await watcherLockedOnA(trader.address);
    const deposit = { chain: A.name, token: 'WETH', amount: '0.001', engine: C.name };
    // The first one approves the vault and shows the gas a deposit takes.
    await client.deposit(deposit);
    const fee = await client.quoteDeposit(deposit);
    const vault = new Contract(A.xmargin.vault, readArtifact('CollateralVault').abi, trader);
    const args = [weth, parseUnits('0.001', 18), 0n, C.eid, '0x'] as const;
    const gasLimit = ((await vault.getFunction('deposit').estimateGas(...args, { value: fee })) * 3n) / 2n;

    // Hold A's blocks, queue the deposits, mine them in one block, and let A tick again.
    await p.send('evm_setIntervalMining', [0]);
    let nonce = await p.getTransactionCount(trader.address, 'pending');
    const sent = [];
    try {
      for (let i = 0; i < BUSY; i++) {
        sent.push(await vault.getFunction('deposit')(...args, { value: fee, gasLimit, nonce: nonce++ }));
      }
      await p.send('evm_mine', []);
    } finally {
      await p.send('evm_setIntervalMining', [1]);
    }
    const receipts = await Promise.all(sent.map((tx) => tx.wait()));
    expect(new Set(receipts.map((r) => r?.blockNumber)).size).toBe(1);
    const busyBlock = receipts[0]?.blockNumber as number;

    await waitFor(
      `the watcher to apply A's block ${busyBlock} and show ${BUSY} more deposits locked`,
      async () => {
        const a = await observedA();
        const locked = await watcherLockedOnA(trader.address);
        return a.block >= busyBlock && Math.abs(locked - (before + 0.001 * (BUSY + 1))) < 1e-9
          ? true
          : undefined;
      },
      90_000,
    );
    expect((await observedA()).conflicts).toBe(0);
    client.destroy();
  }, 180_000);
});
