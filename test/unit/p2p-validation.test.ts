// The verdict table and the per-topic validators, without a network: every code maps to a verdict
// and a penalty, every topic has a validator, and each failure mode yields its code.

import type { Wallet } from 'ethers';
import { Wallet as EthersWallet } from 'ethers';
import { describe, expect, it } from 'vitest';
import type { Address, Hex } from '../../relayer/config/types.ts';
import { buildObservation, signObservation } from '../../relayer/margin/observation.ts';
import { PeerBindings } from '../../relayer/p2p/bindings.ts';
import {
  ERROR_OUTCOMES,
  GOSSIP_ERROR,
  type GossipErrorCode,
  PEER_ACTION,
  sealEnvelope,
  TOPICS,
  type TopicName,
  VERDICT,
} from '../../relayer/p2p/index.ts';
import { ACTION_COST, PeerPenalties } from '../../relayer/p2p/penalties.ts';
import { SCORE_THRESHOLDS } from '../../relayer/p2p/scoring.ts';
import { SeenCache } from '../../relayer/p2p/seen-cache.ts';
import { GossipValidator } from '../../relayer/p2p/validation.ts';
import { signWeightUpdate, type WeightUpdate } from '../../relayer/weights/eip712.ts';

const attestor = new EthersWallet(`0x${'01'.repeat(32)}`);

/** A payload the topic's schema accepts; observations have a real one, the others any object. */
async function samplePayload(
  topic: 'dvnSignature' | 'claim' | 'observation' | 'weightSignature',
  n: number,
  by: Wallet = attestor,
): Promise<unknown> {
  if (topic === 'weightSignature') return weightPayload(BigInt(n), by);
  if (topic !== 'observation') return { n };
  const hash = `0x${n.toString(16).padStart(64, '0')}` as Hex;
  const obs = buildObservation(30101, n, [{ eid: 30101, number: n, hash, timestamp: 1000 + n, events: [] }]);
  return { observation: obs, signature: await signObservation(obs, attestor) };
}
const outsider = new EthersWallet(`0x${'02'.repeat(32)}`);

/** A weightSignature payload as it travels: bigints as decimal strings, signed by `by`. */
async function weightPayload(nonce: bigint, by: Wallet, tamper: Partial<WeightUpdate> = {}) {
  const update: WeightUpdate = {
    chainId: 40103,
    governor: '0x5f3f1dBD7B74C6B46e8c44f98792A1dAf8d69154',
    assetId: 1,
    weight: 75n * 10n ** 16n,
    nonce,
    deadline: 2_000_000_000n,
  };
  const signature = await signWeightUpdate(by, update);
  const sent = { ...update, ...tamper };
  return {
    eid: 40103,
    ...sent,
    weight: sent.weight.toString(),
    nonce: sent.nonce.toString(),
    deadline: sent.deadline.toString(),
    signature,
  };
}
const PEER = 'peer-a';
const RELAY = 'peer-relay';
const T0 = 1_700_000_000_000;

function setup() {
  let clock = T0;
  const now = () => clock;
  const penalties = new PeerPenalties({ now });
  const bindings = new PeerBindings({ ttlMs: 60_000, now });
  const validator = new GossipValidator(
    {
      allowedSigners: () => new Set([attestor.address.toLowerCase() as Address]),
      bindings,
      seen: new SeenCache({ ttlMs: 121_000, now }),
      maxClockSkewMs: 60_000,
      now,
    },
    penalties,
  );
  return {
    validator,
    penalties,
    bindings,
    advance: (ms: number) => {
      clock += ms;
    },
    async send(
      topic: TopicName,
      payload: unknown,
      opts: { by?: Wallet; sentAt?: number; author?: string } = {},
    ) {
      const { bytes } = await sealEnvelope(opts.by ?? attestor, {
        topic: TOPICS[topic],
        sentAt: opts.sentAt ?? clock,
        payload,
      });
      return validator.validate(topic, RELAY, { author: opts.author ?? PEER, data: bytes });
    },
  };
}

const heartbeat = { version: '0.1.0', roles: ['attestor'], chains: [{ eid: 30101, head: 5n, lag: 1 }] };

