// The liquidator on a devnet (2 chains, automine): a trader deposits WETH on the engine chain's own
// vault (credited at once), opens a 7x long on ETH-PERP, the ETH feed drops, and three in-process
// liquidators sharing an in-memory gossip race for it. Exactly the first-ranked one sends; the
// sub-account ends healthy; the liquidator holds the seized WETH. Then, with the first-ranked node for
// another sub-account stopped (but still "live" as its heartbeats have not expired), the next-ranked
// node takes over after the deadline. A candidate source that wrongly reports a healthy sub-account
// never makes anyone submit it. Last, a burst: one price move makes several sub-accounts of the same
// first-ranked node unhealthy, and they go out together in one liquidateBatch.

import { Contract, JsonRpcProvider, Wallet } from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rendezvousOrder } from '../../attestor/rendezvous.ts';
import { ensureArtifacts } from '../../relayer/chain/artifacts.ts';
import { HeadroomWallet } from '../../relayer/chain/gas.ts';
import { ChainRpc } from '../../relayer/chain/rpc.ts';
import type { Address, ChainConfig, DevnetManifest, Hex } from '../../relayer/config/types.ts';
import { type Devnet, startDevnet } from '../../relayer/devnet/index.ts';
import { ENGINE, TOPICS_LIQ } from '../../relayer/liquidation/abi.ts';
import {
  type Candidate,
  type CandidateSource,
  createLiquidator,
  type Liquidator,
  PollingCandidates,
  rankKey,
} from '../../relayer/liquidation/index.ts';
import { MemoryGossipHub } from '../support/gossip.ts';

const WAD = 10n ** 18n;
const DEADLINE_MS = 3_000;
const ERC20 = [
  'function approve(address,uint256) returns (bool)',
  'function mint(address,uint256)',
  'function balanceOf(address) view returns (uint256)',
];
const VAULT = [
  'function deposit(address token, uint256 amount, uint96 subaccount, uint32 engineEid, bytes options) payable returns (bytes32)',
];
const MARKET = [
  'function trade(uint96 subaccount, uint32 marketId, int256 sizeDelta, uint256 acceptablePrice)',
];
const FEED = ['function setAnswer(int256 answer)'];

let devnet: Devnet | undefined;
let manifest: DevnetManifest;
let chain: ChainConfig;
let rpc: ChainRpc;
/** For the test's own wallets: no response cache, so back-to-back sends see fresh nonces. */
let provider: JsonRpcProvider;
const hub = new MemoryGossipHub();
const nodes: { wallet: Wallet; liq: Liquidator; candidates: PollingCandidates; stopped: boolean }[] = [];
/** Sub-accounts the polling sources watch (mutable: each scenario watches its own). */
let watched: bigint[] = [];
let trader: Wallet;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined | false>,
  timeoutMs = 30_000,
): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(150);
  }
}

function token(symbol: string) {
  const t = chain.tokens.find((x) => x.symbol === symbol);
  if (t === undefined) throw new Error(`no ${symbol}`);
  return t;
}

async function health(sub: bigint): Promise<bigint> {
  const out = await rpc.call({
    to: chain.xmargin.engine as Address,
    data: ENGINE.encodeFunctionData('health', [trader.address, sub]) as Hex,
  });
  return ENGINE.decodeFunctionResult('health', out)[0].health as bigint;
}

async function liquidatedEvents(sub: bigint) {
  const logs = await rpc.getLogs({
    address: chain.xmargin.engine as Address,
    topics: [TOPICS_LIQ.Liquidated, null, `0x${sub.toString(16).padStart(64, '0')}` as Hex],
    fromBlock: 0,
  });
  return logs.map((l) => ENGINE.parseLog({ topics: l.topics, data: l.data })?.args);
}

async function setEthPrice(usd: bigint): Promise<void> {
  const deployer = new Wallet(manifest.accounts[0]?.privateKey as string, provider);
  const feed = new Contract(token('WETH').feed as Address, FEED, deployer);
  await (await feed.getFunction('setAnswer')(usd * 10n ** 8n)).wait();
}

