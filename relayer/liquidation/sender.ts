// One transaction queue per (chain, signer). It owns the nonce (so two liquidations never collide),
// signs locally, pipelines bursts (consecutive nonces back to back, one pending-count read per
// burst, gas estimates and fees prepared concurrently), and watches for the receipt; a transaction with no receipt after `bumpAfterBlocks`
// blocks is replaced at the same nonce with fees raised by 12.5% (above the 10% nodes require to
// accept a replacement). Whichever of the hashes is mined wins; the receipt must then be buried
// `confirmations` deep before the send counts as done.

import { keccak256, type TransactionReceipt, type Wallet } from 'ethers';
import { withGasHeadroom } from '../chain/gas.ts';
import type { Address, Hex } from '../config/types.ts';
import { signTransaction } from '../keys/personal-sign.ts';
import type { LiqRpc } from './rpc.ts';

export interface TxQueueOptions {
  chainId: number;
  label: string;
  /** Blocks the receipt must be buried under (the chain's configured confirmations; 1 = mined). */
  confirmations?: number;
  /** Blocks without a receipt before the transaction is replaced with higher fees. Default 3. */
  bumpAfterBlocks?: number;
  /** Replacements at most (each +12.5%). Default 5. */
  maxBumps?: number;
  pollMs?: number;
  /** Give up waiting after this long (the transaction may still land: callers re-check the chain). */
  timeoutMs?: number;
  /** Fixed fees (tests); default: from the latest block's base fee and eth_maxPriorityFeePerGas. */
  fees?: Fees;
  /**
   * How long fees read from the chain are reused by later sends. Default 2 s: the max fee is twice
   * the base fee, which absorbs the rise of a few full blocks.
   */
  feeTtlMs?: number;
}

export interface Fees {
  maxFeePerGas: bigint;
  maxPriorityFeePerGas: bigint;
}

export interface TxRequest {
  to: Address;
  data: Hex;
  value?: bigint;
  gasLimit?: bigint;
}

export interface SendResult {
  receipt: TransactionReceipt;
  /** The hash that was mined. */
  hash: Hex;
  /** Every hash sent for this nonce, first to last. */
  hashes: Hex[];
  nonce: number;
  bumps: number;
}

/** When (ms since epoch) a send passed each step before its first broadcast (latency traces). */
export interface SendTiming {
  /** send() was called. */
  queued: number;
  /** Its gas limit (estimated concurrently with other sends) and fees were known. */
  prepared: number;
  /** Its turn in the nonce queue came and the nonce was known. */
  nonce: number;
  /** eth_sendRawTransaction answered. */
  broadcast: number;
}

export interface SendHooks {
  /** Each broadcast (the first and every replacement; `timing` with the first), before waiting. */
  onBroadcast?: (hash: Hex, nonce: number, fees: Fees, timing?: SendTiming) => void | Promise<void>;
}

