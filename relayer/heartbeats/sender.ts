// Source-chain heartbeats for the engines' staleness-aware weights. An engine discounts collateral
// credited from a chain whose last HEARTBEAT is older than the source's grace period
// (MarginEngine._staleWeight), so while a chain is live someone must keep telling every remote engine
// so: every `intervalMs`, for each pathway (a vault on a chain this node serves -> an engine on
// another chain), the live attestor ranked first for (pathway, epoch) calls the vault's
// `sendHeartbeat` and pays its LayerZero fee. A node that is down drops out of the ranking within
// the liveness window, so the next epoch's first-ranked node sends instead; one missed epoch costs
// nothing while the interval is well inside the grace period.

import { AbiCoder, Interface, id, keccak256, toBeHex } from 'ethers';
import { rendezvousRank } from '../../attestor/rendezvous.ts';
import type { Address, Hex } from '../config/types.ts';
import type { LiqRpc } from '../liquidation/rpc.ts';
import type { TxQueue } from '../liquidation/sender.ts';

const VAULT = new Interface([
  'function sendHeartbeat(uint32 engineEid, bytes options) payable',
  'function quoteHeartbeat(uint32 engineEid, bytes options) view returns ((uint256 nativeFee, uint256 lzTokenFee))',
]);

export interface HeartbeatPathway {
  /** The vault that sends, on the chain this node serves. */
  vault: Address;
  srcEid: number;
  engineEid: number;
}

export interface HeartbeatSenderDeps {
  self: Address;
  pathways: readonly HeartbeatPathway[];
  /** Live attestors that send heartbeats and serve `srcEid` (this node is always counted). */
  liveSenders: (srcEid: number) => Address[];
  rpcFor: (eid: number) => LiqRpc | undefined;
  senderFor: (eid: number) => Pick<TxQueue, 'send'> | undefined;
  intervalMs: number;
  now?: () => number;
  /** Each send's outcome (metrics). */
  onOutcome?: (outcome: 'sent' | 'failed') => void;
  log: (msg: string, fields?: Record<string, unknown>) => void;
}

export interface HeartbeatStats {
  sent: number;
  failed: number;
  lastSentAt: Record<string, number>;
}

export interface HeartbeatSender {
  start(): void;
  stop(): void;
  /** One round: sends the heartbeats this node is ranked first for; resolves when they are mined. */
  round(): Promise<void>;
  stats(): HeartbeatStats;
}

/**
 * Who ranks for a source chain's heartbeats: signers of the attestor set heard from since `cutoff`
 * that said they send heartbeats and serve `srcEid`. A live attestor without a `heartbeats` section
 * must not rank first, or the epochs it wins would pass without a heartbeat.
 */
export function heartbeatSenders(
  srcEid: number,
  lastSeen: ReadonlyMap<Address, number>,
  said: ReadonlyMap<Address, { sendsSourceHeartbeats: boolean; eids: ReadonlySet<number> }>,
  attestors: ReadonlySet<Address>,
  cutoff: number,
): Address[] {
  return [...lastSeen]
    .filter(([signer, at]) => {
      const s = said.get(signer);
      return at >= cutoff && attestors.has(signer) && s?.sendsSourceHeartbeats === true && s.eids.has(srcEid);
    })
    .map(([signer]) => signer);
}

const HEARTBEAT_DOMAIN = id('xmargin-heartbeat');

/** The ranking key of one pathway in one epoch: every node derives the same from the same clock. */
export function heartbeatKey(p: HeartbeatPathway, epoch: number): Hex {
  return keccak256(
    AbiCoder.defaultAbiCoder().encode(
      ['bytes32', 'uint32', 'uint32', 'uint64'],
      [HEARTBEAT_DOMAIN, p.srcEid, p.engineEid, epoch],
    ),
  ) as Hex;
}

export function createHeartbeatSender(deps: HeartbeatSenderDeps): HeartbeatSender {
  const now = deps.now ?? Date.now;
  const stats: HeartbeatStats = { sent: 0, failed: 0, lastSentAt: {} };
  let timer: NodeJS.Timeout | undefined;
  /** Per pathway: the last epoch this node sent (or tried) for, and whether a send is still in flight. */
  const lastEpoch = new Map<string, number>();
  const inFlight = new Set<string>();
  const labelOf = (p: HeartbeatPathway): string => `${p.srcEid}->${p.engineEid}`;

  async function send(p: HeartbeatPathway): Promise<void> {
    const rpc = deps.rpcFor(p.srcEid);
    const sender = deps.senderFor(p.srcEid);
    if (rpc === undefined || sender === undefined) return;
    const label = labelOf(p);
    try {
      const quoted = await rpc.call({
        to: p.vault,
        data: VAULT.encodeFunctionData('quoteHeartbeat', [p.engineEid, '0x']) as Hex,
      });
      const [fee] = VAULT.decodeFunctionResult('quoteHeartbeat', quoted)[0] as [bigint, bigint];
      const data = VAULT.encodeFunctionData('sendHeartbeat', [p.engineEid, '0x']) as Hex;
      const { receipt, hash } = await sender.send({ to: p.vault, data, value: fee });
      if (receipt.status !== 1) throw new Error(`reverted in ${hash}`);
      stats.sent++;
      stats.lastSentAt[label] = now();
      deps.onOutcome?.('sent');
      deps.log('heartbeat sent', { pathway: label, tx: hash, fee: toBeHex(fee) });
    } catch (err) {
      stats.failed++;
      deps.onOutcome?.('failed');
      deps.log('heartbeat failed', { pathway: label, err: err instanceof Error ? err.message : String(err) });
    }
  }

  /**
   * Sends, for each pathway this node ranks first for in the current epoch, the epoch's heartbeat
   * unless it already did or the pathway's previous send is still waiting for its receipt. One slow
   * receipt holds back only its own pathway, and never the next epoch's round.
   */
  async function round(): Promise<void> {
    const epoch = Math.floor(now() / deps.intervalMs);
    const mine = deps.pathways.filter(
      (p) =>
        lastEpoch.get(labelOf(p)) !== epoch &&
        !inFlight.has(labelOf(p)) &&
        rendezvousRank(heartbeatKey(p, epoch), deps.self, deps.liveSenders(p.srcEid)) === 0,
    );
    await Promise.all(
      mine.map(async (p) => {
        const label = labelOf(p);
        lastEpoch.set(label, epoch);
        inFlight.add(label);
        try {
          await send(p);
        } finally {
          inFlight.delete(label);
        }
      }),
    );
  }

  return {
    start() {
      // Several looks per epoch: a timer that drifts across an epoch boundary (or a busy event loop)
      // must not skip the epoch this node ranks first for; lastEpoch keeps it to one send each.
      const tick = () => {
        round().catch((err: unknown) => deps.log('heartbeat round failed', { err: String(err) }));
      };
      tick();
      timer = setInterval(tick, Math.max(250, Math.floor(deps.intervalMs / 4)));
      timer.unref();
    },
    stop() {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
    },
    round,
    stats: () => ({ ...stats, lastSentAt: { ...stats.lastSentAt } }),
  };
}
