// A block follower for one chain, written as a reconcile loop (the way Ponder follows chains):
// every tick it looks at the head and classifies it against the unfinalized blocks it holds:
//
//   duplicate  the head is already known                         -> nothing
//   next       the head's parent is our tip                      -> emit `block`
//   gap        the head is more than one ahead                   -> fetch the missing blocks (bounded)
//   reorg      the head's parent is not our tip / hash unknown   -> roll back to the fork point
//
// Unfinalized blocks form a linked list ({number, hash, parentHash}); a block `confirmations` deep
// is emitted as `confirmed`, leaves the list and becomes the cursor. Handlers are awaited in order.
// A `confirmed` handler may hand back writes (what it observed in the block); the cursor store
// commits them together with the cursor that covers them, in one write: one per confirmed block, one
// per log range while backfilling. A crash thus never leaves records without their cursor or a
// cursor without its records; it replays at most the blocks after the cursor (consumers are
// idempotent) and never skips one.

import type { Address, Hex } from '../config/types.ts';
import type { BlockHeader, ChainLog, LogFilter } from './rpc.ts';

/** The provider calls the follower makes (ChainRpc implements them; tests pass fakes). */
export interface FollowerRpc {
  getBlock(tag: number | 'latest'): Promise<BlockHeader | null>;
  getLogs(filter: LogFilter): Promise<ChainLog[]>;
  /** eth_blockNumber: the cheap probe of the head poll (getBlock('latest') when absent). */
  blockNumber?(): Promise<number>;
}

/** Where a chain's processing stands: the last block that was confirmed and handled. */
export interface Cursor {
  number: number;
  hash: Hex;
}

/**
 * Persistence of cursors (the level store implements it; tests use MemoryCursorStore). `W` is what
 * the handlers hand back to be written with the cursor (level batch ops for the node's store).
 */
export interface CursorStore<W = unknown> {
  get(chain: string): Promise<Cursor | undefined>;
  /** Writes `cursor` and `writes` (the confirmed handlers' since the last cursor): all or nothing. */
  set(chain: string, cursor: Cursor, writes: readonly W[]): Promise<void>;
}

export class MemoryCursorStore<W = unknown> implements CursorStore<W> {
  private readonly cursors = new Map<string, Cursor>();
  /** Every write committed with a cursor, in order. */
  readonly written: W[] = [];
  async get(chain: string): Promise<Cursor | undefined> {
    return this.cursors.get(chain);
  }
  async set(chain: string, cursor: Cursor, writes: readonly W[]): Promise<void> {
    this.cursors.set(chain, cursor);
    this.written.push(...writes);
  }
}

export type FollowerEvent =
  /** A new canonical block (not yet confirmed) with the matching logs. */
  | { type: 'block'; chain: string; block: BlockHeader; logs: ChainLog[] }
  /** Blocks numbered >= fromBlock were dropped; `block` events for them are void. */
  | { type: 'reorg'; chain: string; fromBlock: number; commonAncestor: BlockHeader }
  /** `block` is `confirmations` deep: final for this node. Carries its logs again for convenience. */
  | { type: 'confirmed'; chain: string; block: BlockHeader; logs: ChainLog[] };

export interface FollowerOptions {
  chain: string;
  /** Blocks on top of a block before it is confirmed (0 = at once). */
  confirmations: number;
  /** Logs to deliver with each block. */
  filter: { address: Address[]; topics?: (Hex | Hex[] | null)[] };
  /** Where to start when the store holds no cursor (the first block to process). */
  startBlock?: number;
  pollIntervalMs?: number;
  /**
   * Also ask for the head number this often and tick at once when it moved (0: off). A tick reads
   * the head block and its logs; this probe is one eth_blockNumber, so it can run often and bring a
   * new block to the handlers within it rather than within pollIntervalMs.
   */
  headPollMs?: number;
  /** Most blocks fetched in one tick when catching up, so one tick stays short. */
  maxBackfill?: number;
  /** Blocks per eth_getLogs range during the initial backfill below the confirmed head. */
  logRange?: number;
}

/** A reorg reached below the confirmed cursor: work already treated as final would be void. */
export class DeepReorgError extends Error {
  constructor(chain: string, cursor: number) {
    super(`chain ${chain}: reorg below the confirmed block ${cursor}; raise its confirmations`);
    this.name = 'DeepReorgError';
  }
}

/** A `confirmed` handler's writes go in with the cursor; any other event's return value is ignored. */
// biome-ignore lint/suspicious/noConfusingVoidType: most handlers return nothing (Promise<void>), which `undefined` would refuse
type Handler<W> = (event: FollowerEvent) => Promise<readonly W[] | void> | readonly W[] | void;