/** +12.5%, rounded up, and at least one wei more. */
export function bumpFees(f: Fees): Fees {
  const up = (x: bigint): bigint => {
    const next = (x * 1125n + 999n) / 1000n;
    return next > x ? next : x + 1n;
  };
  const maxPriorityFeePerGas = up(f.maxPriorityFeePerGas);
  let maxFeePerGas = up(f.maxFeePerGas);
  if (maxFeePerGas < maxPriorityFeePerGas) maxFeePerGas = maxPriorityFeePerGas;
  return { maxFeePerGas, maxPriorityFeePerGas };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Receipts are asked for again after this long even without a new block (see waitMined). */
const RECEIPT_RECHECK_MS = 1_000;

/** A node's refusal because the nonce is used (mined, or pending with a higher fee). */
const NONCE_TAKEN = /nonce too low|nonce has already been used|replacement transaction underpriced/i;
const MAX_NONCE_RETRIES = 3;
const errorText = (err: unknown): string => String((err as Error)?.message ?? err);

interface Sent {
  nonce: number;
  gasLimit: bigint;
  fees: Fees;
  first: Hex;
  timing: SendTiming;
}

interface Waiting {
  tx: TxRequest;
  /** Gas limit and fees, prepared concurrently before the send's turn. */
  ready: Promise<{ gasLimit: bigint; fees: Fees }>;
  queued: number;
  /** Bursts it was refused from for its nonce. */
  retries: number;
  resolve: (sent: Sent) => void;
  reject: (err: unknown) => void;
}

export class TxQueue {
  readonly address: Address;
  private readonly wallet: Wallet;
  private readonly rpc: LiqRpc;
  private readonly opts: Required<Omit<TxQueueOptions, 'fees'>> & { fees?: Fees };
  private nextNonce: number | undefined;
  /** Sends waiting for their nonce, in call order. */
  private waiting: Waiting[] = [];
  private draining = false;
  private feeCache: { at: number; fees: Promise<Fees> } | undefined;
  private headCache: { at: number; head: Promise<number> } | undefined;
  /** Replacement transactions sent (for stats). */
  bumps = 0;

  constructor(wallet: Wallet, rpc: LiqRpc, options: TxQueueOptions) {
    this.wallet = wallet;
    this.address = wallet.address as Address;
    this.rpc = rpc;
    this.opts = {
      confirmations: 1,
      bumpAfterBlocks: 3,
      maxBumps: 5,
      pollMs: 250,
      timeoutMs: 120_000,
      feeTtlMs: 2_000,
      ...options,
    };
  }

  /** Queues `tx`; resolves with its receipt (mined, reverted or not) once buried deep enough. */
  send(tx: TxRequest, hooks: SendHooks = {}): Promise<SendResult> {
    // Gas estimation and fees run at once for every send; only taking the nonce and the broadcast are
    // in call order. A burst of sends reads the pending nonce once and goes out back to back, so
    // many liquidations land in the same block; receipts are awaited concurrently.
    const queued = Date.now();
    const ready = Promise.all([
      tx.gasLimit === undefined ? this.estimate(tx) : Promise.resolve(tx.gasLimit),
      this.fees(),
    ]).then(([gasLimit, fees]) => ({ gasLimit, fees }));
    ready.catch(() => undefined); // rejected to the caller through its turn below
    const sent = new Promise<Sent>((resolve, reject) => {
      this.waiting.push({ tx, ready, queued, retries: 0, resolve, reject });
    });
    void this.drain();
    return sent.then(async (s) => {
      await hooks.onBroadcast?.(s.first, s.nonce, s.fees, s.timing);
      return this.waitMined(tx, hooks, s);
    });
  }

  private async estimate(tx: TxRequest): Promise<bigint> {
    const gas = await this.rpc.send<string>('eth_estimateGas', [
      { from: this.address, to: tx.to, data: tx.data, value: `0x${(tx.value ?? 0n).toString(16)}` },
    ]);
    return withGasHeadroom(BigInt(gas));
  }

  /** Fees from the latest block, shared by the sends of `feeTtlMs` (a burst pays one read). */
  private fees(): Promise<Fees> {
    if (this.opts.fees !== undefined) return Promise.resolve(this.opts.fees);
    const now = Date.now();
    if (this.feeCache === undefined || now - this.feeCache.at > this.opts.feeTtlMs) {
      const fees = this.readFees();
      this.feeCache = { at: now, fees };
      fees.catch(() => {
        if (this.feeCache?.fees === fees) this.feeCache = undefined;
      });
    }
    return this.feeCache.fees;
  }

  private async readFees(): Promise<Fees> {
    const block = await this.rpc.send<{ baseFeePerGas?: string } | null>('eth_getBlockByNumber', [
      'latest',
      false,
    ]);
    const base = BigInt(block?.baseFeePerGas ?? '0x3b9aca00');
    let priority = 1_000_000_000n;
    try {
      priority = BigInt(await this.rpc.send<string>('eth_maxPriorityFeePerGas', []));
    } catch {
      // not every node serves it: keep 1 gwei
    }
    // Twice the base fee absorbs a few full blocks before a bump is needed.
    return { maxFeePerGas: base * 2n + priority, maxPriorityFeePerGas: priority };
  }

  /**
   * The chain's pending count, or our own counter when it is ahead (sends not yet seen by the node).
   * Read once per burst: another process sending from the same key (the attestor) is seen then.
   */
  private async nonce(): Promise<number> {
    const pending = Number(await this.rpc.send<string>('eth_getTransactionCount', [this.address, 'pending']));
    this.nextNonce = Math.max(this.nextNonce ?? 0, pending);
    return this.nextNonce;
  }

  private async broadcast(tx: TxRequest, nonce: number, gasLimit: bigint, fees: Fees): Promise<Hex> {
    return this.sendRaw(await this.sign(tx, nonce, gasLimit, fees));
  }

  private sign(tx: TxRequest, nonce: number, gasLimit: bigint, fees: Fees): Promise<string> {
    return signTransaction(this.wallet, {
      type: 2,
      chainId: this.opts.chainId,
      nonce,
      to: tx.to,
      data: tx.data,
      value: tx.value ?? 0n,
      gasLimit,
      ...fees,
    });
  }

  private async sendRaw(raw: string): Promise<Hex> {
    try {
      return (await this.rpc.send<string>('eth_sendRawTransaction', [raw])) as Hex;
    } catch (err) {
      // A retried broadcast of the same bytes: the node already has it, which is what we wanted.
      if (/already known|known transaction/i.test(errorText(err))) return keccak256(raw) as Hex;
      throw err;
    }
  }

  /**
   * Broadcasts the waiting sends in bursts: one read of the pending nonce, consecutive nonces in call
   * order, signed one after the other and sent concurrently (the node takes later nonces into its
   * queue and mines them in order). A send refused for its nonce (another process of this key took
   * it) goes into the next burst with a fresh one; a send refused for another reason leaves a gap,
   * which a zero-value transfer to ourselves fills so the later ones are not held up.
   */
  private async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    try {
      // Sends made in the same turn of the event loop join one burst.
      await new Promise((r) => setImmediate(r));
      while (this.waiting.length > 0) {
        const burst: { w: Waiting; gasLimit: bigint; fees: Fees; preparedAt: number }[] = [];
        for (const w of this.waiting.splice(0)) {
          try {
            burst.push({ w, ...(await w.ready), preparedAt: Date.now() });
          } catch (err) {
            w.reject(err); // estimation reverted: nothing goes out, no nonce is used
          }
        }
        if (burst.length === 0) continue;
        let base: number;
        try {
          base = await this.nonce();
        } catch (err) {
          for (const b of burst) b.w.reject(err);
          continue;
        }
        const nonceAt = Date.now();
        const raws: string[] = [];
        for (const [i, b] of burst.entries())
          raws.push(await this.sign(b.w.tx, base + i, b.gasLimit, b.fees));
        const results = await Promise.allSettled(raws.map((raw) => this.sendRaw(raw)));
        const sentAt = Date.now();
        const lastOk = results.findLastIndex((r) => r.status === 'fulfilled');
        // Our next nonce follows the last one the node took (none: re-read the chain's count).
        this.nextNonce = lastOk < 0 ? undefined : base + lastOk + 1;
        for (const [i, b] of burst.entries()) {
          const r = results[i] as PromiseSettledResult<Hex>;
          if (r.status === 'fulfilled') {
            b.w.resolve({
              nonce: base + i,
              gasLimit: b.gasLimit,
              fees: b.fees,
              first: r.value,
              timing: { queued: b.w.queued, prepared: b.preparedAt, nonce: nonceAt, broadcast: sentAt },
            });
            continue;
          }
          if (NONCE_TAKEN.test(errorText(r.reason)) && b.w.retries < MAX_NONCE_RETRIES) {
            b.w.retries++;
            this.waiting.unshift(b.w);
            continue;
          }
          b.w.reject(r.reason);
          // A later nonce of this burst went out: fill this one or they never get mined.
          if (i < lastOk) void this.fillGap(base + i, b.fees);
        }
      }
    } finally {
      this.draining = false;
    }
  }

  /** A zero-value transfer to ourselves at `nonce`: closes a gap left by a refused send. */
  private async fillGap(nonce: number, fees: Fees): Promise<void> {
    try {
      await this.sendRaw(await this.sign({ to: this.address, data: '0x' }, nonce, 21_000n, fees));
    } catch {
      // taken meanwhile (a retried send of ours or another process): the gap is closed either way
    }
  }

  /** The chain's head, shared by every transaction awaiting its receipt for `pollMs`. */
  private head(): Promise<number> {
    const now = Date.now();
    if (this.headCache === undefined || now - this.headCache.at >= this.opts.pollMs) {
      const head = this.rpc.blockNumber();
      this.headCache = { at: now, head };
      head.catch(() => {
        if (this.headCache?.head === head) this.headCache = undefined;
      });
    }
    return this.headCache.head;
  }

  private async waitMined(tx: TxRequest, hooks: SendHooks, sent: Sent): Promise<SendResult> {
    const { nonce, gasLimit, first } = sent;
    let fees = sent.fees;
    const hashes: Hex[] = [first];

    let sentAt = await this.head();
    let bumps = 0;
    let checked = -1;
    let askedAt = 0;
    const started = Date.now();
    for (;;) {
      const head = await this.head();
      // A receipt normally appears (or is buried deeper) with a new block: ask once per block. But
      // a node can report the block before it serves the block's receipts, and a quiet chain
      // (automine, or no traffic) may not make another block for long: so ask at least every
      // RECEIPT_RECHECK_MS as well.
      const due = head > checked || Date.now() - askedAt >= RECEIPT_RECHECK_MS;
      if (due) askedAt = Date.now();
      for (const hash of due ? hashes : []) {
        const receipt = await this.rpc.getReceipt(hash);
        if (receipt === null) continue;
        if (head - receipt.blockNumber + 1 >= this.opts.confirmations) {
          return { receipt, hash, hashes, nonce, bumps };
        }
        // Mined but not deep enough: no bump may replace it now.
        sentAt = head;
      }
      checked = head;
      if (Date.now() - started > this.opts.timeoutMs) {
        throw new Error(
          `${this.opts.label}: no receipt for nonce ${nonce} (${hashes.join(', ')}) after ${this.opts.timeoutMs} ms`,
        );
      }
      if (head - sentAt >= this.opts.bumpAfterBlocks && bumps < this.opts.maxBumps) {
        const next = bumpFees(fees);
        try {
          const hash = await this.broadcast(tx, nonce, gasLimit, next);
          fees = next;
          bumps++;
          this.bumps++;
          if (!hashes.includes(hash)) hashes.push(hash);
          await hooks.onBroadcast?.(hash, nonce, fees);
        } catch {
          // "nonce too low": one of ours was mined meanwhile; "underpriced": keep waiting. The
          // receipts loop above settles both.
        }
        sentAt = head;
      }
      await sleep(this.opts.pollMs);
    }
  }
}
