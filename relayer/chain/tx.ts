// Sends a chain's deployment and configuration transactions from one key: one ethers NonceManager per
// (chain, key), explicit nonces (so CREATE addresses are known before the transaction is mined), and
// batches: transactions are submitted back to back and `flush()` waits for all their receipts. A batch
// may contain transactions that depend on each other: one sender's transactions are mined in nonce order.

import {
  type AbstractSigner,
  type ContractRunner,
  getCreateAddress,
  Interface,
  type InterfaceAbi,
  NonceManager,
  type Provider,
  type TransactionReceipt,
  type TransactionResponse,
} from 'ethers';
import type { Address, Hex } from '../config/types.ts';
import type { Artifact } from './artifacts.ts';

/** Gas limits given explicitly: transactions of a batch cannot be estimated before their dependencies exist. */
export const DEPLOY_GAS = 15_000_000n;
export const CALL_GAS = 3_000_000n;

export interface TxSenderOptions {
  /** Label in errors and logs, e.g. "devnet-a". */
  label: string;
  /** Explicit EIP-1559 fees (default: read once from the chain, then reused for the whole run). */
  maxFeePerGas?: bigint;
  maxPriorityFeePerGas?: bigint;
}

interface Pending {
  what: string;
  response: TransactionResponse;
}

/** A transaction sender for one key on one chain. Not safe to share between concurrent batches. */
export class TxSender {
  readonly label: string;
  readonly signer: NonceManager;
  readonly provider: Provider;
  #pending: Pending[] = [];
  #fees: { maxFeePerGas: bigint; maxPriorityFeePerGas: bigint } | undefined;
  #address: Address | undefined;
  /** How many transactions this sender submitted (for progress lines). */
  sent = 0;

  constructor(signer: AbstractSigner, options: TxSenderOptions) {
    this.label = options.label;
    this.signer = signer instanceof NonceManager ? signer : new NonceManager(signer);
    const provider = signer.provider;
    if (provider === null) throw new Error(`${options.label}: the signer has no provider`);
    this.provider = provider;
    if (options.maxFeePerGas !== undefined) {
      this.#fees = {
        maxFeePerGas: options.maxFeePerGas,
        maxPriorityFeePerGas: options.maxPriorityFeePerGas ?? 1_000_000_000n,
      };
    }
  }

  async address(): Promise<Address> {
    this.#address ??= (await this.signer.getAddress()) as Address;
    return this.#address;
  }

  /** The runner to build read-only contracts with. */
  get runner(): ContractRunner {
    return this.provider;
  }

  async #fee(): Promise<{ maxFeePerGas: bigint; maxPriorityFeePerGas: bigint }> {
    if (this.#fees === undefined) {
      const data = await this.provider.getFeeData();
      const priority = data.maxPriorityFeePerGas ?? 1_000_000_000n;
      // Twice the current price leaves room for base-fee rises during the run.
      const max = (data.maxFeePerGas ?? data.gasPrice ?? 2_000_000_000n) * 2n + priority;
      this.#fees = { maxFeePerGas: max, maxPriorityFeePerGas: priority };
    }
    return this.#fees;
  }

  /** Submits a transaction (not waiting for it); `what` names it in errors. */
  async send(what: string, to: Address, data: Hex, options: { gasLimit?: bigint; value?: bigint } = {}) {
    const fees = await this.#fee();
    try {
      const response = await this.signer.sendTransaction({
        to,
        data,
        value: options.value ?? 0n,
        gasLimit: options.gasLimit ?? CALL_GAS,
        type: 2,
        ...fees,
      });
      this.#pending.push({ what, response });
      this.sent++;
      return response;
    } catch (err) {
      // A failed submission leaves the nonce counter ahead of the chain.
      this.signer.reset();
      throw new Error(`${this.label}: could not send ${what}: ${errorText(err)}`);
    }
  }

  /** Submits `fn(args)` on `to`. */
  async call(what: string, to: Address, abi: Interface | InterfaceAbi, fn: string, args: readonly unknown[]) {
    const iface = abi instanceof Interface ? abi : new Interface(abi);
    return await this.send(what, to, iface.encodeFunctionData(fn, args) as Hex);
  }

  /** Submits a CREATE of `artifact` and returns the address it will have. */
  async deploy(what: string, artifact: Artifact, args: readonly unknown[] = []): Promise<Address> {
    const nonce = await this.signer.getNonce('pending');
    const from = await this.address();
    const iface = new Interface(artifact.abi);
    const encodedArgs = iface.encodeDeploy(args);
    const data = `${artifact.bytecode}${encodedArgs.slice(2)}` as Hex;
    const fees = await this.#fee();
    try {
      const response = await this.signer.sendTransaction({
        data,
        gasLimit: DEPLOY_GAS,
        type: 2,
        ...fees,
      });
      if (response.nonce !== nonce) {
        throw new Error(`nonce ${response.nonce} used where ${nonce} was expected`);
      }
      this.#pending.push({ what: `deploy ${what}`, response });
      this.sent++;
    } catch (err) {
      this.signer.reset();
      throw new Error(`${this.label}: could not deploy ${what}: ${errorText(err)}`);
    }
    return getCreateAddress({ from, nonce }) as Address;
  }

  /** Waits for every submitted transaction; throws naming the first one that reverted. */
  async flush(): Promise<TransactionReceipt[]> {
    const batch = this.#pending;
    this.#pending = [];
    const receipts = await Promise.all(batch.map((p) => p.response.wait(1, 120_000).catch((err) => err)));
    const out: TransactionReceipt[] = [];
    for (let i = 0; i < batch.length; i++) {
      const r = receipts[i] as TransactionReceipt | Error | null;
      const what = batch[i]?.what ?? '?';
      if (r === null || r instanceof Error || r.status !== 1) {
        const why = r instanceof Error ? errorText(r) : 'reverted';
        throw new Error(`${this.label}: ${what} failed (${why})`);
      }
      out.push(r);
    }
    return out;
  }
}

function errorText(err: unknown): string {
  if (err instanceof Error) {
    const e = err as Error & { shortMessage?: string };
    return e.shortMessage ?? e.message;
  }
  return String(err);
}
