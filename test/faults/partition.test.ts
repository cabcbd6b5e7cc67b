// Fault scenarios of the p2p network and the books, on a 2-chain devnet (A: collateral, B: engine;
// 1 s blocks) with four real `xmargin node` processes: nodes 1-3 attestor + executor on both chains,
// node 4 a watcher that serves only B and follows A through the attestors' observations. DVN quorum
// 3 of 4 keys (a majority: no half of the network can verify alone).
//   partition  the p2p network split 2|2 ({1,2} | {3,4}) with each node's peer deny-list
//              (<dataDir>/denied-peers.txt, re-read on SIGHUP: libp2p's connection gater). Both
//              sides keep serving (status API, chain followers); a deposit made during the split is
//              signed but verified by neither side (2 < quorum 3, and 1 on the other), the watcher's
//              view of A stands still (observations from one attestor); nothing is verified twice.
//              After healing: the deposit credited once, every node's /status view of the trader's
//              account identical (the watcher's included) and every store closed, within a measured
//              time;
//   solvency   a real mismatch on chain: the vault on A's totalLocked(WETH) lowered by a direct
//              storage write (anvil_setStorageAt) below the credit engine B holds against it: every
//              node serving A raises the solvency alert (status, metric, log) within 2 blocks of A;
//              the storage restored, the alert clears.
// Every scenario ends with the DESIGN.md invariants checked on chain.

import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Contract, Interface, toBeHex, zeroPadValue } from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readArtifact } from '../../relayer/chain/artifacts.ts';
import type { ChainConfig } from '../../relayer/config/types.ts';
import { DENIED_PEERS_FILE } from '../../relayer/node/denied-peers.ts';
import {
  bootNet,
  checkInvariants,
  Depositor,
  keyOf,
  type Net,
  result,
  sleep,
  tokenOf,
  waitFor,
} from './harness.ts';

const WATCHER = 3;
const WETH = 10n ** 18n;
/** Target: views and stores of all four nodes agree again within this long after healing. */
const CONVERGE_MS = 20_000;

let net: Net | undefined;
let A: ChainConfig;
let trader: Depositor;

function n(): Net {
  if (net === undefined) throw new Error('no devnet');
  return net;
}

const all = (): number[] => n().cluster.nodes.map((x) => x.index);

/** Writes every node's deny-list (the peers outside its group) and signals it to re-read it. */
function partition(groups: number[][]): void {
  const { nodes } = n().cluster;
  for (const node of nodes) {
    const mine = groups.find((g) => g.includes(node.index)) ?? [node.index];
    const denied = nodes.filter((x) => !mine.includes(x.index)).map((x) => x.peerId);
    writeFileSync(
      path.join(node.dir, 'data', DENIED_PEERS_FILE),
      `# fault suite: partition ${JSON.stringify(groups)}\n${denied.join('\n')}\n`,
    );
    node.process?.kill('SIGHUP');
  }
}

/** The peers node i has open connections to, as node indexes. */
async function connected(i: number): Promise<number[]> {
  const ids = new Set((await n().status(i)).peers.map((p) => p.peerId));
  return n()
    .cluster.nodes.filter((x) => ids.has(x.peerId))
    .map((x) => x.index)
    .sort();
}

/** The trader's account as node i shows it in /status, in a form that compares across nodes. */
async function traderView(i: number): Promise<string | undefined> {
  const a = (await n().status(i)).accounts?.find(
    (x) => x.account.toLowerCase() === trader.address.toLowerCase(),
  );
  if (a === undefined) return undefined;
  return JSON.stringify({
    collateral: a.collateral.map((c) => `${c.chain} ${c.symbol ?? c.token} ${c.amount}`).sort(),
    engines: a.engines.map((e) => `${e.chain} ${e.collateralValue} ${e.equity} ${e.maintenance}`).sort(),
  });
}

async function observedA(): Promise<number> {
  const o = (await n().status(WATCHER)).observed?.find((c) => c.eid === A.eid);
  if (o === undefined) throw new Error('the watcher lists no observed chain A');
  return o.block;
}

const headOf = async (c: ChainConfig): Promise<number> =>
  Number(await n().rpc(c).send('eth_blockNumber', []));

