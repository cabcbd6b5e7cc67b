// The per-signer transaction queue against a scripted chain: nonces in order, a stuck transaction
// replaced at the same nonce with +12.5% fees, the receipt of whichever hash was mined. (The seizure
// follow-up: ./follow-up.test.ts.)

import { Transaction, type TransactionReceipt, Wallet } from 'ethers';
import { describe, expect, it } from 'vitest';
import type { Address, Hex } from '../../../relayer/config/types.ts';
import type { LiqRpc } from '../../../relayer/liquidation/rpc.ts';
import { bumpFees, TxQueue } from '../../../relayer/liquidation/sender.ts';

const wallet = new Wallet(`0x${'01'.padStart(64, '0')}`);
const TO = '0x00000000000000000000000000000000000000e1' as Address;

/** A chain that mines a broadcast only when `mineable(tx)` says so, one block per blockNumber() call. */
function fakeChain(mineable: (tx: Transaction) => boolean) {
  let head = 10;
  const broadcasts: Transaction[] = [];
  const mined = new Map<string, number>();
  const rpc: LiqRpc = {
    call: async () => '0x',
    blockNumber: async () => ++head,
    getLogs: async () => [],
    async getReceipt(hash) {
      const block = mined.get(hash);
      return block === undefined
        ? null
        : ({ status: 1, hash, blockNumber: block, logs: [] } as unknown as TransactionReceipt);
    },
    async send<T>(method: string, params: unknown[]): Promise<T> {
      switch (method) {
        case 'eth_getTransactionCount':
          return '0x5' as T;
        case 'eth_sendRawTransaction': {
          const tx = Transaction.from(params[0] as string);
          broadcasts.push(tx);
          if (mineable(tx)) mined.set(tx.hash as string, head);
          return tx.hash as T;
        }
        default:
          throw new Error(`unexpected ${method}`);
      }
    },
  };
  return { rpc, broadcasts, head: () => head };
}

const fees = { maxFeePerGas: 2_000_000_000n, maxPriorityFeePerGas: 1_000_000_000n };

