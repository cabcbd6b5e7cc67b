import { describe, expect, it } from 'vitest';
import type { Address, Hex } from '../../../relayer/config/types.ts';
import {
  ClaimOutbox,
  groupClaims,
  heardLiquidationClaims,
  MAX_CLAIMS_PER_MESSAGE,
} from '../../../relayer/liquidation/claims.ts';
import type { LiquidationClaim, LiquidationClaims } from '../../../relayer/liquidation/types.ts';
import type { SignedMessage } from '../../../relayer/p2p/types.ts';

const A = `0x${'aa'.repeat(20)}` as Address;
const B = `0x${'bb'.repeat(20)}` as Address;
const ME = `0x${'cc'.repeat(20)}` as Address;
const KEY = `0x${'11'.repeat(32)}` as Hex;

const claim = (sub: number, over: Partial<LiquidationClaim> = {}): LiquidationClaim => ({
  kind: 'liquidation',
  engineEid: 1,
  account: A,
  subaccount: String(sub),
  stateKey: KEY,
  claimant: B,
  deadline: 1_000 + sub,
  ...over,
});

const signed = <T>(payload: T, signer: Address = B): SignedMessage<T> =>
  ({ topic: 'claim', payload, signer, id: '0x', from: 'peer', sentAt: 0 }) as unknown as SignedMessage<T>;

describe('liquidation claims on gossip', () => {
  it('groups per engine chain and claimant, keeps a lone claim single, takes the earliest deadline', () => {
    const out = groupClaims([claim(1), claim(2), claim(3, { engineEid: 2 }), claim(4)]);
    expect(out).toHaveLength(2);
    expect(out[0]).toEqual({
      kind: 'liquidations',
      engineEid: 1,
      claimant: B,
      deadline: 1_001,
      items: [1, 2, 4].map((s) => ({ account: A, subaccount: String(s), stateKey: KEY })),
    });
    expect(out[1]).toEqual(claim(3, { engineEid: 2 }));
  });

  it('splits past MAX_CLAIMS_PER_MESSAGE items', () => {
    const out = groupClaims(Array.from({ length: MAX_CLAIMS_PER_MESSAGE + 2 }, (_, i) => claim(i)));
    expect(out.map((m) => (m.kind === 'liquidations' ? m.items.length : 1))).toEqual([
      MAX_CLAIMS_PER_MESSAGE,
      2,
    ]);
  });

  it('a receiver expands a batch message into the single claims, with its deadline', () => {
    const [batch] = groupClaims([claim(1), claim(2)]);
    const heard = heardLiquidationClaims(signed(batch as LiquidationClaims), ME);
    expect(heard).toEqual([claim(1, { deadline: 1_001 }), claim(2, { deadline: 1_001 })]);
    expect(heardLiquidationClaims(signed(claim(5)), ME)).toEqual([claim(5)]);
  });

  it('yields nothing for a batch not signed by its claimant, our own, or any malformed item', () => {
    const [batch] = groupClaims([claim(1), claim(2)]) as [LiquidationClaims];
    expect(heardLiquidationClaims(signed(batch, A), ME)).toEqual([]);
    expect(heardLiquidationClaims(signed(batch), B)).toEqual([]);
    const bad = { ...batch, items: [...batch.items, { account: A, subaccount: '-1', stateKey: KEY }] };
    expect(heardLiquidationClaims(signed(bad), ME)).toEqual([]);
    const hole = { ...batch, items: [...batch.items, null] } as unknown as LiquidationClaims;
    expect(heardLiquidationClaims(signed(hole), ME)).toEqual([]);
    const many = {
      ...batch,
      items: Array.from({ length: MAX_CLAIMS_PER_MESSAGE + 1 }, () => batch.items[0]),
    };
    expect(heardLiquidationClaims(signed(many as LiquidationClaims), ME)).toEqual([]);
    expect(heardLiquidationClaims(signed({ ...batch, items: [] }), ME)).toEqual([]);
  });

  it('the outbox publishes what arrived within its delay as one message, and flushes on demand', async () => {
    const published: (LiquidationClaim | LiquidationClaims)[] = [];
    const errors: unknown[] = [];
    const outbox = new ClaimOutbox(
      async (p) => {
        published.push(p);
        if (p.kind === 'liquidation') throw new Error('no peers');
      },
      (e) => errors.push(e),
      5,
    );
    outbox.add(claim(1));
    outbox.add(claim(2));
    expect(published).toHaveLength(0);
    await new Promise((r) => setTimeout(r, 20));
    expect(published.map((p) => p.kind)).toEqual(['liquidations']);
    outbox.add(claim(3));
    outbox.flush();
    expect(published.map((p) => p.kind)).toEqual(['liquidations', 'liquidation']);
    await new Promise((r) => setTimeout(r, 0));
    expect(errors.map(String)).toEqual(['Error: no peers']);
  });
});
