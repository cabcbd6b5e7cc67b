// Observations of busy blocks, in parts: the split (fixed, and every part fits a gossip envelope even
// with the largest events), the wire schema, and the collector reassembling each attestor's parts
// (in any order) into the observation they signed, applying it with a quorum, refusing altered
// parts, outsiders and odd splits, and keeping its buffer bounded.

import type { Wallet } from 'ethers';
import { beforeEach, describe, expect, it } from 'vitest';
import type { Address } from '../../../relayer/config/types.ts';
import { silentLogger } from '../../../relayer/log.ts';
import { createCollector, type ObservationCollector } from '../../../relayer/margin/collector.ts';
import {
  type MarginObservation,
  observationDigest,
  signObservation,
} from '../../../relayer/margin/observation.ts';
import {
  isObservationPart,
  ObservationAssembler,
  observationMessages,
} from '../../../relayer/margin/observation-parts.ts';
import type { MarginEvent } from '../../../relayer/margin/types.ts';
import { canonicalJson, MAX_ENVELOPE_BYTES, sealEnvelope } from '../../../relayer/p2p/envelope.ts';
import {
  EVENTS_PER_PART,
  MAX_OBSERVATION_PARTS,
  type ObservationMessage,
  type ObservationPartPayload,
  observationMessage,
} from '../../../relayer/p2p/observation-payload.ts';
import { TOPICS } from '../../../relayer/p2p/types.ts';
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

const deposit = (i: number): MarginEvent => ({
  type: 'Deposited',
  id: h(0xd000 + i),
  account: a(0xbeef),
  subaccount: BigInt(i % 3),
  token: a(0x1001),
  amount: BigInt(i + 1) * 10n ** 18n,
  engineEid: 40_103,
});

/** The largest event the schema lets through: every integer 78 digits. */
const MAX_INT = 10n ** 77n * 9n;
const liquidated = (i: number): MarginEvent => ({
  type: 'Liquidated',
  liquidator: a(0xffff_0000 + i),
  closeFraction: MAX_INT,
  closedNotional: MAX_INT,
  repaid: MAX_INT,
  healthBefore: -MAX_INT,
  healthAfter: -MAX_INT,
  account: a(0xeeee_0000 + i),
  subaccount: MAX_INT,
});

/** The messages `wallet` publishes for `obs`, as a receiver gets them (through the wire form). */
async function messages(obs: MarginObservation, wallet: Wallet): Promise<ObservationMessage[]> {
  const signature = await signObservation(obs, wallet);
  return observationMessages(obs, signature).map((m) =>
    observationMessage.parse(JSON.parse(canonicalJson(m))),
  );
}

const parts = (ms: ObservationMessage[]): ObservationPartPayload[] => ms.filter(isObservationPart);

let view: ReturnType<typeof fakeObservationView>;
let collector: ObservationCollector;
beforeEach(() => {
  view = fakeObservationView(attestors);
  collector = createCollector({ view, observed: [EID], attestors, log: silentLogger(), window: 8 });
});

describe('splitting a busy block', () => {
  it('sends a block of up to EVENTS_PER_PART events whole, and a larger one in fixed parts', async () => {
    const small = await messages(
      block(
        0,
        Array.from({ length: EVENTS_PER_PART }, (_, i) => deposit(i)),
      ),
      w1,
    );
    expect(small).toHaveLength(1);
    expect(isObservationPart(small[0] as ObservationMessage)).toBe(false);

    const busy = block(
      0,
      Array.from({ length: 150 }, (_, i) => deposit(i)),
    );
    const split = parts(await messages(busy, w1));
    expect(split.map((m) => [m.part.index, m.part.count, m.part.events.length])).toEqual([
      [0, 3, 64],
      [1, 3, 64],
      [2, 3, 22],
    ]);
    // Every part carries the block's head and the one signature over the whole block.
    const whole = await signObservation(busy, w1);
    for (const m of split) {
      expect(m.part.block).toEqual(busy.block);
      expect(m.signature).toEqual(whole);
    }
  });

  it('fits every message in a gossip envelope, even 64 events of the largest kind', async () => {
    const worst = block(
      0,
      Array.from({ length: 2 * EVENTS_PER_PART }, (_, i) => liquidated(i)),
    );
    const ms = await messages(worst, w1);
    expect(parts(ms)).toHaveLength(2);
    const wholeOfMax = await messages(block(0, worst.blocks[0]?.events.slice(0, EVENTS_PER_PART) ?? []), w1);
    for (const m of [...ms, ...wholeOfMax]) {
      const sealed = await sealEnvelope(w1, { topic: TOPICS.observation, sentAt: 1, payload: m });
      expect(sealed.bytes.length).toBeLessThan(MAX_ENVELOPE_BYTES);
    }
  });

  it('refuses a block beyond MAX_OBSERVATION_PARTS parts with a reason', async () => {
    const tooMany = block(
      0,
      Array.from({ length: EVENTS_PER_PART * MAX_OBSERVATION_PARTS + 1 }, () => deposit(1)),
    );
    const signature = await signObservation(block(0, []), w1);
    expect(() => observationMessages(tooMany, signature)).toThrow(/more than 256 parts of 64/);
  });

  it('the wire schema refuses parts out of range', async () => {
    const [first] = parts(
      await messages(
        block(
          0,
          Array.from({ length: 70 }, (_, i) => deposit(i)),
        ),
        w1,
      ),
    );
    const wire = JSON.parse(canonicalJson(first));
    expect(observationMessage.safeParse(wire).success).toBe(true);
    expect(observationMessage.safeParse({ ...wire, part: { ...wire.part, index: 2 } }).success).toBe(false);
    expect(observationMessage.safeParse({ ...wire, part: { ...wire.part, count: 1 } }).success).toBe(false);
    expect(
      observationMessage.safeParse({ ...wire, part: { ...wire.part, count: MAX_OBSERVATION_PARTS + 1 } })
        .success,
    ).toBe(false);
    const tooLong = [...wire.part.events, wire.part.events[0]];
    expect(observationMessage.safeParse({ ...wire, part: { ...wire.part, events: tooLong } }).success).toBe(
      false,
    );
  });
});

