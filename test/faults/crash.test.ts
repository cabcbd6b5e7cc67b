// Crash scenarios of the liquidator and the store, on a 2-chain devnet (engine on B, 1 s blocks) whose
// three real `xmargin node` processes run attestor, executor and liquidator (market-harness.ts):
//   crash-liquidator     the first-ranked liquidator (rendezvous order of the sub-account) is killed
//                        with SIGKILL right after its journal says 'sent', then restarted: the
//                        liquidation lands once, the restarted node closes its record from the
//                        receipt without sending again (its nonce moves by one), the others never send;
//   liquidator-stopped   the first-ranked liquidator frozen with SIGSTOP before the price drop: the
//                        next-ranked liquidates after the deadline; resumed, the frozen one sends
//                        nothing for that state;
//   crash-store-write    a node down while chain B mines hundreds of blocks and trades and A -> B
//                        deposits go through, then restarted and killed with SIGKILL at random moments
//                        of its catch-up (store batches being written), three times: each time the
//                        store opens again (the test opens it between runs and reads the margin
//                        cursors), and at the end the node's margin view equals a node that was never
//                        killed and the engine's own health, and no packet was verified twice.
// The nodes heartbeat every 5 s (a silent peer counts as live for 15 s) and take over after a 4 s
// liquidation deadline, so the backup acts by the deadline, not because the frozen node left the live
// set: its last heartbeat is at most 5 s old when it freezes, so it stays live for 10 s or more, and the
// backup's turn comes ~7 s after the freeze at the latest (the drop mined ~2 s after it, the deadline,
// a pass a block). With the default 3 s (live for 9 s) the two could meet: a node frozen 3 s after its
// last heartbeat left the other nodes' live sets ~6 s later, and then the third-ranked node, ranked
// second among those left, took over at the deadline while the second-ranked one's pass fell 2 ms
// short of it. Every scenario ends with the DESIGN.md invariants checked on chain.

import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { formatUnits, parseUnits } from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rendezvousOrder } from '../../attestor/rendezvous.ts';
import type { AccountStatus, LiquidationEntry } from '../../relayer/api/types.ts';
import type { Address, ChainConfig } from '../../relayer/config/types.ts';
import { rankKey } from '../../relayer/liquidation/index.ts';
import { createMarginStore } from '../../relayer/margin/persist.ts';
import { openStore } from '../../relayer/store/index.ts';
import {
  caughtUp,
  checkInvariants,
  Depositor,
  heads,
  keyOf,
  type Net,
  result,
  sleep,
  waitFor,
} from './harness.ts';
import { MarketDesk, USDC, WAD } from './market-harness.ts';

const DEADLINE_MS = 4_000;
const HEARTBEAT_MS = 5_000;

let desk: MarketDesk | undefined;

function d(): MarketDesk {
  if (desk === undefined) throw new Error('no devnet');
  return desk;
}
const n = (): Net => d().net;

/** Node indexes in the rendezvous order of (engine B, account, subaccount 0) over all three. */
function rankedNodes(account: Address): number[] {
  const nodes = n().cluster.nodes;
  const order = rendezvousOrder(
    rankKey(d().B.eid, account, 0n),
    nodes.map((x) => x.signer as Address),
  );
  return order.map((s) => nodes.findIndex((x) => x.signer.toLowerCase() === s.toLowerCase()));
}

const nonceOf = (i: number, tag: 'latest' | 'pending' = 'latest'): Promise<number> =>
  d().p.getTransactionCount(n().cluster.nodes[i]?.signer as string, tag);

/** Node i's journal entries (from /status) for `account`. */
async function entriesOf(i: number, account: Address): Promise<LiquidationEntry[]> {
  return (await n().status(i)).liquidations.filter((l) => l.account.toLowerCase() === account.toLowerCase());
}

/** States in which a node has sent (or may have sent) a liquidation. */
const SENDING = new Set(['claimed', 'sent', 'landed']);