/** Trader: 1 WETH on the local vault into `sub`, then a long of `size` ETH. */
async function openLong(sub: bigint, size: bigint): Promise<void> {
  const weth = new Contract(token('WETH').address, ERC20, trader);
  const vault = new Contract(chain.xmargin.vault, VAULT, trader);
  const market = new Contract(chain.xmargin.market as Address, MARKET, trader);
  await (await weth.getFunction('approve')(chain.xmargin.vault, WAD)).wait();
  await (await vault.getFunction('deposit')(token('WETH').address, WAD, sub, chain.eid, '0x')).wait();
  await (await market.getFunction('trade')(sub, 1, size * WAD, 10n ** 30n)).wait();
}

/** A source that also reports a healthy sub-account as unhealthy (a margin view that is behind). */
function withStale(inner: CandidateSource, stale: Candidate): CandidateSource {
  return {
    unhealthy: (eid) => [...inner.unhealthy(eid), stale],
    onChange: (cb) => inner.onChange(cb),
  };
}

const HEALTHY_SUB = 9n;

beforeAll(async () => {
  await ensureArtifacts(['CollateralVault', 'MarginEngine', 'PerpMarket', 'MockERC20', 'SettableAggregator']);
  devnet = await startDevnet({ chains: 2, blockTime: 'automine', manifestPath: null });
  manifest = devnet.manifest;
  chain = manifest.chains[1] as ChainConfig;
  rpc = new ChainRpc(chain, { pollingIntervalMs: 100 });
  provider = new JsonRpcProvider(chain.rpcUrls[0], chain.chainId, {
    staticNetwork: true,
    pollingInterval: 50,
    batchMaxCount: 1,
    cacheTimeout: -1,
  });
  // Head-room on estimates: a trade estimated in one second and mined in the next pays the accrual write.
  trader = new HeadroomWallet(
    manifest.accounts.find((a) => a.role === 'trader')?.privateKey as string,
    provider,
  );

  // A healthy sub-account with a small position: the stale source will keep reporting it.
  await openLong(HEALTHY_SUB, 1n);

  const keys = manifest.accounts.filter((a) => a.role === 'liquidator' || a.role === 'spare').slice(0, 3);
  const signers = keys.map((k) => k.address);
  for (const k of keys) {
    const wallet = new Wallet(k.privateKey, provider);
    // The repay is paid in the engine's quote token (USDC of the engine chain).
    const usdc = new Contract(token('USDC').address, ERC20, wallet);
    await (await usdc.getFunction('mint')(wallet.address, 1_000_000n * 10n ** 6n)).wait();
    const candidates = new PollingCandidates({
      engines: new Map([[chain.eid, { engine: chain.xmargin.engine as Address, rpc }]]),
      accounts: () => watched.map((subaccount) => ({ account: trader.address as Address, subaccount })),
      intervalMs: 250,
    });
    const liq = createLiquidator({
      chains: manifest.chains,
      wallet,
      gossip: hub.join(wallet.address as Address),
      candidates: withStale(candidates, {
        account: trader.address as Address,
        subaccount: HEALTHY_SUB,
        health: WAD / 2n,
      }),
      // Heartbeats of a stopped node have not expired yet: it still counts as live.
      liveLiquidators: () => signers,
      rpcFor: (eid) => (eid === chain.eid ? rpc : undefined),
      // A wide batch window: the burst test's plans finish together even on a loaded machine.
      options: { deadlineMs: DEADLINE_MS, tickMs: 250, txPollMs: 100, batch: { windowMs: 400 } },
    });
    nodes.push({ wallet, liq, candidates, stopped: false });
  }
  for (const n of nodes) {
    n.candidates.start();
    await n.liq.start();
  }
});

