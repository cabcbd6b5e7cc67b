import { FeeData, JsonRpcProvider, Wallet } from 'ethers';
import { describe, expect, it, vi } from 'vitest';
import { HeadroomWallet, withGasHeadroom } from '../../../relayer/chain/gas.ts';

const KEY = `0x${'11'.repeat(32)}`;

describe('gas head-room', () => {
  it('adds 30 % to an estimate', () => {
    expect(withGasHeadroom(100_000n)).toBe(130_000n);
    expect(withGasHeadroom(235_753n)).toBe(306_478n);
  });

  it('HeadroomWallet fills an unset gas limit with the head-room, and keeps it when reconnected', async () => {
    const provider = new JsonRpcProvider('http://127.0.0.1:1', 31337, { staticNetwork: true });
    const estimate = vi.spyOn(provider, 'estimateGas').mockResolvedValue(200_000n);
    vi.spyOn(provider, 'getFeeData').mockResolvedValue(new FeeData(1n, null, null));
    const wallet = new HeadroomWallet(KEY, provider);
    expect(wallet.address).toBe(new Wallet(KEY).address);
    const tx = { to: wallet.address, data: '0x', nonce: 0, chainId: 31337n, type: 0, gasPrice: 1n };
    expect((await wallet.populateTransaction(tx)).gasLimit).toBe(260_000n);
    // A limit the caller gave is left alone.
    expect((await wallet.populateTransaction({ ...tx, gasLimit: 21_000n })).gasLimit).toBe(21_000n);

    const again = wallet.connect(provider);
    expect(again).toBeInstanceOf(HeadroomWallet);
    expect((await again.populateTransaction(tx)).gasLimit).toBe(260_000n);
    expect(estimate).toHaveBeenCalledTimes(2);
    provider.destroy();
  });
});
