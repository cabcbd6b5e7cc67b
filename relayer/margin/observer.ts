// The observation publisher (attestor nodes): every block the margin view applies on a chain this
// node serves is published on the gossip topic `observation` as an observation of exactly that one
// block (fromBlock = block.number), signed with the node's EVM key (signObservation: a signature over
// the observation digest, separate from the gossip envelope's, so a receiver can combine the
// signatures of different attestors over the same digest).
//
// One block per observation is what makes the digests agree: every honest attestor that applied
// block N signs the same bytes for N, whatever it did before. Blocks without xmargin events are
// published too (empty), so a receiver's cursor advances block by block. While the view backfills
// (after a start or a restart) it applies only blocks with events and then the head; the blocks in
// between have no events by construction, so they are filled in here from block headers (at most
// `maxGapFill` per gap; a longer gap is logged and left to the other attestors).

import type { Wallet } from 'ethers';
import type { ChainConfig, Hex } from '../config/types.ts';
import type { Logger } from '../log.ts';
import type { GossipNetwork } from '../p2p/types.ts';
import { buildObservation, signObservation } from './observation.ts';
import type { BlockRecord } from './types.ts';
import type { MarginView } from './view.ts';

export interface ObserverOptions {
  view: Pick<MarginView, 'onBlockApplied' | 'cursor'>;
  /** The chains this node serves (their blocks are published; any other chain's are not). */
  chains: readonly ChainConfig[];
  gossip: Pick<GossipNetwork, 'publish'>;
  wallet: Wallet;
  /** A block header of a served chain (gap filling). */
  getBlock: (eid: number, n: number) => Promise<{ number: number; hash: Hex; timestamp: number } | null>;
  log: Logger;
  /** Most empty blocks filled in for one gap (default 2048). */
  maxGapFill?: number;
}

export interface ObserverStats {
  published: number;
  failed: number;
  /** Per chain: the last block published. */
  last: Record<number, number>;
}

export interface MarginObserver {
  /** Starts from the view's current cursors: call after the view's start(). */
  start(): void;
  /** Stops listening and waits for what is being published. */
  stop(): Promise<void>;
  stats(): ObserverStats;
}

export function createObserver(options: ObserverOptions): MarginObserver {
  const log = options.log.child({ module: 'observer' });
  const served = new Set(options.chains.map((c) => c.eid));
  const maxGapFill = options.maxGapFill ?? 2048;
  const last = new Map<number, number>();
  const stats = { published: 0, failed: 0 };
  let queue: Promise<void> = Promise.resolve();
  let unsubscribe: (() => void) | undefined;
  let running = false;

  async function publishOne(record: BlockRecord): Promise<void> {
    const obs = buildObservation(record.eid, record.number, [record]);
    try {
      const signature = await signObservation(obs, options.wallet);
      await options.gossip.publish('observation', { observation: obs, signature });
      stats.published++;
    } catch (err) {
      stats.failed++;
      log.error(
        { eid: record.eid, block: record.number, err: err instanceof Error ? err.message : String(err) },
        'observation not published',
      );
    }
  }

  async function handle(record: BlockRecord): Promise<void> {
    const prev = last.get(record.eid) ?? -1;
    if (record.number <= prev) return;
    let from = prev + 1;
    if (record.number - from > maxGapFill) {
      log.warn(
        { eid: record.eid, from, to: record.number - 1 },
        'observation gap too long to fill from headers; receivers need other attestors for it',
      );
      from = record.number - maxGapFill;
    }
    for (let n = from; n < record.number && running; n++) {
      const header = await options.getBlock(record.eid, n).catch(() => null);
      if (header === null) {
        log.warn({ eid: record.eid, block: n }, 'no header for an empty block; observation skipped');
        continue;
      }
      await publishOne({
        eid: record.eid,
        number: n,
        hash: header.hash,
        timestamp: header.timestamp,
        events: [],
      });
    }
    await publishOne(record);
    last.set(record.eid, record.number);
  }

  return {
    start() {
      if (running) return;
      running = true;
      for (const eid of served) last.set(eid, options.view.cursor(eid));
      unsubscribe = options.view.onBlockApplied((eid, record) => {
        if (!served.has(eid) || !running) return;
        queue = queue.then(() => handle(record)).catch(() => undefined);
      });
      log.info({ chains: options.chains.map((c) => c.name) }, 'observation publisher started');
    },
    async stop() {
      running = false;
      unsubscribe?.();
      await queue;
    },
    stats() {
      return { ...stats, last: Object.fromEntries(last) };
    },
  };
}