describe('faults: a network partition, the solvency watch', () => {
  beforeAll(async () => {
    net = await bootNet({
      chains: 2,
      attestors: 4,
      quorum: 3,
      nodeOverrides: [undefined, undefined, undefined, { chains: ['devnet-b'], roles: ['watcher'] }],
      startFirst: [WATCHER],
    });
    [A] = net.chains as [ChainConfig, ChainConfig];
    console.log(`faults: devnet and nodes up in ${n().dir}`);
    trader = new Depositor(net, keyOf(net.manifest, 'trader'));
    await trader.deposit(WETH);
    await waitFor('the first deposit credited', async () =>
      (await trader.credit()) === WETH ? true : undefined,
    );
    await waitFor(
      'the watcher to follow A within a few blocks',
      async () => ((await headOf(A)) - (await observedA()) <= 5 ? true : undefined),
      90_000,
    );
  }, 300_000);

  afterAll(async () => {
    await net?.stop();
  }, 60_000);

  it('partition: 2|2, no side verifies alone, views and stores converge after healing', async () => {
    const before = await trader.credit();
    const groups = [
      [0, 1],
      [2, 3],
    ];
    const splitAt = Date.now();
    partition(groups);
    const splitMs = await waitFor(
      'each node connected only to its own side',
      async () => {
        for (const i of all()) {
          const side = (groups.find((g) => g.includes(i)) ?? []).filter((x) => x !== i);
          if (JSON.stringify(await connected(i)) !== JSON.stringify(side)) return undefined;
        }
        return Date.now() - splitAt;
      },
      20_000,
      100,
    );

    // A deposit during the split: signed on both sides, verified on neither.
    const during = 5n * 10n ** 17n;
    await trader.deposit(during);
    const headsAt = await Promise.all(
      all().map(async (i) => (await n().status(i)).chains.map((c) => c.head ?? 0)),
    );
    const watcherAt = await observedA();
    await waitFor(
      'nodes 1-3 to hold their signature of the open packet',
      async () => {
        for (const i of [0, 1, 2]) {
          const open = (await n().status(i)).packets.open ?? [];
          if (!open.some((p) => p.srcEid === A.eid && p.stage === 'collecting')) return undefined;
        }
        return true;
      },
      30_000,
      250,
    );
    await sleep(8_000);
    const creditDuring = await trader.credit();
    const watcherDuring = await observedA();
    // Both sides kept serving: every node answers and its followers moved on along its chains.
    const headsLater = await Promise.all(
      all().map(async (i) => (await n().status(i)).chains.map((c) => c.head ?? 0)),
    );
    const served = headsLater.every((h, i) => h.every((x, k) => x > (headsAt[i]?.[k] ?? 0) + 3));
    const stillSplit = (await Promise.all(all().map((i) => connected(i)))).every((c) => c.length === 1);

    // Heal.
    const healedAt = Date.now();
    partition([all()]);
    const meshMs = await waitFor(
      'every node connected to the three others',
      async () => {
        for (const i of all()) if ((await connected(i)).length < 3) return undefined;
        return Date.now() - healedAt;
      },
      30_000,
      100,
    );
    // The lowest score any node gives a peer while the deposit is on its way: a peer pushed below
    // gossipsub's publish threshold (-80) no longer receives our signatures.
    let lowestScore = Number.POSITIVE_INFINITY;
    const creditedMs = await waitFor(
      'the deposit made during the split credited',
      async () => {
        for (const i of all())
          for (const p of (await n().status(i)).peers) lowestScore = Math.min(lowestScore, p.score);
        return (await trader.credit()) === before + during ? Date.now() - healedAt : undefined;
      },
      45_000,
      200,
    );
    const expected = JSON.stringify({
      collateral: [`${A.name} WETH ${Number((before + during) / 10n ** 15n) / 1000}`],
    });
    const viewsMs = await waitFor(
      'every node to show the same view of the account, with 1.5 WETH locked on A',
      async () => {
        const views = await Promise.all(all().map((i) => traderView(i)));
        if (views.some((v) => v === undefined || v !== views[0])) return undefined;
        const collateral = (JSON.parse(views[0] as string) as { collateral: string[] }).collateral;
        return JSON.stringify({ collateral }) === expected ? Date.now() - healedAt : undefined;
      },
      45_000,
      200,
    );
    const storesMs = await waitFor(
      'every store to close the packet',
      async () => {
        for (const i of all()) if ((await n().status(i)).packets.inFlight !== 0) return undefined;
        return Date.now() - healedAt;
      },
      45_000,
      200,
    );
    const convergedMs = Math.max(viewsMs, storesMs);
    const inv = await checkInvariants(n(), [trader.address]);
    const ok =
      creditDuring === before &&
      watcherDuring <= watcherAt + 1 &&
      served &&
      stillSplit &&
      convergedMs <= CONVERGE_MS &&
      inv.failed.length === 0;
    result(
      'partition',
      ok,
      `split 2|2 in ${splitMs} ms (deny-list + SIGHUP); during 10 s of split: deposit signed by nodes 1-3, credited ${creditDuring === before ? 'nowhere' : 'EARLY'}, watcher's view of A held at block ${watcherDuring} (${watcherDuring - watcherAt} blocks), followers of all 4 nodes kept moving; healed: mesh back in ${meshMs} ms, deposit credited once ${creditedMs} ms (lowest peer score meanwhile ${lowestScore.toFixed(1)}), all 4 /status views of the account identical ${viewsMs} ms and every store closed ${storesMs} ms after healing; ${inv.summary}`,
    );
    expect(creditDuring).toBe(before);
    expect(watcherDuring).toBeLessThanOrEqual(watcherAt + 1);
    expect(served).toBe(true);
    expect(stillSplit).toBe(true);
    expect(convergedMs).toBeLessThanOrEqual(CONVERGE_MS);
    expect(await trader.credit()).toBe(before + during);
    expect(inv.failed).toEqual([]);
  }, 150_000);

  it('solvency: a vault locking less than the engine credits raises the alert within 2 blocks', async () => {
    const pa = n().rpc(A);
    const weth = tokenOf(A, 'WETH');
    const vault = new Contract(A.xmargin.vault, readArtifact('CollateralVault').abi, pa);
    const locked = (await vault.getFunction('totalLocked')(weth)) as bigint;
    const credit = await trader.credit();
    expect(locked).toBeGreaterThanOrEqual(credit);
    // The storage slot of totalLocked[WETH], from the access list of a call that reads it.
    const data = new Interface(['function totalLocked(address) view returns (uint256)']).encodeFunctionData(
      'totalLocked',
      [weth],
    );
    const list = (await pa.send('eth_createAccessList', [{ to: A.xmargin.vault, data }, 'latest'])) as {
      accessList: { address: string; storageKeys: string[] }[];
    };
    const keys = list.accessList.find(
      (e) => e.address.toLowerCase() === A.xmargin.vault.toLowerCase(),
    )?.storageKeys;
    expect(keys).toHaveLength(1);
    const slot = (keys as string[])[0] as string;
    const servingA = [0, 1, 2];
    const alerted = async (i: number) => (await n().status(i)).solvency?.ok === false;
    for (const i of servingA) expect(await alerted(i)).toBe(false);
    // No false alarm so far: not through the boot, the deposits, the partition nor its healing.
    const logOf = (i: number) => readFileSync(n().cluster.nodes[i]?.logFile as string, 'utf8');
    const falseAlarms = all().filter((i) => logOf(i).includes('SOLVENCY ALERT')).length;
    expect(falseAlarms).toBe(0);

    // One wei short of the credit engine B holds against the vault.
    const tampered = credit - 1n;
    await pa.send('anvil_setStorageAt', [A.xmargin.vault, slot, zeroPadValue(toBeHex(tampered), 32)]);
    expect((await vault.getFunction('totalLocked')(weth)) as bigint).toBe(tampered);
    const tamperedAt = await headOf(A);
    const alertBlocks = await waitFor(
      'every node serving A to raise the solvency alert',
      async () => {
        for (const i of servingA) if (!(await alerted(i))) return undefined;
        return (await headOf(A)) - tamperedAt;
      },
      20_000,
      100,
    );
    const s0 = (await n().status(0)).solvency;
    const alert = s0?.alerts[0];
    const metric = await (await fetch(`${n().cluster.nodes[0]?.apiUrl}/metrics`)).text();
    const metricLine = metric
      .split('\n')
      .find((l) => l.startsWith('xmargin_solvency_shortfall{') && l.includes('WETH'));
    const logged = logOf(0).includes('SOLVENCY ALERT');

    // Restore: the alert clears.
    await pa.send('anvil_setStorageAt', [A.xmargin.vault, slot, zeroPadValue(toBeHex(locked), 32)]);
    const restoredAt = await headOf(A);
    const clearedBlocks = await waitFor(
      'the alert to clear on every node',
      async () => {
        for (const i of servingA) if (await alerted(i)) return undefined;
        return (await headOf(A)) - restoredAt;
      },
      20_000,
      100,
    );
    const inv = await checkInvariants(n(), [trader.address]);
    const ok =
      alertBlocks <= 2 &&
      alert?.chain === A.name &&
      alert.symbol === 'WETH' &&
      alert.shortfall === '0.000000000000000001' &&
      metricLine !== undefined &&
      logged &&
      inv.failed.length === 0;
    result(
      'solvency',
      ok,
      `totalLocked(WETH) on A set 1 wei below engine B's credit (anvil_setStorageAt): no alert before it (${falseAlarms} false alarms through boot, deposits and the partition); alert on all 3 nodes serving A within ${alertBlocks} block(s) of A (status solvency.ok false, shortfall ${alert?.shortfall} WETH, metric "${metricLine}", warn log line); restored: cleared within ${clearedBlocks} block(s); ${inv.summary}`,
    );
    expect(alertBlocks).toBeLessThanOrEqual(2);
    expect(alert).toMatchObject({ chain: A.name, symbol: 'WETH', shortfall: '0.000000000000000001' });
    expect(metricLine).toBeDefined();
    expect(logged).toBe(true);
    expect(inv.failed).toEqual([]);
  }, 90_000);
});