afterAll(async () => {
  for (const n of nodes) {
    n.candidates.stop();
    await n.liq.stop();
  }
  rpc?.destroy();
  provider?.destroy();
  await devnet?.stop();
});

function orderFor(sub: bigint): string[] {
  return rendezvousOrder(
    rankKey(chain.eid, trader.address as Address, sub),
    nodes.map((n) => n.wallet.address as Address),
  );
}

function node(address: string) {
  const n = nodes.find((x) => x.wallet.address.toLowerCase() === address.toLowerCase());
  if (n === undefined) throw new Error(`no node ${address}`);
  return n;
}

describe('liquidator (devnet, local collateral)', () => {
  it('exactly the first-ranked node liquidates; the sub-account ends healthy and it holds the seized WETH', async () => {
    await openLong(0n, 7n);
    watched = [0n];
    expect(await health(0n)).toBeGreaterThan(WAD);
    const first = node(orderFor(0n)[0] as string);
    const weth = new Contract(token('WETH').address, ERC20, provider);
    const wethBefore = (await weth.getFunction('balanceOf')(first.wallet.address)) as bigint;

    await setEthPrice(1860n); // health ~0.77: a partial close back to the 1.25 target
    await waitFor('sub 0 healthy again', async () => (await health(0n)) >= WAD);

    const events = await liquidatedEvents(0n);
    expect(events).toHaveLength(1);
    expect(String(events[0]?.liquidator).toLowerCase()).toBe(first.wallet.address.toLowerCase());
    expect(events[0]?.healthAfter as bigint).toBeGreaterThanOrEqual(WAD);

    // The chain shows the liquidation before the node has awaited its confirmations and journaled it.
    // A loaded machine can hold the receipt wait up for several RPC timeouts: be generous.
    const landed = await waitFor(
      'the liquidation journaled as landed',
      async () => (await first.liq.journal()).find((r) => r.subaccount === 0n && r.status === 'landed'),
      60_000,
    );
    expect(landed?.txHash).toBeDefined();
    expect(landed?.seizures?.[0]).toMatchObject({ srcEid: chain.eid, status: 'paid', latencyMs: 0 });
    const seized = landed?.seizures?.[0]?.amount as bigint;
    expect(seized).toBeGreaterThan(0n);
    expect((await weth.getFunction('balanceOf')(first.wallet.address)) as bigint).toBe(wethBefore + seized);
    expect(landed?.timestamps.claimed).toBeLessThanOrEqual(landed?.timestamps.landed as number);

    // The others never sent; once the sub-account leaves their unhealthy set they record it as lost.
    for (const other of nodes.filter((n) => n !== first)) {
      await waitFor('others close their records', async () => {
        const rs = (await other.liq.journal()).filter((r) => r.subaccount === 0n);
        return rs.every((r) => r.status === 'lost' || r.status === 'healthy') && rs;
      });
      const rs = (await other.liq.journal()).filter((r) => r.subaccount === 0n);
      expect(rs.some((r) => r.txHash !== undefined)).toBe(false);
    }
  }, 120_000);

  it('with the first-ranked node stopped, the next-ranked one takes over after the deadline', async () => {
    watched = [];
    await openLong(1n, 7n); // entered at 1860
    const [firstAddr, secondAddr, thirdAddr] = orderFor(1n) as [string, string, string];
    const first = node(firstAddr);
    first.candidates.stop();
    await first.liq.stop();
    first.stopped = true;
    watched = [1n];

    const t0 = Date.now();
    await setEthPrice(1730n);
    await waitFor('sub 1 healthy again', async () => (await health(1n)) >= WAD, 40_000);
    const elapsed = Date.now() - t0;

    const events = await liquidatedEvents(1n);
    expect(events).toHaveLength(1);
    expect(String(events[0]?.liquidator).toLowerCase()).toBe(secondAddr.toLowerCase());
    // Rank 1 waits one deadline after it first saw the sub-account unhealthy.
    expect(elapsed).toBeGreaterThanOrEqual(DEADLINE_MS - 500);
    const landed = await waitFor('the takeover journaled as landed', async () =>
      (await node(secondAddr).liq.journal()).find((r) => r.subaccount === 1n && r.status === 'landed'),
    );
    expect(landed?.rank).toBe(1);
    const third = (await node(thirdAddr).liq.journal()).filter((r) => r.subaccount === 1n);
    expect(third.some((r) => r.txHash !== undefined)).toBe(false);
  });

  it('never submits a healthy sub-account, even when the candidate source says otherwise', async () => {
    expect(await health(HEALTHY_SUB)).toBeGreaterThanOrEqual(WAD);
    expect(await liquidatedEvents(HEALTHY_SUB)).toHaveLength(0);
    for (const n of nodes) {
      const rs = (await n.liq.journal()).filter((r) => r.subaccount === HEALTHY_SUB);
      expect(rs.every((r) => r.status === 'healthy' && r.txHash === undefined)).toBe(true);
      expect(n.liq.stats().byStatus.sent).toBeLessThanOrEqual(2);
    }
  });

  it('a burst goes out as one liquidateBatch; each sub-account is journaled from its own events', async () => {
    watched = [];
    const batcher = nodes.find((n) => !n.stopped) as (typeof nodes)[number];
    const me = batcher.wallet.address.toLowerCase();
    // Sub-accounts this live node is ranked first for, so one of its passes holds them all.
    const subs: bigint[] = [];
    for (let s = 20n; subs.length < 3; s++) if (orderFor(s)[0]?.toLowerCase() === me) subs.push(s);
    for (const s of subs) await openLong(s, 7n); // entered at 1730
    watched = [...subs];
    await setEthPrice(1610n);
    for (const s of subs)
      await waitFor(`sub ${s} healthy again`, async () => (await health(s)) >= WAD, 60_000);

    const logs = await rpc.getLogs({
      address: chain.xmargin.engine as Address,
      topics: [TOPICS_LIQ.Liquidated, null, subs.map((s) => `0x${s.toString(16).padStart(64, '0')}` as Hex)],
      fromBlock: 0,
    });
    expect(logs).toHaveLength(subs.length);
    expect(new Set(logs.map((l) => l.topics[3]?.slice(26)))).toEqual(new Set([me.slice(2)]));
    // One transaction carried them all: its input is liquidateBatch.
    const txs = new Set(logs.map((l) => l.transactionHash));
    expect(txs.size).toBe(1);
    const tx = await provider.getTransaction([...txs][0] as string);
    expect(tx?.data.slice(0, 10)).toBe(ENGINE.getFunction('liquidateBatch')?.selector);

    // Each record is closed landed from its own Liquidated event, with only its own seizure.
    // As in the first test: a loaded machine can hold the receipt wait up for several RPC timeouts.
    const ours = async () => (await batcher.liq.journal()).filter((r) => subs.includes(r.subaccount));
    const records = await waitFor(
      'the batch journaled as landed',
      async () => {
        const rs = (await ours()).filter((r) => r.status === 'landed');
        return rs.length === subs.length && rs;
      },
      60_000,
    ).catch(async (err: unknown) => {
      // Say what the journal holds instead: each record's status, error and transaction.
      const rs = (await ours()).map((r) => `${r.subaccount}:${r.status}:${r.error ?? ''}:${r.txHash ?? ''}`);
      throw new Error(`${String(err)}; journal: ${rs.join(' | ')}`);
    });
    for (const r of records) {
      expect(r.txHash).toBe([...txs][0]);
      expect(r.healthAfter as bigint).toBeGreaterThanOrEqual(WAD);
      expect(r.seizures).toHaveLength(1);
      expect(r.seizures?.[0]).toMatchObject({ srcEid: chain.eid, status: 'paid' });
    }
    expect(new Set(records.map((r) => r.seizures?.[0]?.id)).size).toBe(subs.length);
  }, 120_000);
});
