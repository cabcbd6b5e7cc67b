import { Interface } from 'ethers';
import { describe, expect, it } from 'vitest';
import type { Address, Hex } from '../../relayer/config/types.ts';
import {
  createHeartbeatSender,
  type HeartbeatPathway,
  heartbeatSenders,
} from '../../relayer/heartbeats/sender.ts';
import type { LiqRpc } from '../../relayer/liquidation/rpc.ts';
import type { TxRequest } from '../../relayer/liquidation/sender.ts';

const VAULT = new Interface([
  'function sendHeartbeat(uint32 engineEid, bytes options) payable',
  'function quoteHeartbeat(uint32 engineEid, bytes options) view returns ((uint256 nativeFee, uint256 lzTokenFee))',
]);
const NODES = ['0x1111', '0x2222', '0x3333'].map((p) => p.padEnd(42, '0') as Address);
const VAULT_A = `0x${'a'.repeat(40)}` as Address;
const PATHWAYS: HeartbeatPathway[] = [
  { vault: VAULT_A, srcEid: 40101, engineEid: 40102 },
  { vault: VAULT_A, srcEid: 40101, engineEid: 40103 },
];
const FEE = 123_456n;

/** A node whose rpc quotes FEE and whose queue records what it sends (status 1 unless `revert`). */
function node(self: Address, now: number, revert = false) {
  const sent: TxRequest[] = [];
  const rpc = {
    call: async () => VAULT.encodeFunctionResult('quoteHeartbeat', [[FEE, 0n]]) as Hex,
  } as unknown as LiqRpc;
  const sender = {
    send: async (tx: TxRequest) => {
      sent.push(tx);
      return { receipt: { status: revert ? 0 : 1 }, hash: '0x01' } as never;
    },
  };
  const hb = createHeartbeatSender({
    self,
    pathways: PATHWAYS,
    liveSenders: () => NODES,
    rpcFor: () => rpc,
    senderFor: () => sender,
    intervalMs: 30_000,
    now: () => now,
    log: () => {},
  });
  return { hb, sent };
}

describe('heartbeat sender', () => {
  it('exactly one live attestor sends each pathway per epoch, paying the quoted fee', async () => {
    for (const now of [1_000_000, 1_030_000, 1_060_000, 5_000_000]) {
      const nodes = NODES.map((self) => node(self, now));
      for (const n of nodes) await n.hb.round();
      const all = nodes.flatMap((n) => n.sent);
      expect(all).toHaveLength(PATHWAYS.length);
      const engines = all.map((tx) => Number(VAULT.decodeFunctionData('sendHeartbeat', tx.data)[0]));
      expect(engines.sort()).toEqual([40102, 40103]);
      for (const tx of all) {
        expect(tx.to).toBe(VAULT_A);
        expect(tx.value).toBe(FEE);
      }
    }
  });

  it('a node that is not live drops out: the others cover its pathways', async () => {
    const now = 2_000_000;
    const first = NODES.map((self) => node(self, now));
    for (const n of first) await n.hb.round();
    const busy = NODES.findIndex((_, i) => (first[i]?.sent.length ?? 0) > 0);
    const live = NODES.filter((_, i) => i !== busy);
    let covered = 0;
    for (const self of live) {
      const sent: TxRequest[] = [];
      const hb = createHeartbeatSender({
        self,
        pathways: PATHWAYS,
        liveSenders: () => live,
        rpcFor: () =>
          ({ call: async () => VAULT.encodeFunctionResult('quoteHeartbeat', [[FEE, 0n]]) }) as never,
        senderFor: () => ({
          send: async (tx: TxRequest) => {
            sent.push(tx);
            return { receipt: { status: 1 }, hash: '0x' } as never;
          },
        }),
        intervalMs: 30_000,
        now: () => now,
        log: () => {},
      });
      await hb.round();
      covered += sent.length;
    }
    expect(covered).toBe(PATHWAYS.length);
  });

  it('sends once per pathway and epoch however often it looks, and a slow receipt holds back only its pathway', async () => {
    let now = 7_000_000;
    let release: (() => void) | undefined;
    const sent: TxRequest[] = [];
    const hb = createHeartbeatSender({
      self: NODES[0] as Address,
      pathways: PATHWAYS,
      liveSenders: () => [NODES[0] as Address],
      rpcFor: () =>
        ({ call: async () => VAULT.encodeFunctionResult('quoteHeartbeat', [[FEE, 0n]]) }) as never,
      senderFor: () => ({
        send: async (tx: TxRequest) => {
          sent.push(tx);
          // The very first send waits for its receipt until released.
          if (sent.length === 1) await new Promise<void>((r) => (release = r));
          return { receipt: { status: 1 }, hash: '0x01' } as never;
        },
      }),
      intervalMs: 30_000,
      now: () => now,
      log: () => {},
    });
    const engineOf = (tx: TxRequest) => Number(VAULT.decodeFunctionData('sendHeartbeat', tx.data)[0]);
    const first = hb.round();
    await hb.round();
    await hb.round();
    // Sole live sender: both pathways, once each in this epoch, though one receipt is still pending.
    expect(sent.map(engineOf).sort()).toEqual([40102, 40103]);
    const stuck = engineOf(sent[0] as TxRequest);
    // Next epoch: the pathway with the pending receipt waits for it; the other sends again.
    now += 30_000;
    await hb.round();
    expect(sent.map(engineOf).slice(2)).toEqual([PATHWAYS.map((p) => p.engineEid).find((e) => e !== stuck)]);
    release?.();
    await first;
    await hb.round();
    expect(sent.map(engineOf).slice(3)).toEqual([stuck]);
    expect(hb.stats().sent).toBe(4);
  });

  it('a reverted heartbeat is counted as failed, not sent', async () => {
    const nodes = NODES.map((self) => node(self, 3_000_000, true));
    for (const n of nodes) await n.hb.round();
    const stats = nodes.map((n) => n.hb.stats());
    expect(stats.reduce((s, x) => s + x.sent, 0)).toBe(0);
    expect(stats.reduce((s, x) => s + x.failed, 0)).toBe(PATHWAYS.length);
  });

  it('ranks only live attestors that send heartbeats and serve the source chain', () => {
    const [a, b, c] = NODES as [Address, Address, Address];
    const outsider = `0x${'9'.repeat(40)}` as Address;
    const lastSeen = new Map<Address, number>([
      [a, 1_000],
      [b, 1_000],
      [c, 500], // silent since before the cutoff
      [outsider, 1_000],
    ]);
    const said = new Map([
      [a, { sendsSourceHeartbeats: true, eids: new Set([40101]) }],
      [b, { sendsSourceHeartbeats: false, eids: new Set([40101]) }], // attests, sends none
      [c, { sendsSourceHeartbeats: true, eids: new Set([40101]) }],
      [outsider, { sendsSourceHeartbeats: true, eids: new Set([40101]) }],
    ]);
    const attestors = new Set(NODES);
    expect(heartbeatSenders(40101, lastSeen, said, attestors, 900)).toEqual([a]);
    expect(heartbeatSenders(40102, lastSeen, said, attestors, 900)).toEqual([]); // a does not serve it
    expect(heartbeatSenders(40101, lastSeen, said, attestors, 400)).toEqual([a, c]);
  });
});