describe('verdict table', () => {
  it('gives every error code a verdict and a penalty; ignores carry none', () => {
    for (const code of Object.keys(GOSSIP_ERROR) as GossipErrorCode[]) {
      const { verdict, action } = ERROR_OUTCOMES[code];
      expect(Object.values(VERDICT)).toContain(verdict);
      expect(verdict === VERDICT.accept).toBe(false);
      if (verdict === VERDICT.ignore) expect(action).toBeNull();
      else expect(action === null || Object.values(PEER_ACTION).includes(action)).toBe(true);
    }
    expect(ERROR_OUTCOMES.UNBOUND_PEER.verdict).toBe(VERDICT.ignore);
    expect(ERROR_OUTCOMES.BAD_SIGNATURE.verdict).toBe(VERDICT.reject);
  });

  it('makes a fatal action alone cross the graylist threshold, and penalties decay', () => {
    expect(ACTION_COST.fatal).toBeLessThan(SCORE_THRESHOLDS.graylistThreshold);
    let clock = 0;
    const penalties = new PeerPenalties({ halfLifeMs: 1000, now: () => clock });
    penalties.apply('p', 'lowTolerance');
    penalties.apply('p', 'midTolerance');
    expect(penalties.score('p')).toBe(-15);
    clock = 1000;
    expect(penalties.score('p')).toBeCloseTo(-7.5);
    expect(penalties.score('other')).toBe(0);
  });
});