/** One trader whose 9.3 ETH long on 10,000 USDC is unhealthy (with equity left) at $1,000. */
async function riskyTrader(scenario: number): Promise<Address> {
  await d().setEthPrice(2000n);
  const [trader] = await d().openTraders(scenario, [{ usdc: USDC(10_000), size: parseUnits('9.3', 18) }]);
  return trader as Address;
}

/** A node's accounts as compared across nodes: sorted, without the risk figures (price history). */
function comparable(accounts: AccountStatus[]): string {
  return JSON.stringify(
    accounts
      .map((a) => ({
        ...a,
        engines: a.engines.map(({ varUsd: _v, breachProbability: _b, ...e }) => e),
      }))
      .sort((x, y) => `${x.account}:${x.subaccount}`.localeCompare(`${y.account}:${y.subaccount}`)),
  );
}

describe('faults: a liquidator killed or frozen mid-liquidation, a store killed mid-write', () => {
  beforeAll(async () => {
    desk = await MarketDesk.boot({
      nodeArgs: ['--liquidation-deadline', String(DEADLINE_MS), '--heartbeat-interval', String(HEARTBEAT_MS)],
    });
  }, 240_000);

  afterAll(async () => {
    await desk?.net.stop();
  }, 60_000);

  it('crash-liquidator: kill -9 right after the broadcast, restart: lands once, journal closed, not sent again', async () => {
    const { cluster } = n();
    const trader = await riskyTrader(21);
    const [first, ...others] = rankedNodes(trader) as [number, ...number[]];
    const nonces = await Promise.all(cluster.nodes.map((_, i) => nonceOf(i)));

    // Watch the first-ranked node's journal from before the drop: the kill follows the 'sent' record.
    let watching = true;
    const killed = (async () => {
      while (watching) {
        // 'claimed' comes a few ms before the broadcast: wait for 'sent' (or miss it: 'landed').
        const e = (await entriesOf(first, trader).catch(() => [])).find(
          (x) => x.state !== 'detected' && x.state !== 'claimed',
        );
        if (e !== undefined) {
          if (e.state === 'sent') await cluster.stop(first, { kill: true });
          return { id: e.id, state: e.state, txHash: e.txHash, at: Date.now() };
        }
        await sleep(20);
      }
      return undefined;
    })();
    const t0 = Date.now();
    const dropBlock = await d().setEthPrice(1000n);
    const atKill = await Promise.race([killed, sleep(30_000).then(() => undefined)]);
    watching = false;
    if (atKill === undefined) throw new Error('the first-ranked node never journaled a liquidation');
    const minedAtKill =
      atKill.txHash === undefined ? false : (await d().p.getTransactionReceipt(atKill.txHash)) !== null;

    await sleep(1_500); // the transaction is mined while the node is down
    const restartedAt = Date.now();
    await cluster.start(first);
    const closed = await waitFor(
      'the restarted node to close its record',
      async () => (await entriesOf(first, trader)).find((e) => e.id === atKill.id && e.state !== 'sent'),
      45_000,
      200,
    );
    const closeMs = Date.now() - restartedAt;
    await sleep(DEADLINE_MS + 2_000); // room for a (wrong) second send by it or a takeover by the others
    const liqs = (await d().liquidations(dropBlock)).filter(
      (l) => l.account.toLowerCase() === trader.toLowerCase(),
    );
    const nonceAfter = await Promise.all(cluster.nodes.map((_, i) => nonceOf(i)));
    const othersSent = (await Promise.all(others.map((i) => entriesOf(i, trader))))
      .flat()
      .filter((e) => SENDING.has(e.state));
    const signer = cluster.nodes[first]?.signer.toLowerCase();
    const health = await d().healthOf(trader);
    const { failed, summary } = await checkInvariants(n(), [trader]);
    const ok =
      atKill.state === 'sent' &&
      liqs.length === 1 &&
      liqs[0]?.liquidator.toLowerCase() === signer &&
      closed.state === 'landed' &&
      closed.txHash === liqs[0]?.tx &&
      nonceAfter[first] === (nonces[first] ?? 0) + 1 &&
      others.every((i) => nonceAfter[i] === nonces[i]) &&
      othersSent.length === 0 &&
      health.health >= WAD &&
      failed.length === 0;
    result(
      'crash-liquidator',
      ok,
      `node ${first + 1} (rank 0) killed ${((atKill.at - t0) / 1000).toFixed(1)} s after the price drop with its journal at '${atKill.state}' (tx ${minedAtKill ? 'already mined' : 'pending'}); restarted, record closed '${closed.state}' from the receipt ${(closeMs / 1000).toFixed(1)} s after the restart; ${liqs.length} Liquidated, its nonce +${(nonceAfter[first] ?? 0) - (nonces[first] ?? 0)}, the other nodes' +${others.map((i) => (nonceAfter[i] ?? 0) - (nonces[i] ?? 0)).join('/+')}; ${summary}`,
    );
    expect(atKill.state, 'killed after the broadcast was journaled').toBe('sent');
    expect(liqs, 'exactly one liquidation').toHaveLength(1);
    expect(liqs[0]?.liquidator.toLowerCase()).toBe(signer);
    expect(closed.state).toBe('landed');
    expect(closed.txHash).toBe(liqs[0]?.tx);
    expect(nonceAfter[first], 'the restarted node sent nothing more').toBe((nonces[first] ?? 0) + 1);
    for (const i of others) expect(nonceAfter[i], `node ${i + 1} sent nothing`).toBe(nonces[i]);
    expect(othersSent).toEqual([]);
    expect(health.health).toBeGreaterThanOrEqual(WAD);
    expect(failed).toEqual([]);
  }, 90_000);

  it('liquidator-stopped: the first-ranked frozen before the drop, the next-ranked liquidates after the deadline', async () => {
    const { cluster } = n();
    const trader = await riskyTrader(22);
    const [first, second, third] = rankedNodes(trader) as [number, number, number];
    const nonces = await Promise.all(cluster.nodes.map((_, i) => nonceOf(i)));
    cluster.nodes[first]?.process?.kill('SIGSTOP');
    let resumed = false;
    try {
      const dropBlock = await d().setEthPrice(1000n);
      const t0 = Date.now();
      const landed = await waitFor(
        'the next-ranked node to liquidate',
        async () => {
          const l = (await d().liquidations(dropBlock)).filter(
            (x) => x.account.toLowerCase() === trader.toLowerCase(),
          );
          return l.length > 0 ? l : undefined;
        },
        45_000,
        100,
      );
      const takeoverMs = Date.now() - t0;
      const blocks = (landed[0]?.block ?? 0) - dropBlock;
      cluster.nodes[first]?.process?.kill('SIGCONT');
      resumed = true;
      // The resumed node catches up on the drop and the liquidation; give it room to act wrongly.
      const at = await heads(n());
      await waitFor('the resumed node to catch up', async () =>
        (await caughtUp(n(), first, at)) ? true : undefined,
      );
      await sleep(DEADLINE_MS + 2_000);
      const liqs = (await d().liquidations(dropBlock)).filter(
        (l) => l.account.toLowerCase() === trader.toLowerCase(),
      );
      const nonceAfter = await Promise.all(cluster.nodes.map((_, i) => nonceOf(i)));
      const frozenSent = (await entriesOf(first, trader)).filter((e) => SENDING.has(e.state));
      const byDeadline = takeoverMs >= DEADLINE_MS - 1_000 && takeoverMs <= DEADLINE_MS + 6_000;
      const { failed, summary } = await checkInvariants(n(), [trader]);
      const ok =
        liqs.length === 1 &&
        liqs[0]?.liquidator.toLowerCase() === cluster.nodes[second]?.signer.toLowerCase() &&
        byDeadline &&
        nonceAfter[first] === nonces[first] &&
        nonceAfter[third] === nonces[third] &&
        frozenSent.length === 0 &&
        failed.length === 0;
      result(
        'liquidator-stopped',
        ok,
        `node ${first + 1} (rank 0) frozen; node ${second + 1} (rank 1) liquidated ${(takeoverMs / 1000).toFixed(1)} s (${blocks} blocks) after the price drop (deadline ${DEADLINE_MS / 1000} s after its first sight; liveness ${(3 * HEARTBEAT_MS) / 1000} s); resumed, node ${first + 1} sent nothing (nonce +${(nonceAfter[first] ?? 0) - (nonces[first] ?? 0)}, journal ${(await entriesOf(first, trader)).map((e) => e.state).join(', ') || 'empty'}); ${liqs.length} Liquidated; ${summary}`,
      );
      expect(liqs, 'exactly one liquidation').toHaveLength(1);
      expect(liqs[0]?.liquidator.toLowerCase()).toBe(cluster.nodes[second]?.signer.toLowerCase());
      expect(takeoverMs, 'the backup waited for the deadline').toBeGreaterThanOrEqual(DEADLINE_MS - 1_000);
      expect(takeoverMs, 'the backup acted soon after the deadline').toBeLessThanOrEqual(DEADLINE_MS + 6_000);
      expect(nonceAfter[first], 'the frozen node sent nothing').toBe(nonces[first]);
      expect(nonceAfter[third]).toBe(nonces[third]);
      expect(frozenSent).toEqual([]);
      expect(failed).toEqual([]);
    } finally {
      if (!resumed) cluster.nodes[first]?.process?.kill('SIGCONT');
    }
  }, 90_000);

  it('crash-store-write: kill -9 at random moments of a catch-up, three times; the view equals the chain', async () => {
    const { cluster } = n();
    const net = n();
    const victim = 2;
    const node = cluster.nodes[victim];
    if (node === undefined) throw new Error('no node 3');
    const [A, B] = net.chains as [ChainConfig, ChainConfig];
    await d().setEthPrice(2000n);
    await cluster.stop(victim);
    // While it is down: trades on B and deposits A -> B (packets to verify).
    const traders = await d().openTraders(
      23,
      Array.from({ length: 40 }, (_, i) => ({ usdc: USDC(1_000 + i), size: parseUnits('0.1', 18) })),
    );
    const depositor = new Depositor(net, keyOf(net.manifest, 'trader'));
    const creditBefore = await depositor.credit();
    await depositor.deposit(10n ** 17n);
    await depositor.deposit(2n * 10n ** 17n);
    /** What the node has to catch up on before each restart: 300 blocks on each chain, trades, a price. */
    const backlog = async (round: number): Promise<void> => {
      for (const c of [A, B]) await net.rpc(c).send('anvil_mine', ['0x12c']);
      const more = await d().openTraders(
        30 + round,
        Array.from({ length: 10 }, () => ({ usdc: USDC(2_000), size: parseUnits('0.2', 18) })),
      );
      traders.push(...more);
      await d().setEthPrice(1990n - BigInt(round));
    };
    const storeDir = path.join(node.dir, 'data', 'db');
    /** The store's newest write-ahead log and its size. */
    const wal = (): { name: string; size: number } | undefined => {
      const name = readdirSync(storeDir)
        .filter((f) => /^\d+\.log$/.test(f))
        .sort()
        .at(-1);
      return name === undefined ? undefined : { name, size: statSync(path.join(storeDir, name)).size };
    };

    const cursorsAt = async (): Promise<number[]> => {
      const store = await openStore(storeDir);
      try {
        const m = createMarginStore(store);
        return await Promise.all([A, B].map(async (c) => (await m.cursor(c.eid))?.number ?? -1));
      } finally {
        await store.close();
      }
    };
    const kills: { afterMs: number; from: number; to: number; head: number }[] = [];
    for (let k = 0; k < 3; k++) {
      await backlog(k);
      const from = (await cursorsAt())[1] ?? -1;
      const walBefore = wal();
      const startedAt = Date.now();
      await cluster.start(victim);
      // LevelDB appends every batch to its write-ahead log (the newest NNNNNN.log, a new one per
      // open): once that log of this run has grown by a random 3-30 KB (a cursor batch is ~150 B),
      // the node is writing its catch-up, and the kill lands among batch writes.
      const grown = 3_072 + Math.floor(Math.random() * 27_648);
      await waitFor(
        'the store to take the catch-up',
        async () => {
          const log = wal();
          return log !== undefined && log.name !== walBefore?.name && log.size >= grown ? true : undefined;
        },
        60_000,
        10,
      );
      await cluster.stop(victim, { kill: true });
      // The store opens after the crash: what the view committed is there.
      kills.push({
        afterMs: Date.now() - startedAt,
        from,
        to: (await cursorsAt())[1] ?? -1,
        head: (await heads(net))[1] ?? 0,
      });
    }
    // A kill lands mid-write when the view had committed some of the backlog and not all of it.
    const midway = kills.filter((k) => k.to > k.from && k.to < k.head).length;

    const restartedAt = Date.now();
    await cluster.start(victim);
    const target = await heads(net);
    await waitFor('the crashed node to catch up', async () =>
      (await caughtUp(net, victim, target)) ? true : undefined,
    );
    const catchUpMs = Date.now() - restartedAt;
    // Its view against a node never killed, and against the engine's own health.
    const same = await waitFor(
      'the crashed node and node 1 to agree on every account',
      async () => {
        const [mine, theirs] = await Promise.all([net.status(victim), net.status(0)]);
        const a = comparable(mine.accounts ?? []);
        return a === comparable(theirs.accounts ?? []) ? (mine.accounts ?? []) : undefined;
      },
      30_000,
      500,
    );
    const mismatches: string[] = [];
    for (const t of traders) {
      const onChain = await d().healthOf(t);
      const view = same
        .find((a) => a.account.toLowerCase() === t.toLowerCase())
        ?.engines.find((e) => e.engineEid === B.eid);
      if (
        view?.equity !== formatUnits(onChain.equity, 18) ||
        view.collateralValue !== formatUnits(onChain.collateralValue, 18)
      )
        mismatches.push(t);
    }
    const credited = await waitFor(
      'both deposits credited',
      async () => ((await depositor.credit()) === creditBefore + 3n * 10n ** 17n ? true : undefined),
      45_000,
    );
    const { failed, summary } = await checkInvariants(net, [depositor.address, ...traders]);
    const ok =
      midway >= 2 &&
      mismatches.length === 0 &&
      same.length >= traders.length &&
      credited &&
      failed.length === 0;
    result(
      'crash-store-write',
      ok,
      `node ${victim + 1} killed ${kills.length}x during catch-ups of 300+ blocks, ${midway} of them mid-way (${kills.map((k) => `${(k.afterMs / 1000).toFixed(1)} s after start, B's store cursor ${k.from} -> ${k.to} of ${k.head}`).join('; ')}); the store opened each time; caught up ${(catchUpMs / 1000).toFixed(1)} s after the last restart; its ${same.length} accounts equal node 1's and ${traders.length - mismatches.length}/${traders.length} equal engine.health to the wei; both deposits credited once; ${summary}`,
    );
    expect(
      midway,
      'kills that hit a catch-up under way (the cursor had moved, not to the end)',
    ).toBeGreaterThanOrEqual(2);
    expect(mismatches).toEqual([]);
    expect(same.length).toBeGreaterThanOrEqual(traders.length);
    expect(failed).toEqual([]);
  }, 90_000);
});
