// Quorum collection of weight-update signatures: only attestors' signatures of the very update they
// name count, once per signer; a quorum is marked once; different weights, nonces or deadlines never
// mix; a moved nonce or a passed deadline drops the round; the quorum picked for the governor is in
// strictly ascending signer order.

import { Wallet } from 'ethers';
import { describe, expect, it } from 'vitest';
import { pickQuorum } from '../../../attestor/dvn.ts';
import type { Address } from '../../../relayer/config/types.ts';
import { WeightSignatureBook } from '../../../relayer/weights/book.ts';
import {
  recoverWeightSigner,
  signWeightUpdate,
  type WeightUpdate,
  weightDigest,
} from '../../../relayer/weights/eip712.ts';

const wallets = [1, 2, 3].map((i) => new Wallet(`0x${String(i).padStart(2, '0').repeat(32)}`));
const outsider = new Wallet(`0x${'09'.repeat(32)}`);
const signers = wallets.map((w) => w.address as Address);
const EID = 40103;
const U: WeightUpdate = {
  chainId: 40103,
  governor: '0x5f3f1dBD7B74C6B46e8c44f98792A1dAf8d69154',
  assetId: 1,
  weight: 75n * 10n ** 16n,
  nonce: 0n,
  deadline: 2_000_000_000n,
};

const sign = (w: Wallet, u: WeightUpdate = U) => signWeightUpdate(w, u);

describe('weight signature book', () => {
  it('reaches the quorum with two distinct attestors, once', async () => {
    const book = new WeightSignatureBook(signers, 2);
    const [a, b, c] = wallets as [Wallet, Wallet, Wallet];
    const first = book.add(EID, U, a.address as Address, await sign(a), 100);
    expect(first?.quorumAt).toBeUndefined();
    expect(book.add(EID, U, a.address as Address, await sign(a), 101)).toBeUndefined(); // duplicate
    expect(book.ready()).toEqual([]);
    const second = book.add(EID, U, b.address as Address, await sign(b), 200);
    expect(second?.quorumAt).toBe(200);
    expect(second?.digest).toBe(weightDigest(U));
    book.add(EID, U, c.address as Address, await sign(c), 300);
    expect(book.ready()).toHaveLength(1);
    expect(book.ready()[0]?.quorumAt).toBe(200);
    expect(book.ready()[0]?.signatures.size).toBe(3);
  });

  it('refuses outsiders and signatures relayed under another signer', async () => {
    const book = new WeightSignatureBook(signers, 2);
    const [a, b] = wallets as [Wallet, Wallet];
    expect(book.add(EID, U, outsider.address as Address, await sign(outsider), 1)).toBeUndefined();
    expect(book.add(EID, U, b.address as Address, await sign(a), 1)).toBeUndefined();
    expect(book.add(EID, U, a.address as Address, '0x1234', 1)).toBeUndefined();
    // Signed over another weight but claimed for U: recovers to someone else.
    expect(
      book.add(EID, U, a.address as Address, await sign(a, { ...U, weight: U.weight - 1n }), 1),
    ).toBeUndefined();
    expect(book.ready()).toEqual([]);
  });

  it('keeps different weights, nonces and deadlines apart', async () => {
    const book = new WeightSignatureBook(signers, 2);
    const [a, b] = wallets as [Wallet, Wallet];
    const other = [
      { ...U, weight: U.weight + 10n ** 16n },
      { ...U, nonce: 1n },
      { ...U, deadline: U.deadline + 60n },
    ];
    book.add(EID, U, a.address as Address, await sign(a), 1);
    for (const u of other) book.add(EID, u, b.address as Address, await sign(b, u), 1);
    expect(book.ready()).toEqual([]);
  });

  it('drops rounds whose nonce moved on or whose deadline passed', async () => {
    const book = new WeightSignatureBook(signers, 2);
    const [a] = wallets as [Wallet];
    const later = { ...U, nonce: 1n, deadline: U.deadline + 600n };
    book.add(EID, U, a.address as Address, await sign(a), 1);
    book.add(EID, later, a.address as Address, await sign(a, later), 1);
    expect(book.prune(EID, 2, 1n, 0)).toEqual([]); // another asset
    const dropped = book.prune(EID, 1, 1n, 0);
    expect(dropped.map((r) => r.update.nonce)).toEqual([0n]);
    expect(book.get(weightDigest(later))).toBeDefined();
    expect(book.prune(EID, 1, 1n, Number(later.deadline) + 1).map((r) => r.update.nonce)).toEqual([1n]);
  });

  it('picks exactly the quorum, in strictly ascending signer order, dropping strangers', async () => {
    const sigs = await Promise.all([...wallets, outsider].map((w) => sign(w)));
    const picked = pickQuorum(sigs, 2, signers, (s) => recoverWeightSigner(U, s));
    const order = picked.map((s) => BigInt(recoverWeightSigner(U, s)));
    expect(order).toHaveLength(2);
    expect(order[0] as bigint).toBeLessThan(order[1] as bigint);
    const lowest = [...signers].map((s) => BigInt(s)).sort((x, y) => (x < y ? -1 : 1));
    expect(order).toEqual(lowest.slice(0, 2));
    expect(() =>
      pickQuorum([sigs[3] as `0x${string}`], 1, signers, (s) => recoverWeightSigner(U, s)),
    ).toThrow(/0 valid signatures/);
  });
});
