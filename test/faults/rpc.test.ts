// Fault scenarios at the chain edge, on a 2-chain devnet (A: collateral, B: engine; 1 s blocks,
// 3 confirmations in every ULN config) with three real `xmargin node` processes (attestor +
// executor; DVN quorum 2 of 3). Every node reaches chain A through one HTTP JSON-RPC proxy the test
// runs on 127.0.0.1 (the whole attestor set sees the fault, so nothing can be credited around it):
//   rpc-faults  the proxy holds requests unanswered (timeout), then answers HTTP 500 / JSON-RPC
//               errors: every node reports chain A rpcOk false with a lastError in /status (a hung
//               RPC within 10 s: the first timed-out attempt, default limits 5 s x 3), keeps retrying, /metrics keeps answering; a deposit made during the fault is credited once
//               after healing; then the proxy serves the latest block N behind (lag): the nodes
//               follow N behind without error or reorg and catch up once it passes again;
//   reorg       chain A switched to manual mining: snapshot, a deposit (1 block, below the 3
//               confirmations), evm_revert, the chain rebuilt past the confirmations with other
//               transactions: the reorged-out deposit is never signed nor credited; a deposit that
//               stays is credited after its confirmations.
// Every scenario ends with the DESIGN.md invariants checked on chain.

import { readFileSync } from 'node:fs';
import { Contract, keccak256, Wallet } from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RECEIVE_ULN, TOPIC } from '../../attestor/abi.ts';
import type { ChainConfig, Hex } from '../../relayer/config/types.ts';
import { bootNet, checkInvariants, Depositor, keyOf, type Net, result, sleep, waitFor } from './harness.ts';
import { FaultProxy } from './rpc-proxy.ts';

const CONFIRMATIONS = 3;
/** Target: a hung RPC shows in every node's status within this long (default timeout 5 s + a poll). */
const HUNG_REPORTED_MS = 10_000;

let net: Net | undefined;
let proxy: FaultProxy | undefined;
let A: ChainConfig;
let B: ChainConfig;
let trader: Depositor;

function n(): Net {
  if (net === undefined) throw new Error('no devnet');
  return net;
}
function px(): FaultProxy {
  if (proxy === undefined) throw new Error('no proxy');
  return proxy;
}

/** Chain A as node i reports it in /status. */
async function chainA(i: number) {
  const s = await n().status(i);
  const c = s.chains.find((x) => x.eid === A.eid);
  if (c === undefined) throw new Error(`node ${i + 1} reports no chain A`);
  return c;
}

/** Chain A's head, uncached (the provider caches eth_blockNumber for its polling interval). */
const headA = async (): Promise<number> => Number(await n().rpc(A).send('eth_blockNumber', []));

const nodes = (): number[] => n().cluster.nodes.map((x) => x.index);