describe('collecting a busy block', () => {
  it('reassembles each attestor’s parts, in any order, and applies the block with a quorum', async () => {
    const busy = block(
      0,
      Array.from({ length: 200 }, (_, i) => deposit(i)),
    );
    const [p1, p2] = [parts(await messages(busy, w1)), parts(await messages(busy, w2))];
    expect(p1).toHaveLength(4);
    // Interleaved and reversed, as gossip may deliver them.
    for (const m of [p1[3], p2[1], p1[0], p2[0], p1[2], p2[3]]) {
      expect((await collector.receive(m as ObservationPartPayload)).outcome).toBe('pending');
    }
    expect(collector.stats()[EID]?.parts).toBe(6);
    expect((await collector.receive(p1[1] as ObservationPartPayload)).outcome).toBe('pending'); // w1 complete
    expect(view.applied).toHaveLength(0);
    expect((await collector.receive(p2[2] as ObservationPartPayload)).outcome).toBe('applied');
    expect(view.applied).toHaveLength(1);
    expect(observationDigest(view.applied[0] as MarginObservation)).toBe(observationDigest(busy));
    expect(collector.stats()[EID]).toMatchObject({ cursor: 0, parts: 0, applied: 1, rejected: 0 });
    // A late attestor's parts of an applied block are not buffered.
    const p3 = parts(await messages(busy, w3));
    expect((await collector.receive(p3[0] as ObservationPartPayload)).outcome).toBe('duplicate');
    expect(collector.stats()[EID]?.parts).toBe(0);
  });

  it('an altered part spoils only its attestor’s observation of the block', async () => {
    const busy = block(
      0,
      Array.from({ length: 100 }, (_, i) => deposit(i)),
    );
    const forged = parts(await messages(busy, w1));
    const events = [...(forged[1]?.part.events ?? [])];
    events[0] = { ...(events[0] as MarginEvent & { type: 'Deposited' }), amount: 10n ** 30n };
    forged[1] = {
      ...(forged[1] as ObservationPartPayload),
      part: { ...(forged[1]?.part as ObservationPartPayload['part']), events },
    };
    await collector.receive(forged[0] as ObservationPartPayload);
    // Complete, but its signature is not over what it now says.
    expect((await collector.receive(forged[1] as ObservationPartPayload)).outcome).toBe('rejected');
    for (const m of parts(await messages(busy, w2))) await collector.receive(m);
    expect(view.applied).toHaveLength(0);
    const last = parts(await messages(busy, w3));
    await collector.receive(last[0] as ObservationPartPayload);
    expect((await collector.receive(last[1] as ObservationPartPayload)).outcome).toBe('applied');
    expect(observationDigest(view.applied[0] as MarginObservation)).toBe(observationDigest(busy));
  });

  it('does not buffer an outsider’s parts, nor a split that is not the fixed one', async () => {
    const busy = block(
      0,
      Array.from({ length: 100 }, (_, i) => deposit(i)),
    );
    const [theirs] = parts(await messages(busy, outsider));
    expect((await collector.receive(theirs as ObservationPartPayload)).outcome).toBe('rejected');
    const [first] = parts(await messages(busy, w1));
    const short = {
      ...(first as ObservationPartPayload),
      part: {
        ...(first?.part as ObservationPartPayload['part']),
        events: first?.part.events.slice(0, 10) ?? [],
      },
    };
    const r = await collector.receive(short);
    expect(r).toMatchObject({
      outcome: 'rejected',
      reason: expect.stringMatching(/holds 10 events, expected 64/),
    });
    expect(collector.stats()[EID]).toMatchObject({ parts: 0, rejected: 2 });
  });
});

describe('ObservationAssembler', () => {
  it('drops an attestor’s oldest unfinished block past its part budget', async () => {
    const assembler = new ObservationAssembler({ maxPartsPerSigner: 4 });
    const signer = w1.address.toLowerCase() as Address;
    const busy = (n: number) =>
      block(
        n,
        Array.from({ length: 3 * EVENTS_PER_PART }, (_, i) => deposit(i)),
      );
    const b0 = parts(await messages(busy(0), w1));
    const b1 = parts(await messages(busy(1), w1));
    const b2 = parts(await messages(busy(2), w1));
    for (const m of [b0[0], b0[1], b1[0], b1[1]]) assembler.add(signer, m as ObservationPartPayload);
    expect(assembler.bufferedParts(EID)).toBe(4);
    // A fifth part: block 0 (the oldest) goes.
    assembler.add(signer, b2[0] as ObservationPartPayload);
    expect(assembler.bufferedParts(EID)).toBe(3);
    expect(assembler.add(signer, b0[2] as ObservationPartPayload)).toMatchObject({
      status: 'pending',
      missing: 2,
    });
    // Block 1 was kept and completes.
    expect(assembler.add(signer, b1[2] as ObservationPartPayload)).toMatchObject({ status: 'complete' });
  });
});
