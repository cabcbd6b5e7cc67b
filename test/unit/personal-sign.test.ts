import { getBytes, hexlify, randomBytes, Transaction, verifyMessage, Wallet } from 'ethers';
import { describe, expect, it } from 'vitest';
import { personalSign, signTransaction } from '../../relayer/keys/personal-sign.ts';

describe('personalSign (libsecp256k1)', () => {
  it('gives the same 65 bytes as ethers Wallet.signMessage, for random keys and messages', async () => {
    for (let i = 0; i < 64; i++) {
      // createRandom gives an HDNodeWallet; a plain Wallet from its key takes the same path.
      const wallet = i % 2 === 0 ? Wallet.createRandom() : new Wallet(Wallet.createRandom().privateKey);
      const message = randomBytes(1 + (i % 40));
      const fast = await personalSign(wallet, message);
      expect(fast).toBe(await wallet.signMessage(message));
      expect(verifyMessage(message, fast)).toBe(wallet.address);
    }
  });

  it('signs through ethers when the signer holds no local key', async () => {
    const wallet = Wallet.createRandom();
    const calls: Uint8Array[] = [];
    const remote = {
      signMessage: async (m: Uint8Array) => {
        calls.push(m);
        return wallet.signMessage(m);
      },
    } as unknown as Wallet;
    const message = getBytes('0x1234');
    expect(await personalSign(remote, message)).toBe(await wallet.signMessage(message));
    expect(calls.map((m) => hexlify(m))).toEqual(['0x1234']);
  });

  it('signs transactions to the same bytes as ethers Wallet.signTransaction', async () => {
    for (let i = 0; i < 32; i++) {
      const wallet = new Wallet(hexlify(randomBytes(32)));
      const request = {
        type: 2,
        chainId: BigInt(1 + i * 7919),
        nonce: i * 3,
        to: Wallet.createRandom().address,
        data: hexlify(randomBytes(i * 5)),
        value: BigInt(i) * 10n ** 15n,
        gasLimit: 21_000n + BigInt(i) * 100_000n,
        maxFeePerGas: 30n * 10n ** 9n + BigInt(i),
        maxPriorityFeePerGas: 10n ** 9n,
      };
      const fast = await signTransaction(wallet, request);
      expect(fast).toBe(await wallet.signTransaction(request));
      expect(Transaction.from(fast).from).toBe(wallet.address);
    }
  });
});