interface Held {
  block: BlockHeader;
  logs: ChainLog[];
}

/**
 * The head poll: one eth_blockNumber every `everyMs` (getBlock('latest') when the RPC has no
 * blockNumber); `onMoved` runs when the head is past `seen()`. Cheap enough to run often, so a new
 * block starts a full tick within it rather than within the poll interval. Errors are left to the
 * ticks' own RPC calls, which report them.
 */
export function pollHead(
  rpc: FollowerRpc,
  everyMs: number,
  seen: () => number | undefined,
  onMoved: () => void,
): { stop(): void } {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const probe = async (): Promise<void> => {
    try {
      const head =
        rpc.blockNumber === undefined ? (await rpc.getBlock('latest'))?.number : await rpc.blockNumber();
      if (!stopped && head !== undefined && head > (seen() ?? -1)) onMoved();
    } catch {
      // reported by the follower's own ticks
    }
    if (!stopped) timer = setTimeout(() => void probe(), everyMs);
  };
  timer = setTimeout(() => void probe(), everyMs);
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

export class BlockFollower<W = unknown> {
  readonly options: Required<Omit<FollowerOptions, 'startBlock'>> & { startBlock: number | undefined };
  private readonly rpc: FollowerRpc;
  private readonly cursors: CursorStore<W>;
  private readonly handler: Handler<W>;
  /** The last confirmed block: the anchor the unfinalized list hangs from. */
  private base: BlockHeader | undefined;
  /** Unfinalized blocks, ascending; each one's parentHash is the previous one's hash. */
  private unfinalized: Held[] = [];
  private timer: NodeJS.Timeout | undefined;
  private headPoll: { stop(): void } | undefined;
  private running = false;
  /** A wake-up came during a tick: tick again as soon as it ends. */
  private wakeRequested = false;
  private ticking: Promise<void> | undefined;
  /** Last error of a tick, cleared by the next good one (the loop keeps going; the node reports it). */
  lastError: unknown;
  /** The chain's latest block number as last polled: with `tip`, how far behind the follower is. */
  latestHead: number | undefined;

  constructor(
    options: FollowerOptions,
    modules: { rpc: FollowerRpc; cursors: CursorStore<W>; onEvent: Handler<W> },
  ) {
    this.options = {
      pollIntervalMs: 1000,
      headPollMs: 0,
      maxBackfill: 50,
      logRange: 2000,
      ...options,
      startBlock: options.startBlock,
    };
    this.rpc = modules.rpc;
    this.cursors = modules.cursors;
    this.handler = modules.onEvent;
  }

  /** The highest block held (confirmed or not). */
  get tip(): BlockHeader | undefined {
    return this.unfinalized.at(-1)?.block ?? this.base;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    void this.loop();
    if (this.options.headPollMs > 0)
      this.headPoll = pollHead(
        this.rpc,
        this.options.headPollMs,
        () => this.latestHead,
        () => this.wake(),
      );
  }

  /** Ticks now instead of at the next poll (or right after the tick in progress). */
  wake(): void {
    if (!this.running) return;
    if (this.ticking !== undefined) {
      this.wakeRequested = true;
      return;
    }
    clearTimeout(this.timer);
    void this.loop();
  }

  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    this.headPoll?.stop();
    await this.ticking;
  }

  private async loop(): Promise<void> {
    if (!this.running) return;
    this.wakeRequested = false;
    this.ticking = this.tick().then(
      () => {
        this.lastError = undefined;
      },
      (err: unknown) => {
        this.lastError = err;
      },
    );
    await this.ticking;
    this.ticking = undefined;
    if (!this.running) return;
    if (this.wakeRequested) void this.loop();
    else this.timer = setTimeout(() => void this.loop(), this.options.pollIntervalMs);
  }

  /** One reconcile step. Public so tests (and a node's shutdown) can drive it deterministically. */
  async tick(): Promise<void> {
    if (this.base === undefined) await this.init();
    const head = await this.rpc.getBlock('latest');
    if (head === null) return;
    this.latestHead = head.number;
    await this.reconcile(head);
  }

  /** Starts from the cursor, fast-forwarding with range log queries up to the confirmed head. */
  private async init(): Promise<void> {
    const { chain, confirmations, logRange } = this.options;
    const head = await this.rpc.getBlock('latest');
    if (head === null) throw new Error(`chain ${chain}: no latest block`);
    const cursor = await this.cursors.get(chain);
    let from = cursor === undefined ? (this.options.startBlock ?? head.number) : cursor.number + 1;
    if (cursor !== undefined) {
      const stored = await this.rpc.getBlock(cursor.number);
      if (stored === null || stored.hash !== cursor.hash) throw new DeepReorgError(chain, cursor.number);
    }
    const safe = head.number - confirmations;
    // Everything up to `safe` is already final: fetch its logs by ranges, not block by block.
    while (from <= safe) {
      const to = Math.min(safe, from + logRange - 1);
      const logs = await this.rpc.getLogs({ ...this.options.filter, fromBlock: from, toBlock: to });
      const byBlock = new Map<number, ChainLog[]>();
      for (const log of logs) byBlock.set(log.blockNumber, [...(byBlock.get(log.blockNumber) ?? []), log]);
      // The whole range's writes go in with its last block as the cursor.
      const writes: W[] = [];
      for (const [number, blockLogs] of [...byBlock].sort((a, b) => a[0] - b[0])) {
        const block = await this.mustBlock(number);
        await this.handler({ type: 'block', chain, block, logs: blockLogs });
        writes.push(...((await this.handler({ type: 'confirmed', chain, block, logs: blockLogs })) ?? []));
      }
      const last = await this.mustBlock(to);
      await this.cursors.set(chain, { number: last.number, hash: last.hash }, writes);
      from = to + 1;
    }
    this.base = await this.mustBlock(Math.max(0, from - 1));
  }

  private async reconcile(head: BlockHeader): Promise<void> {
    const tip = this.tip as BlockHeader;
    // duplicate: already known (or older and still canonical as far as we know)
    if (head.hash === tip.hash || this.unfinalized.some((h) => h.block.hash === head.hash)) return;
    if (head.number === tip.number + 1 && head.parentHash === tip.hash) {
      await this.add(head);
      return;
    }
    if (head.number > tip.number + 1) {
      // gap: walk forward from our tip, at most maxBackfill blocks this tick; each fetched block is
      // classified the same way, so a reorg found while filling is handled too.
      const end = Math.min(head.number - 1, tip.number + this.options.maxBackfill);
      for (let n = tip.number + 1; n <= end; n++) {
        const block = await this.mustBlock(n);
        const current = this.tip as BlockHeader;
        if (block.parentHash !== current.hash) {
          await this.rollback();
          return;
        }
        await this.add(block);
      }
      if (end === head.number - 1) await this.reconcile(head);
      return;
    }
    await this.rollback();
  }

  /** reorg: finds the highest held block that is still canonical and drops everything above it. */
  private async rollback(): Promise<void> {
    const { chain } = this.options;
    let keep = this.unfinalized.length;
    while (keep > 0) {
      const held = (this.unfinalized[keep - 1] as Held).block;
      const canonical = await this.rpc.getBlock(held.number);
      if (canonical !== null && canonical.hash === held.hash) break;
      keep--;
    }
    if (keep === this.unfinalized.length) return; // the tip is still canonical: the head was stale
    const base = this.base as BlockHeader;
    if (keep === 0) {
      const canonical = await this.rpc.getBlock(base.number);
      if (canonical === null || canonical.hash !== base.hash) throw new DeepReorgError(chain, base.number);
    }
    const dropped = this.unfinalized[keep] as Held;
    this.unfinalized = this.unfinalized.slice(0, keep);
    const commonAncestor = this.tip as BlockHeader;
    await this.handler({ type: 'reorg', chain, fromBlock: dropped.block.number, commonAncestor });
  }

  /** next: emits the block with its logs, then confirms whatever is now deep enough. */
  private async add(block: BlockHeader): Promise<void> {
    const { chain, confirmations } = this.options;
    // Logs by block hash: exactly this block's, even if the chain moved meanwhile.
    const logs = await this.rpc.getLogs({ ...this.options.filter, blockHash: block.hash });
    this.unfinalized.push({ block, logs });
    await this.handler({ type: 'block', chain, block, logs });
    while (this.unfinalized.length > 0) {
      const oldest = this.unfinalized[0] as Held;
      if (block.number - oldest.block.number < confirmations) break;
      const writes = await this.handler({ type: 'confirmed', chain, block: oldest.block, logs: oldest.logs });
      await this.cursors.set(chain, { number: oldest.block.number, hash: oldest.block.hash }, writes ?? []);
      this.unfinalized.shift();
      this.base = oldest.block;
    }
  }

  private async mustBlock(number: number): Promise<BlockHeader> {
    const block = await this.rpc.getBlock(number);
    if (block === null) throw new Error(`chain ${this.options.chain}: block ${number} not available`);
    return block;
  }
}
