// Coalesces the liquidations one node sends on one engine chain into few transactions. When a price
// move makes many sub-accounts liquidatable at once, each one sent alone costs a signature, a nonce,
// a broadcast and a receipt wait, and the node's queue of them is what pushed the last ones past the
// next block. Liquidations planned within `windowMs` of each other go out as ONE
// `liquidateBatch(items, fees)`: the engine liquidates each item independently and skips (with
// LiquidationSkipped and its fee refunded) one that would revert, so a race lost on one sub-account
// costs the others nothing. A window holding a single liquidation sends plain `liquidate`, as before.
//
// Each caller gets the shared transaction's SendResult; whether its own liquidation landed is in the
// receipt's events for its sub-account (receipt.ts), never in the receipt's status alone.
//
// Plans may leave their simulation to the batcher (planner: simulate 'deferred'): the whole group is
// then simulated in ONE eth_call of liquidateBatch at the latest block, instead of one eth_call each,
// and an item the simulation skips is refused to its caller with the engine's revert data
// (BatchItemSkipped) — nothing goes out for it — while the others are sent.

import type { Address, Hex } from '../config/types.ts';
import { ENGINE } from './abi.ts';
import { batchCalldata, decodeBatchOutcomes } from './fast-abi.ts';
import type { LiquidateParams } from './planner.ts';
import type { SendHooks, SendResult, TxRequest } from './sender.ts';

/** One planned liquidation, as `liquidate` would send it alone. */
export interface LiquidationSend {
  params: LiquidateParams;
  calldata: Hex;
  /** msg.value it needs alone: the LayerZero fees of its remote seizures. */
  value: bigint;
  /** Its gas limit when sent alone, if known (from earlier liquidations of its shape). */
  gasLimit?: bigint;
  /** Its plan deferred the simulation: the batcher simulates it with its group before sending. */
  unsimulated?: boolean;
}

/** Runs an eth_call from our address (the batch's simulation). */
export interface Simulator {
  from: Address;
  call(tx: { to: Address; data: Hex; from: Address; value: bigint }): Promise<Hex>;
}

/** The group's simulation skipped this item: `data` is the engine's revert data ('0x': none). */
export class BatchItemSkipped extends Error {
  readonly data: Hex;
  constructor(data: Hex) {
    super(
      `the batch simulation skipped this liquidation (revert ${data === '0x' ? 'without data' : data.slice(0, 74)})`,
    );
    this.name = 'BatchItemSkipped';
    this.data = data;
  }
}

export interface BatchSendResult extends SendResult {
  /** Liquidations the transaction carried (1: a plain `liquidate`). */
  items: number;
  /** The transaction's gas limit, when it was set here (undefined: the queue estimated it). */
  gasLimit: bigint | undefined;
}

export interface BatcherOptions {
  /** How long the first liquidation of a batch waits for others. Default 25 ms. */
  windowMs?: number;
  /** Liquidations per transaction at most (1 disables batching). Default 40. */
  maxItems?: number;
  /**
   * Gas limit a batch may add up to (known limits, or `unknownItemGas` per item without one), so a
   * batch fits a block. Default 20M.
   */
  maxGas?: bigint;
  /** Counted for an item without a known limit against maxGas. Default 1M. */
  unknownItemGas?: bigint;
}

/** The batch's own cost on top of its items: the outer call, the self-calls' and results' encoding. */
const BATCH_OVERHEAD_GAS = 60_000n;
const PER_ITEM_OVERHEAD_GAS = 25_000n;

interface Waiting {
  item: LiquidationSend;
  hooks: SendHooks;
  resolve: (r: BatchSendResult) => void;
  reject: (err: unknown) => void;
}