describe('topic validators', () => {
  it('accepts a heartbeat from any signer and binds its author', async () => {
    const t = setup();
    const result = await t.send('heartbeat', heartbeat, { by: outsider });
    expect(result.verdict).toBe('accept');
    expect(result.message?.payload).toMatchObject({ chains: [{ eid: 30101, head: 5n, lag: 1 }] });
    expect(t.bindings.signerOf(PEER)).toBe(outsider.address);
  });

  it('rejects a heartbeat whose signer differs from the bound one', async () => {
    const t = setup();
    await t.send('heartbeat', heartbeat);
    const result = await t.send('heartbeat', heartbeat, { by: outsider });
    expect(result).toMatchObject({ verdict: 'reject', outcome: 'BINDING_CONFLICT' });
    // The same content from the bound signer a second time is a replay.
    expect(await t.send('heartbeat', heartbeat)).toMatchObject({ verdict: 'reject', outcome: 'REPLAY' });
    expect(t.bindings.signerOf(PEER)).toBe(attestor.address);
  });

  it.each(['dvnSignature', 'claim', 'observation', 'weightSignature'] as const)(
    '%s: ignores unbound peers, accepts bound attestors',
    async (topic) => {
      const t = setup();
      expect(await t.send(topic, await samplePayload(topic, 1))).toMatchObject({
        verdict: 'ignore',
        outcome: 'UNBOUND_PEER',
      });
      expect(t.penalties.score(RELAY)).toBe(0);
      await t.send('heartbeat', heartbeat);
      const accepted = await t.send(topic, await samplePayload(topic, 2));
      expect(accepted.verdict).toBe('accept');
      expect(accepted.message).toMatchObject({ topic, signer: attestor.address, fromPeer: PEER, sentAt: T0 });
    },
  );

  it.each(['dvnSignature', 'claim', 'observation', 'weightSignature'] as const)(
    '%s: rejects signers outside the attestor set',
    async (topic) => {
      const t = setup();
      await t.send('heartbeat', heartbeat, { by: outsider });
      expect(await t.send(topic, await samplePayload(topic, 1, outsider), { by: outsider })).toMatchObject({
        verdict: 'reject',
        outcome: 'UNKNOWN_SIGNER',
      });
      expect(t.penalties.score(RELAY)).toBeLessThan(0);
    },
  );

  it('counts rejections per peer that sent them, by code', async () => {
    const t = setup();
    await t.send('heartbeat', heartbeat, { by: outsider });
    for (let i = 0; i < 3; i++)
      await t.send('dvnSignature', await samplePayload('dvnSignature', i, outsider), { by: outsider });
    await t.send('heartbeat', heartbeat); // BINDING_CONFLICT: the peer is bound to the outsider
    expect(t.validator.rejectionsOf(RELAY)).toEqual({ UNKNOWN_SIGNER: 3, BINDING_CONFLICT: 1 });
    expect(t.validator.rejectionsOf('someone-else')).toEqual({});
  });

  it('accepts the same content from two attestors as two messages', async () => {
    const t = setup();
    const second = new EthersWallet(`0x${'03'.repeat(32)}`);
    const validator = new GossipValidator(
      {
        allowedSigners: () => new Set([attestor.address as Address, second.address as Address]),
        bindings: t.bindings,
        seen: new SeenCache({ ttlMs: 121_000, now: () => T0 }),
        maxClockSkewMs: 60_000,
        now: () => T0,
      },
      t.penalties,
    );
    t.bindings.bind(PEER, attestor.address as Address);
    t.bindings.bind('peer-b', second.address as Address);
    const body = { topic: TOPICS.observation, sentAt: T0, payload: await samplePayload('observation', 9) };
    const a = await sealEnvelope(attestor, body);
    const b = await sealEnvelope(second, body);
    expect(validator.validate('observation', RELAY, { author: PEER, data: a.bytes }).outcome).toBe('ACCEPT');
    expect(validator.validate('observation', RELAY, { author: 'peer-b', data: b.bytes }).outcome).toBe(
      'ACCEPT',
    );
  });

  it('binds the heartbeat key; a bound peer whose signature does not check is still BAD_SIGNATURE', async () => {
    const t = setup();
    await t.send('heartbeat', heartbeat);
    expect(t.bindings.keyOf(PEER)?.publicKey).toBe(attestor.signingKey.publicKey);
    const { bytes } = await sealEnvelope(attestor, { topic: TOPICS.claim, sentAt: T0, payload: { n: 7 } });
    const text = new TextDecoder().decode(bytes);
    const sig = /"signature":"(0x[0-9a-f]{130})"/.exec(text)?.[1] as string;
    // r zeroed: no key signed this; the bound key's check fails and recovery refuses it too.
    const forged = text.replace(sig, `0x${'00'.repeat(32)}${sig.slice(66)}`);
    const result = t.validator.validate('claim', RELAY, {
      author: PEER,
      data: new TextEncoder().encode(forged),
    });
    expect(result).toMatchObject({ verdict: 'reject', outcome: 'BAD_SIGNATURE' });
    expect(t.penalties.score(RELAY)).toBeLessThanOrEqual(SCORE_THRESHOLDS.graylistThreshold);
    // The genuine envelope from the same bound peer is accepted (checked against the bound key).
    expect(t.validator.validate('claim', RELAY, { author: PEER, data: bytes }).verdict).toBe('accept');
  });

  it('rejects a message signed by another key than its author is bound to', async () => {
    const t = setup();
    await t.send('heartbeat', heartbeat, { by: outsider });
    expect(await t.send('claim', { n: 1 })).toMatchObject({ verdict: 'reject', outcome: 'BINDING_CONFLICT' });
  });

  it('rejects stale, future, replayed, mis-topiced and ill-shaped messages', async () => {
    const t = setup();
    await t.send('heartbeat', heartbeat);
    expect((await t.send('claim', {}, { sentAt: T0 - 60_001 })).outcome).toBe('STALE');
    expect((await t.send('claim', {}, { sentAt: T0 + 60_001 })).outcome).toBe('FUTURE');
    expect((await t.send('claim', {}, { sentAt: T0 - 60_000 })).outcome).toBe('ACCEPT');

    const { bytes } = await sealEnvelope(attestor, {
      topic: TOPICS.claim,
      sentAt: T0,
      payload: { once: true },
    });
    expect(t.validator.validate('claim', RELAY, { author: PEER, data: bytes }).outcome).toBe('ACCEPT');
    expect(t.validator.validate('claim', RELAY, { author: PEER, data: bytes })).toMatchObject({
      verdict: 'reject',
      outcome: 'REPLAY',
    });
    // Envelope for one topic published on another.
    expect(t.validator.validate('observation', RELAY, { author: PEER, data: bytes }).outcome).toBe(
      'WRONG_TOPIC',
    );
    expect((await t.send('claim', [1, 2])).outcome).toBe('INVALID_PAYLOAD');
    expect(
      (await t.send('heartbeat', { ...heartbeat, chains: [{ eid: -1, head: 1n, lag: 0 }] })).outcome,
    ).toBe('INVALID_PAYLOAD');
    expect(t.validator.validate('claim', RELAY, { author: PEER, data: new Uint8Array([1, 2]) }).outcome).toBe(
      'MALFORMED',
    );

    const stats = t.validator.stats();
    expect(stats.claim).toMatchObject({
      STALE: 1,
      FUTURE: 1,
      REPLAY: 1,
      INVALID_PAYLOAD: 1,
      MALFORMED: 1,
      ACCEPT: 2,
    });
    expect(stats.observation.WRONG_TOPIC).toBe(1);
  });

  it('forgets replay ids once an envelope could only be stale anyway', async () => {
    const t = setup();
    await t.send('heartbeat', heartbeat);
    const { bytes } = await sealEnvelope(attestor, { topic: TOPICS.claim, sentAt: T0, payload: {} });
    t.validator.validate('claim', RELAY, { author: PEER, data: bytes });
    t.advance(61_000);
    expect(t.validator.validate('claim', RELAY, { author: PEER, data: bytes }).outcome).toBe('STALE');
  });
});

