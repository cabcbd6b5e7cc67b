// The observation collector against a stand-in view that applies exactly like MarginView does
// (quorum check, then fromBlock must follow the cursor): quorum reached and not, wrong signer, forged
// digest, out-of-order buffering, conflicting digests. Plus the wire round trip of the payload
// schema, which must give back an observation with the same digest.

import type { Wallet } from 'ethers';
import { beforeEach, describe, expect, it } from 'vitest';
import type { Address } from '../../../relayer/config/types.ts';
import { silentLogger } from '../../../relayer/log.ts';
import { createCollector, type ObservationCollector } from '../../../relayer/margin/collector.ts';
import {
  buildObservation,
  type MarginObservation,
  observationDigest,
  signObservation,
} from '../../../relayer/margin/observation.ts';
import type { MarginEvent } from '../../../relayer/margin/types.ts';
import { canonicalJson } from '../../../relayer/p2p/envelope.ts';
import { type ObservationPayload, observationPayload } from '../../../relayer/p2p/observation-payload.ts';
import {
  a,
  attestors,
  block,
  EID,
  fakeObservationView,
  h,
  outsider,
  w1,
  w2,
  w3,
} from '../../support/observations.ts';

const deposit = (amount: bigint): MarginEvent => ({
  type: 'Deposited',
  id: h(0xd1),
  account: a(0xbeef),
  subaccount: 0n,
  token: a(0x1001),
  amount,
  engineEid: 40_103,
});

async function payload(obs: MarginObservation, wallet: Wallet): Promise<ObservationPayload> {
  // Through the wire form, as a receiver gets it.
  const wire = JSON.parse(canonicalJson({ observation: obs, signature: await signObservation(obs, wallet) }));
  return observationPayload.parse(wire);
}

let view: ReturnType<typeof fakeObservationView>;
let collector: ObservationCollector;
beforeEach(() => {
  view = fakeObservationView(attestors);
  collector = createCollector({ view, observed: [EID], attestors, log: silentLogger(), window: 8 });
});

describe('observation payload schema', () => {
  it('round-trips an observation with bigints and keeps its digest', async () => {
    const obs = block(0, [deposit(2n * 10n ** 18n)]);
    const p = await payload(obs, w1);
    expect(p.observation).toEqual(obs);
    expect(observationDigest(p.observation)).toBe(observationDigest(obs));
  });

  it('refuses unknown event types and oversized blocks', async () => {
    const wire = JSON.parse(
      canonicalJson({ observation: block(0), signature: await signObservation(block(0), w1) }),
    );
    wire.observation.blocks[0].events = [{ type: 'Nope' }];
    expect(observationPayload.safeParse(wire).success).toBe(false);
    wire.observation.blocks[0].events = Array.from({ length: 257 }, () =>
      JSON.parse(canonicalJson(deposit(1n))),
    );
    expect(observationPayload.safeParse(wire).success).toBe(false);
  });
});

describe('observation collector', () => {
  it('applies a block once a quorum of attestors signed the same digest, not before', async () => {
    const obs = block(0, [deposit(5n)]);
    expect((await collector.receive(await payload(obs, w1))).outcome).toBe('pending');
    expect(view.applied).toHaveLength(0);
    expect((await collector.receive(await payload(obs, w1))).outcome).toBe('duplicate');
    expect(view.applied).toHaveLength(0);
    expect((await collector.receive(await payload(obs, w2))).outcome).toBe('applied');
    expect(view.applied).toEqual([obs]);
    expect(view.cursor(EID)).toBe(0);
    // The third attestor's late signature changes nothing.
    expect((await collector.receive(await payload(obs, w3))).outcome).toBe('duplicate');
    expect(view.applied).toHaveLength(1);
  });

  it('never counts a signer outside the attestor set', async () => {
    const obs = block(0);
    expect((await collector.receive(await payload(obs, outsider))).outcome).toBe('rejected');
    expect((await collector.receive(await payload(obs, w1))).outcome).toBe('pending');
    expect(view.applied).toHaveLength(0);
  });

  it('rejects a signature that does not recover to the claimed signer', async () => {
    const obs = block(0);
    const p = await payload(obs, outsider);
    const claimed = { ...p, signature: { ...p.signature, signer: w2.address as Address } };
    expect((await collector.receive(await payload(obs, w1))).outcome).toBe('pending');
    expect((await collector.receive(claimed)).outcome).toBe('rejected');
    expect(view.applied).toHaveLength(0);
  });

  it('rejects a forged observation: a signature over another digest does not count', async () => {
    const honest = block(0, [deposit(5n)]);
    const forged = block(0, [deposit(5_000n)]);
    const p = await payload(honest, w2);
    expect((await collector.receive(await payload(forged, w1))).outcome).toBe('pending');
    // w2's signature over the honest digest, attached to the forged observation.
    expect((await collector.receive({ observation: forged, signature: p.signature })).outcome).toBe(
      'rejected',
    );
    expect(view.applied).toHaveLength(0);
  });

  it('buffers blocks that arrive ahead of the cursor and applies them in order', async () => {
    for (const n of [2, 1]) {
      await collector.receive(await payload(block(n), w1));
      await collector.receive(await payload(block(n), w2));
    }
    expect(view.applied).toHaveLength(0);
    expect(collector.stats()[EID]?.buffered).toBe(2);
    await collector.receive(await payload(block(0), w3));
    expect((await collector.receive(await payload(block(0), w1))).outcome).toBe('applied');
    expect(view.applied.map((o) => o.fromBlock)).toEqual([0, 1, 2]);
    expect(collector.stats()[EID]).toMatchObject({ cursor: 2, buffered: 0, applied: 3 });
    // Beyond the window (8 blocks past the next one): dropped, not buffered.
    expect((await collector.receive(await payload(block(11), w1))).outcome).toBe('ignored');
    expect(collector.stats()[EID]?.buffered).toBe(0);
  });

  it('drops digests that contradict a quorum and flags an attestor signing two digests', async () => {
    const good = block(0, [deposit(5n)]);
    const bad = block(0, [deposit(6n)]);
    await collector.receive(await payload(good, w1));
    // w1 now signs another digest for the same block: equivocation.
    expect((await collector.receive(await payload(bad, w1))).outcome).toBe('conflict');
    await collector.receive(await payload(good, w2));
    expect(view.applied).toEqual([good]);
    // After the quorum was applied, a different digest for that block is a disagreement.
    expect((await collector.receive(await payload(bad, w3))).outcome).toBe('conflict');
    // Before it is applied (block 2 waits for block 1), too.
    await collector.receive(await payload(block(2), w1));
    await collector.receive(await payload(block(2), w2));
    expect((await collector.receive(await payload(block(2, [deposit(1n)]), w3))).outcome).toBe('conflict');
    expect(collector.stats()[EID]?.conflicts).toBe(3);
    expect(view.applied).toHaveLength(1);
  });

  it('ignores chains it does not observe and waits for the first block of a fresh chain', async () => {
    const other = buildObservation(40_102, 0, [
      { eid: 40_102, number: 0, hash: h(1), timestamp: 1, events: [] },
    ]);
    expect((await collector.receive(await payload(other, w1))).outcome).toBe('ignored');
    // Block 5 with a quorum, but the view has nothing yet: it waits for block 0.
    await collector.receive(await payload(block(5), w1));
    expect((await collector.receive(await payload(block(5), w2))).outcome).toBe('pending');
    expect(view.applied).toHaveLength(0);
  });
});