export class LiquidationBatcher {
  private readonly engine: Address;
  private readonly sender: { send(tx: TxRequest, hooks?: SendHooks): Promise<SendResult> };
  private readonly o: Required<BatcherOptions>;
  private readonly simulator: Simulator | undefined;
  private waiting: Waiting[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** Transactions sent, and the liquidations they carried (for stats). */
  readonly counters = { transactions: 0, liquidations: 0 };

  constructor(
    engine: Address,
    sender: { send(tx: TxRequest, hooks?: SendHooks): Promise<SendResult> },
    options: BatcherOptions = {},
    simulator?: Simulator,
  ) {
    this.engine = engine;
    this.sender = sender;
    this.simulator = simulator;
    this.o = { windowMs: 25, maxItems: 40, maxGas: 20_000_000n, unknownItemGas: 1_000_000n, ...options };
  }

  /** Sends `item` alone or with the others of its window; resolves with the shared transaction's result. */
  send(item: LiquidationSend, hooks: SendHooks = {}): Promise<BatchSendResult> {
    return new Promise<BatchSendResult>((resolve, reject) => {
      this.waiting.push({ item, hooks, resolve, reject });
      if (this.o.maxItems <= 1 || this.waiting.length >= this.o.maxItems) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), this.o.windowMs);
    });
  }

  /** Sends everything waiting, in groups that respect maxItems and maxGas. */
  private flush(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    const all = this.waiting.splice(0);
    while (all.length > 0) {
      const group: Waiting[] = [];
      let gas = BATCH_OVERHEAD_GAS;
      while (all.length > 0 && group.length < this.o.maxItems) {
        const next = all[0] as Waiting;
        const itemGas = (next.item.gasLimit ?? this.o.unknownItemGas) + PER_ITEM_OVERHEAD_GAS;
        if (group.length > 0 && gas + itemGas > this.o.maxGas) break;
        gas += itemGas;
        group.push(all.shift() as Waiting);
      }
      void this.simulateAndSend(group);
    }
  }

  /**
   * Simulates the group when an item needs it, refuses what the simulation skips, sends the rest.
   * Never rejects: whatever fails (even encoding) is each waiting caller's error, not the process's.
   */
  private async simulateAndSend(group: Waiting[]): Promise<void> {
    let ready = group;
    try {
      if (this.simulator !== undefined && group.some((w) => w.item.unsimulated === true)) {
        ready = await this.simulate(this.simulator, group);
      }
      if (ready.length > 0) this.sendGroup(ready);
    } catch (err) {
      for (const w of ready) w.reject(err);
    }
  }

  /** One eth_call of liquidateBatch for the group; returns the items it landed, rejects the others. */
  private async simulate(sim: Simulator, group: Waiting[]): Promise<Waiting[]> {
    const tx = batch(this.engine, group);
    let outcomes: { landed: boolean; revertData: string }[];
    try {
      const out = await sim.call({ to: tx.to, data: tx.data, from: sim.from, value: tx.value ?? 0n });
      outcomes = decodeBatchOutcomes(out) ?? ENGINE.decodeFunctionResult('liquidateBatch', out)[0];
    } catch (err) {
      for (const w of group) w.reject(err); // nothing went out: the callers may try again
      return [];
    }
    const landed: Waiting[] = [];
    for (const [i, w] of group.entries()) {
      const o = outcomes[i];
      if (o?.landed === true) landed.push(w);
      else w.reject(new BatchItemSkipped((o?.revertData ?? '0x') as Hex));
    }
    return landed;
  }

  private sendGroup(group: Waiting[]): void {
    const tx =
      group.length === 1 ? single(this.engine, (group[0] as Waiting).item) : batch(this.engine, group);
    this.counters.transactions++;
    this.counters.liquidations += group.length;
    // Every item hears every broadcast of the shared transaction (the first and each fee bump).
    const hooks: SendHooks = {
      onBroadcast: async (...args) => {
        await Promise.all(group.map((w) => w.hooks.onBroadcast?.(...args)));
      },
    };
    this.sender.send(tx, hooks).then(
      (r) => {
        for (const w of group) w.resolve({ ...r, items: group.length, gasLimit: tx.gasLimit });
      },
      (err: unknown) => {
        for (const w of group) w.reject(err);
      },
    );
  }
}

function single(engine: Address, item: LiquidationSend): TxRequest {
  return {
    to: engine,
    data: item.calldata,
    value: item.value,
    ...(item.gasLimit === undefined ? {} : { gasLimit: item.gasLimit }),
  };
}

/** liquidateBatch of the group; its gas limit is the items' sum when every one is known, else estimated. */
function batch(engine: Address, group: Waiting[]): TxRequest {
  const items = group.map((w) => w.item);
  const fees = items.map((i) => i.value);
  const known = items.every((i) => i.gasLimit !== undefined);
  const gasLimit = items.reduce(
    (sum, i) => sum + (i.gasLimit ?? 0n) + PER_ITEM_OVERHEAD_GAS,
    BATCH_OVERHEAD_GAS,
  );
  return {
    to: engine,
    data:
      batchCalldata(items) ??
      (ENGINE.encodeFunctionData('liquidateBatch', [items.map((i) => i.params), fees]) as Hex),
    value: fees.reduce((a, b) => a + b, 0n),
    ...(known ? { gasLimit } : {}),
  };
}