describe('TxQueue', () => {
  it('bumpFees adds 12.5% (rounded up) to both fees', () => {
    expect(bumpFees(fees)).toEqual({ maxFeePerGas: 2_250_000_000n, maxPriorityFeePerGas: 1_125_000_000n });
    expect(bumpFees({ maxFeePerGas: 1n, maxPriorityFeePerGas: 1n })).toEqual({
      maxFeePerGas: 2n,
      maxPriorityFeePerGas: 2n,
    });
  });

  it('replaces a stuck transaction at the same nonce with higher fees and returns the mined one', async () => {
    // Only a transaction paying at least the first bump gets mined.
    const chain = fakeChain((tx) => (tx.maxFeePerGas as bigint) >= 2_250_000_000n);
    const q = new TxQueue(wallet, chain.rpc, { chainId: 1, label: 't', bumpAfterBlocks: 2, pollMs: 1, fees });
    const seen: Hex[] = [];
    const r = await q.send(
      { to: TO, data: '0x', gasLimit: 100_000n },
      { onBroadcast: (h) => void seen.push(h) },
    );
    expect(chain.broadcasts).toHaveLength(2);
    const [first, second] = chain.broadcasts as [Transaction, Transaction];
    expect(second.nonce).toBe(first.nonce);
    expect(first.nonce).toBe(5);
    expect(second.maxFeePerGas).toBe(2_250_000_000n);
    expect(second.maxPriorityFeePerGas).toBe(1_125_000_000n);
    expect(r.hash).toBe(second.hash);
    expect(r.hashes).toEqual([first.hash, second.hash]);
    expect(seen).toEqual(r.hashes);
    expect(r.bumps).toBe(1);
    expect(q.bumps).toBe(1);
  });

  it('queues sends: consecutive transactions take consecutive nonces', async () => {
    const chain = fakeChain(() => true);
    const q = new TxQueue(wallet, chain.rpc, { chainId: 1, label: 't', pollMs: 1, fees });
    const [a, b] = await Promise.all([
      q.send({ to: TO, data: '0x01', gasLimit: 100_000n }),
      q.send({ to: TO, data: '0x02', gasLimit: 100_000n }),
    ]);
    expect([a.nonce, b.nonce]).toEqual([5, 6]);
    expect(chain.broadcasts.map((t) => t.data)).toEqual(['0x01', '0x02']);
  });

  it('pipelines a burst: estimates at once, one pending-nonce read, broadcasts in call order', async () => {
    const chain = fakeChain(() => true);
    const counts = { nonce: 0, estimating: 0, maxEstimating: 0 };
    const send = chain.rpc.send.bind(chain.rpc);
    chain.rpc.send = async <T>(method: string, params: unknown[]): Promise<T> => {
      if (method === 'eth_getTransactionCount') counts.nonce++;
      if (method !== 'eth_estimateGas') return send<T>(method, params);
      const data = (params[0] as { data: string }).data;
      if (data === '0xdead') throw { data: '0x08c379a0' }; // reverts: nothing is sent for it
      counts.estimating++;
      counts.maxEstimating = Math.max(counts.maxEstimating, counts.estimating);
      // The first send's estimate answers last: the order of broadcasts must not follow it.
      await new Promise((r) => setTimeout(r, data === '0x01' ? 30 : 5));
      counts.estimating--;
      return '0x186a0' as T;
    };
    const q = new TxQueue(wallet, chain.rpc, { chainId: 1, label: 't', pollMs: 1, fees });
    const results = await Promise.allSettled(
      ['0x01', '0x02', '0xdead', '0x03'].map((data) => q.send({ to: TO, data: data as Hex })),
    );
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    expect(chain.broadcasts.map((t) => [t.data, t.nonce])).toEqual([
      ['0x01', 5],
      ['0x02', 6],
      ['0x03', 7],
    ]);
    expect(chain.broadcasts[0]?.gasLimit).toBe(130_000n); // the estimate + 30 %
    expect(counts.nonce).toBe(1);
    expect(counts.maxEstimating).toBe(3);
  });

  it('a send refused for its nonce goes out in the next burst; another refusal gets its gap filled', async () => {
    const chain = fakeChain(() => true);
    let pending = 5;
    let refusedOnce = false;
    const send = chain.rpc.send.bind(chain.rpc);
    chain.rpc.send = async <T>(method: string, params: unknown[]): Promise<T> => {
      if (method === 'eth_getTransactionCount') return `0x${pending.toString(16)}` as T;
      if (method === 'eth_sendRawTransaction') {
        const tx = Transaction.from(params[0] as string);
        if (tx.data === '0x02' && !refusedOnce) {
          refusedOnce = true;
          pending = 9; // another process of this key took nonces meanwhile
          throw new Error('nonce too low');
        }
        if (tx.data === '0x04') throw new Error('insufficient funds for gas * price + value');
      }
      return send<T>(method, params);
    };
    const q = new TxQueue(wallet, chain.rpc, { chainId: 1, label: 't', pollMs: 1, fees });
    const results = await Promise.allSettled(
      ['0x01', '0x02', '0x03', '0x04', '0x05'].map((data) =>
        q.send({ to: TO, data: data as Hex, gasLimit: 100_000n }),
      ),
    );
    expect(results.map((r) => r.status)).toEqual([
      'fulfilled',
      'fulfilled',
      'fulfilled',
      'rejected',
      'fulfilled',
    ]);
    const nonceOf = (data: string) => chain.broadcasts.find((t) => t.data === data)?.nonce;
    expect([nonceOf('0x01'), nonceOf('0x03'), nonceOf('0x05')]).toEqual([5, 7, 9]);
    expect(nonceOf('0x02')).toBe(9 + 1); // re-sent with the chain's fresh count
    // 0x04's nonce (8) was refused with 0x05 (9) out behind it: a 0-value transfer to ourselves fills it.
    const filler = chain.broadcasts.find((t) => t.nonce === 8 && t.data === '0x');
    expect(filler?.to).toBe(wallet.address);
    expect(filler?.value).toBe(0n);
  });

  it('finds a receipt the node served only after reporting its block, with no later block', async () => {
    // The head is already at the transaction's block, but its receipt is not served at the first
    // ask; the chain then makes no more blocks (automine, nothing else sent).
    let asks = 0;
    const hashes: string[] = [];
    const rpc: LiqRpc = {
      call: async () => '0x',
      blockNumber: async () => 20,
      getLogs: async () => [],
      async getReceipt(hash) {
        asks++;
        if (asks === 1) return null;
        return { status: 1, hash, blockNumber: 20, logs: [] } as unknown as TransactionReceipt;
      },
      async send<T>(method: string, params: unknown[]): Promise<T> {
        if (method === 'eth_getTransactionCount') return '0x0' as T;
        const tx = Transaction.from(params[0] as string);
        hashes.push(tx.hash as string);
        return tx.hash as T;
      },
    };
    const q = new TxQueue(wallet, rpc, { chainId: 1, label: 't', fees, pollMs: 20, timeoutMs: 5_000 });
    const r = await q.send({ to: TO, data: '0x', gasLimit: 21_000n });
    expect(r.receipt.blockNumber).toBe(20);
    expect(r.hash).toBe(hashes[0]);
    expect(asks).toBe(2);
  });

  it('waits for the configured confirmations', async () => {
    const chain = fakeChain(() => true);
    const q = new TxQueue(wallet, chain.rpc, { chainId: 1, label: 't', pollMs: 1, fees, confirmations: 3 });
    const r = await q.send({ to: TO, data: '0x', gasLimit: 100_000n });
    expect(chain.broadcasts).toHaveLength(1);
    expect(r.bumps).toBe(0);
    // Returned only once the receipt's block had two more on top of it.
    expect(chain.head() - r.receipt.blockNumber + 1).toBeGreaterThanOrEqual(3);
  });
});
