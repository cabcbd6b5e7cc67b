// One transaction queue per (chain, signer). It owns the nonce (so two liquidations never collide),
// signs locally, and watches for the receipt; a transaction with no receipt after `bumpAfterBlocks`
// blocks is replaced at the same nonce with fees raised by 12.5% (above the 10% nodes require to
// accept a replacement). Whichever of the hashes is mined wins; the receipt must then be buried
// `confirmations` deep before the send counts as done.

import { keccak256, type TransactionReceipt, type Wallet } from 'ethers';
import type { Address, Hex } from '../config/types.ts';
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

export interface SendHooks {
  /** Each broadcast (the first and every replacement), before waiting. */
  onBroadcast?: (hash: Hex, nonce: number, fees: Fees) => void | Promise<void>;
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

export class TxQueue {
  readonly address: Address;
  private readonly wallet: Wallet;
  private readonly rpc: LiqRpc;
  private readonly opts: Required<Omit<TxQueueOptions, 'fees'>> & { fees?: Fees };
  private nextNonce: number | undefined;
  private tail: Promise<unknown> = Promise.resolve();
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
      ...options,
    };
  }

  /** Queues `tx`; resolves with its receipt (mined, reverted or not) once buried deep enough. */
  send(tx: TxRequest, hooks: SendHooks = {}): Promise<SendResult> {
    // Only the nonce and the first broadcast are queued; receipts are awaited concurrently, so many
    // liquidations go out back to back and land in the same block.
    const first = this.tail.catch(() => undefined).then(() => this.broadcastFirst(tx, hooks));
    this.tail = first;
    return first.then((sent) => this.waitMined(tx, hooks, sent));
  }

  private async fees(): Promise<Fees> {
    if (this.opts.fees !== undefined) return this.opts.fees;
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

  private async nonce(): Promise<number> {
    const pending = Number(await this.rpc.send<string>('eth_getTransactionCount', [this.address, 'pending']));
    this.nextNonce = Math.max(this.nextNonce ?? 0, pending);
    return this.nextNonce;
  }

  private async broadcast(tx: TxRequest, nonce: number, gasLimit: bigint, fees: Fees): Promise<Hex> {
    const raw = await this.wallet.signTransaction({
      type: 2,
      chainId: this.opts.chainId,
      nonce,
      to: tx.to,
      data: tx.data,
      value: tx.value ?? 0n,
      gasLimit,
      ...fees,
    });
    try {
      return (await this.rpc.send<string>('eth_sendRawTransaction', [raw])) as Hex;
    } catch (err) {
      // A retried broadcast of the same bytes: the node already has it, which is what we wanted.
      if (/already known|known transaction/i.test(String((err as Error)?.message ?? err))) {
        return keccak256(raw) as Hex;
      }
      throw err;
    }
  }

  private async broadcastFirst(
    tx: TxRequest,
    hooks: SendHooks,
  ): Promise<{ nonce: number; gasLimit: bigint; fees: Fees; first: Hex }> {
    const gasLimit =
      tx.gasLimit ??
      (BigInt(
        await this.rpc.send<string>('eth_estimateGas', [
          { from: this.address, to: tx.to, data: tx.data, value: `0x${(tx.value ?? 0n).toString(16)}` },
        ]),
      ) *
        13n) /
        10n;
    const nonce = await this.nonce();
    const fees = await this.fees();
    let first: Hex;
    try {
      first = await this.broadcast(tx, nonce, gasLimit, fees);
    } catch (err) {
      // Nothing went out: forget the local counter so the next send re-reads the chain's.
      this.nextNonce = undefined;
      throw err;
    }
    this.nextNonce = nonce + 1;
    await hooks.onBroadcast?.(first, nonce, fees);
    return { nonce, gasLimit, fees, first };
  }

  private async waitMined(
    tx: TxRequest,
    hooks: SendHooks,
    sent: { nonce: number; gasLimit: bigint; fees: Fees; first: Hex },
  ): Promise<SendResult> {
    const { nonce, gasLimit, first } = sent;
    let fees = sent.fees;
    const hashes: Hex[] = [first];

    let sentAt = await this.rpc.blockNumber();
    let bumps = 0;
    const started = Date.now();
    for (;;) {
      const head = await this.rpc.blockNumber();
      for (const hash of hashes) {
        const receipt = await this.rpc.getReceipt(hash);
        if (receipt === null) continue;
        if (head - receipt.blockNumber + 1 >= this.opts.confirmations) {
          return { receipt, hash, hashes, nonce, bumps };
        }
        // Mined but not deep enough: no bump may replace it now.
        sentAt = head;
      }
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