describe('faults: a misbehaving RPC, a reorg within the confirmation depth', () => {
  beforeAll(async () => {
    net = await bootNet({
      chains: 2,
      attestors: 3,
      quorum: 2,
      confirmations: CONFIRMATIONS,
      nodeManifest: async (manifest) => {
        const a = manifest.chains[0] as ChainConfig;
        proxy = new FaultProxy(a.rpcUrls[0] as string);
        const url = await proxy.listen();
        return {
          ...manifest,
          chains: manifest.chains.map((c, i) => (i === 0 ? { ...c, rpcUrls: [url] } : c)),
        };
      },
    });
    [A, B] = net.chains as [ChainConfig, ChainConfig];
    trader = new Depositor(net, keyOf(net.manifest, 'trader'));
    await trader.deposit(10n ** 18n);
    await waitFor('the first deposit credited', async () =>
      (await trader.credit()) === 10n ** 18n ? true : undefined,
    );
  }, 240_000);

  afterAll(async () => {
    await net?.stop();
    await proxy?.close();
  }, 60_000);

  it('rpc-faults: timeouts and errors on chain A are reported, retried, and cost nothing', async () => {
    const before = await trader.credit();
    const all = nodes();

    // 1. Timeout: the proxy holds every request. The node's default limits (5 s × 3 attempts) fail a
    // read after ~16 s; the status reports the hung RPC from the first timed-out attempt (5 s).
    px().set('timeout');
    const faultAt = Date.now();
    const during = 3n * 10n ** 17n;
    await trader.deposit(during);
    const timeoutSeenMs = await waitFor(
      'every node to report chain A failing with a timeout',
      async () => {
        for (const i of all) {
          const c = await chainA(i);
          if (c.rpcOk || !/timed out|timeout/i.test(c.lastError ?? '')) return undefined;
        }
        return Date.now() - faultAt;
      },
      90_000,
      500,
    );
    const timeoutError = (await chainA(0)).lastError ?? '';

    // 2. Errors: HTTP 500 and JSON-RPC errors, answered at once.
    px().set('error');
    const errorAt = Date.now();
    await waitFor(
      'every node to report the errors',
      async () => {
        for (const i of all) {
          const c = await chainA(i);
          // The proxy's own answers (not the hang-up of the requests it held).
          if (c.rpcOk || !/500|internal error/i.test(c.lastError ?? '')) return undefined;
        }
        return true;
      },
      45_000,
      250,
    );
    const errorSeenMs = Date.now() - errorAt;
    const errorError = (await chainA(0)).lastError ?? '';
    // Still retrying (requests keep arriving), /metrics still answers, nothing credited meanwhile.
    const r0 = px().requests;
    await sleep(3_000);
    const retries = px().requests - r0;
    const metricsOk = (
      await Promise.all(
        all.map(async (i) => {
          const r = await fetch(`${n().cluster.nodes[i]?.apiUrl}/metrics`);
          return r.ok && (await r.text()).includes('xmargin_');
        }),
      )
    ).every(Boolean);
    const creditDuringFault = await trader.credit();

    // 3. Heal.
    px().set('pass');
    const healedAt = Date.now();
    const recoverMs = await waitFor(
      'every node to report chain A healthy again',
      async () => {
        for (const i of all) if (!(await chainA(i)).rpcOk) return undefined;
        return Date.now() - healedAt;
      },
      30_000,
      100,
    );
    const creditedMs = await waitFor('the deposit made during the fault credited', async () =>
      (await trader.credit()) === before + during ? Date.now() - healedAt : undefined,
    );

    // 4. Lag: the proxy serves the latest block LAG blocks behind.
    const LAG = px().lagBlocks;
    px().set('lag');
    await sleep((LAG + 3) * 1_000);
    const realHead = await headA();
    const lagged = await Promise.all(all.map((i) => chainA(i)));
    const behind = Math.min(...lagged.map((c) => realHead - (c.head ?? 0)));
    const lagRpcOk = lagged.every((c) => c.rpcOk);
    px().set('pass');
    const unlagAt = Date.now();
    const target = await headA();
    const caughtUpMs = await waitFor(
      'every node back at the head of chain A',
      async () => {
        for (const i of all) {
          const c = await chainA(i);
          if (!c.rpcOk || (c.head ?? 0) < target) return undefined;
        }
        return Date.now() - unlagAt;
      },
      30_000,
      100,
    );

    await sleep(2_000);
    const final = await trader.credit();
    const inv = await checkInvariants(n(), [trader.address]);
    const ok =
      creditDuringFault === before &&
      timeoutSeenMs <= HUNG_REPORTED_MS &&
      retries > 0 &&
      metricsOk &&
      recoverMs <= 5_000 &&
      final === before + during &&
      behind >= LAG - 1 &&
      lagRpcOk &&
      inv.failed.length === 0;
    result(
      'rpc-faults',
      ok,
      `recovered (rpcOk on all 3 nodes) ${recoverMs} ms after healing; timeout reported after ${(timeoutSeenMs / 1000).toFixed(1)} s (target ${HUNG_REPORTED_MS / 1000} s, default limits 5 s × 3 attempts; "${timeoutError.slice(0, 60)}"), errors after ${errorSeenMs} ms ("${errorError.slice(0, 60)}"), ${retries} retried requests in 3 s, /metrics answered; deposit made during the fault credited once ${creditedMs} ms after healing; lag ${LAG}: nodes held ${behind} blocks behind with rpcOk, caught up ${caughtUpMs} ms after; ${inv.summary}`,
    );
    expect(creditDuringFault).toBe(before);
    expect(timeoutSeenMs).toBeLessThanOrEqual(HUNG_REPORTED_MS);
    expect(retries).toBeGreaterThan(0);
    expect(metricsOk).toBe(true);
    expect(recoverMs).toBeLessThanOrEqual(5_000);
    expect(final).toBe(before + during);
    expect(behind).toBeGreaterThanOrEqual(LAG - 1);
    expect(lagRpcOk).toBe(true);
    expect(inv.failed).toEqual([]);
  }, 240_000);

  it('reorg: a deposit reorged out below the confirmations is never signed nor credited', async () => {
    const pa = n().rpc(A);
    const before = await trader.credit();
    await trader.prepare();
    // Manual blocks on A: every transaction mines its own block, nothing else does.
    await pa.send('evm_setIntervalMining', [0]);
    await pa.send('evm_setAutomine', [true]);
    let ghostHash: Hex | undefined;
    let ghostHeader: Hex | undefined;
    let ghostGuid: string | undefined;
    let rebuilt = 0;
    try {
      const snapshot = (await pa.send('evm_snapshot', [])) as string;
      const base = await headA();
      const ghost = 7n * 10n ** 17n;
      const ghostBlock = await trader.deposit(ghost);
      const receipt = (await pa.getLogs({ fromBlock: ghostBlock, toBlock: ghostBlock })).find(
        (l) => l.topics[0] === TOPIC.PacketSent,
      );
      if (receipt === undefined) throw new Error('no PacketSent in the deposit block');
      // PacketSent(bytes encodedPacket, bytes options, address sendLibrary): header 81 bytes, guid 32, message.
      const [encoded] = new Contract(A.layerZero.endpointV2, [
        'event PacketSent(bytes encodedPayload, bytes options, address sendLibrary)',
      ]).interface.decodeEventLog('PacketSent', receipt.data, receipt.topics) as unknown as [string];
      ghostHeader = `0x${encoded.slice(2, 2 + 162)}` as Hex;
      ghostGuid = `0x${encoded.slice(2 + 162, 2 + 162 + 64)}`;
      ghostHash = keccak256(`0x${encoded.slice(2 + 162)}`) as Hex;
      // Let the nodes see the block (1 deep, below the 3 confirmations), then reorg it out.
      await waitFor('every node to hold the deposit block', async () => {
        for (const i of nodes()) if (((await chainA(i)).head ?? 0) < ghostBlock) return undefined;
        return true;
      });
      if ((await pa.send('evm_revert', [snapshot])) !== true) throw new Error('evm_revert refused');
      trader.resetNonce();
      // Rebuild A past the confirmations with other transactions (transfers of the trader's ETH;
      // explicit nonces: the provider's cached count predates the revert).
      const w = new Wallet(keyOf(n().manifest, 'trader').privateKey, pa);
      let nonce = Number(await pa.send('eth_getTransactionCount', [w.address, 'latest']));
      for (let i = 0; i < CONFIRMATIONS + 3; i++) {
        await (await w.sendTransaction({ to: w.address, value: BigInt(i + 1), nonce: nonce++ })).wait();
        rebuilt++;
      }
      trader.resetNonce();
      const reorgHead = await headA();
      expect(reorgHead).toBe(base + rebuilt);
      // Back to 1 s blocks; wait a bounded time for anything the ghost could have caused.
      await pa.send('evm_setAutomine', [false]);
      await pa.send('evm_setIntervalMining', [1]);
      await sleep(10_000);
    } finally {
      await pa.send('evm_setAutomine', [false]).catch(() => undefined);
      await pa.send('evm_setIntervalMining', [1]).catch(() => undefined);
    }
    const afterGhost = await trader.credit();
    const uln = new Contract(B.layerZero.receiveUln302, RECEIVE_ULN, n().rpc(B));
    const [ghostVerified] = (await uln.getFunction('hashLookup')(
      keccak256(ghostHeader as Hex),
      ghostHash,
      B.layerZero.dvn,
    )) as [boolean, bigint];
    // No node signed the guid (shared with the next deposit, which reuses the nonce) before it.
    const signedLines = n().cluster.nodes.filter((x) =>
      readFileSync(x.logFile, 'utf8')
        .split('\n')
        .some((l) => l.includes(ghostGuid as string) && /"signed"|signed/.test(l) && !/not signing/.test(l)),
    ).length;

    // A deposit that stays.
    const stay = 2n * 10n ** 17n;
    const stayBlock = await trader.deposit(stay);
    const stayAt = Date.now();
    const creditedHead = await waitFor('the deposit that stayed credited', async () =>
      (await trader.credit()) === before + stay ? await headA() : undefined,
    );
    const stayMs = Date.now() - stayAt;
    const inv = await checkInvariants(n(), [trader.address]);
    const ok =
      afterGhost === before &&
      !ghostVerified &&
      signedLines === 0 &&
      creditedHead - stayBlock >= CONFIRMATIONS &&
      inv.failed.length === 0;
    result(
      'reorg',
      ok,
      `deposit reorged out at depth 1 (confirmations ${CONFIRMATIONS}; A rebuilt with ${rebuilt} other blocks, then 10 s of 1 s blocks): credit unchanged (${afterGhost === before ? 'yes' : 'NO'}), signed by ${signedLines}/3 nodes, verified=${ghostVerified}; the deposit that stayed credited ${stayMs} ms later, A ${creditedHead - stayBlock} blocks past it (≥ ${CONFIRMATIONS}); ${inv.summary}`,
    );
    expect(afterGhost).toBe(before);
    expect(ghostVerified).toBe(false);
    expect(signedLines).toBe(0);
    expect(creditedHead - stayBlock).toBeGreaterThanOrEqual(CONFIRMATIONS);
    expect(inv.failed).toEqual([]);
  }, 180_000);
});