describe('observation payload', () => {
  it('refuses an observation that is not a MarginObservation (schema), penalising the sender', async () => {
    const t = setup();
    await t.send('heartbeat', heartbeat);
    const good = (await samplePayload('observation', 3)) as { observation: { blocks: unknown[] } };
    const bad = {
      ...good,
      observation: { ...good.observation, blocks: [{ number: 3, events: [{ type: 'X' }] }] },
    };
    expect(await t.send('observation', bad)).toMatchObject({ verdict: 'reject', outcome: 'INVALID_PAYLOAD' });
    expect(await t.send('observation', { head: 9 })).toMatchObject({ outcome: 'INVALID_PAYLOAD' });
    expect((await t.send('observation', good)).outcome).toBe('ACCEPT');
  });
});

describe('weightSignature payload', () => {
  it('accepts an attestor its own EIP-712 signature, with bigints back as bigints', async () => {
    const t = setup();
    await t.send('heartbeat', heartbeat);
    const accepted = await t.send('weightSignature', await weightPayload(4n, attestor));
    expect(accepted.verdict).toBe('accept');
    expect(accepted.message?.payload).toMatchObject({ assetId: 1, weight: 75n * 10n ** 16n, nonce: 4n });
  });

  it('rejects, as a bad signature with the fatal penalty, a signature that is not the envelope signer’s', async () => {
    const t = setup();
    await t.send('heartbeat', heartbeat);
    // An attestor relaying an outsider's signature as its own.
    expect(await t.send('weightSignature', await weightPayload(1n, outsider))).toMatchObject({
      verdict: 'reject',
      outcome: 'BAD_SIGNATURE',
    });
    expect(t.penalties.score(RELAY)).toBe(ACTION_COST.fatal);
    // Its own signature, over another weight than the payload names.
    const tampered = await weightPayload(2n, attestor, { weight: 70n * 10n ** 16n });
    expect((await t.send('weightSignature', tampered)).outcome).toBe('BAD_SIGNATURE');
  });

  it('refuses malformed updates (schema), penalising the sender', async () => {
    const t = setup();
    await t.send('heartbeat', heartbeat);
    const good = await weightPayload(3n, attestor);
    for (const bad of [
      { ...good, weight: (2n * 10n ** 18n).toString() }, // above 1
      { ...good, assetId: 70_000 },
      { ...good, nonce: -1 },
      { ...good, signature: '0x1234' },
      { ...good, governor: 'nope' },
    ]) {
      expect(await t.send('weightSignature', bad)).toMatchObject({
        verdict: 'reject',
        outcome: 'INVALID_PAYLOAD',
      });
    }
    expect(t.penalties.score(RELAY)).toBeLessThan(0);
    expect((await t.send('weightSignature', good)).outcome).toBe('ACCEPT');
  });
});
