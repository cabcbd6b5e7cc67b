// The gossip envelope codec: canonical form, signature recovery, the digest as message id, limits.

import { Wallet } from 'ethers';
import { describe, expect, it } from 'vitest';
import type { Address } from '../../relayer/config/types.ts';
import {
  canonicalJson,
  envelopeDigest,
  GossipValidationError,
  MAX_ENVELOPE_BYTES,
  messageId,
  openEnvelope,
  parseEnvelope,
  sealEnvelope,
  TOPICS,
} from '../../relayer/p2p/index.ts';

const wallet = new Wallet(`0x${'42'.repeat(32)}`);
const body = {
  topic: TOPICS.claim,
  sentAt: 1_700_000_000_000,
  payload: { b: 2n, a: [1, { d: null, c: 'x' }] },
};
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const bytesOf = (s: string) => new TextEncoder().encode(s);

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof GossipValidationError ? err.code : `unexpected ${String(err)}`;
  }
  return undefined;
}

describe('canonicalJson', () => {
  it('sorts keys, drops undefined, writes bigints as decimal strings', () => {
    expect(canonicalJson({ z: 1, a: { y: undefined, x: 10n ** 30n }, m: [true, null] })).toBe(
      '{"a":{"x":"1000000000000000000000000000000"},"m":[true,null],"z":1}',
    );
  });

  it('refuses values JSON cannot carry exactly', () => {
    expect(() => canonicalJson({ n: Number.NaN })).toThrow();
    expect(() => canonicalJson({ f: () => 1 })).toThrow();
  });
});

describe('envelope', () => {
  it('round-trips and recovers the signer; the id is the signed digest and the signer', async () => {
    const { bytes, id } = await sealEnvelope(wallet, body);
    const opened = openEnvelope(bytes);
    expect(opened.signer).toBe(wallet.address);
    expect(opened.id).toBe(id);
    expect(id).toBe(messageId(envelopeDigest(body), wallet.address as Address));
    expect(opened.payload).toEqual({ a: [1, { c: 'x', d: null }], b: '2' });
    expect(opened.topic).toBe(TOPICS.claim);
  });

  it('digests the received bytes as the signer digested the body (nested signature fields, UTF-8)', async () => {
    const tricky = {
      topic: TOPICS.observation,
      sentAt: 1_700_000_000_001,
      payload: { signature: { signature: `0x${'ab'.repeat(65)}`, signer: 'é' }, z: '"topic":"x"}', ü: 1 },
    };
    const { bytes } = await sealEnvelope(wallet, tricky);
    expect(parseEnvelope(bytes).digest).toBe(envelopeDigest(tricky));
    expect(openEnvelope(bytes).signer).toBe(wallet.address);
  });

  it('binds the signature to the topic and the content', async () => {
    const { bytes } = await sealEnvelope(wallet, body);
    // Same content moved to another topic: a different digest, so the signature recovers someone else.
    const moved = openEnvelope(bytesOf(text(bytes).replace(TOPICS.claim, TOPICS.observation)));
    expect(moved.signer).not.toBe(wallet.address);
    const edited = openEnvelope(bytesOf(text(bytes).replace('"c":"x"', '"c":"y"')));
    expect(edited.signer).not.toBe(wallet.address);
  });

  it('gives the same content signed by two keys two ids, and a re-seal by the same key the same id', async () => {
    const { id } = await sealEnvelope(wallet, body);
    const other = new Wallet(`0x${'43'.repeat(32)}`);
    expect((await sealEnvelope(other, body)).id).not.toBe(id);
    expect((await sealEnvelope(wallet, body)).id).toBe(id);
    expect(parseEnvelope((await sealEnvelope(other, body)).bytes).digest).toBe(envelopeDigest(body));
  });

  it('rejects malformed, non-canonical and oversized envelopes with their codes', async () => {
    const { bytes } = await sealEnvelope(wallet, body);
    const good = text(bytes);
    expect(codeOf(() => parseEnvelope(bytesOf('not json')))).toBe('MALFORMED');
    expect(codeOf(() => parseEnvelope(bytesOf('[1,2]')))).toBe('MALFORMED');
    expect(codeOf(() => parseEnvelope(Uint8Array.of(0xff, 0xfe)))).toBe('MALFORMED');
    expect(codeOf(() => parseEnvelope(bytesOf(good.replace('{"payload"', '{"extra":1,"payload"'))))).toBe(
      'MALFORMED',
    );
    expect(
      codeOf(() => parseEnvelope(bytesOf(good.replace('"sentAt":1700000000000', '"sentAt":"now"')))),
    ).toBe('MALFORMED');
    // Same content, other encoding (whitespace): one content has one encoding.
    expect(codeOf(() => parseEnvelope(bytesOf(good.replace('{"payload":', '{ "payload":'))))).toBe(
      'MALFORMED',
    );
    expect(codeOf(() => parseEnvelope(new Uint8Array(MAX_ENVELOPE_BYTES + 1)))).toBe('TOO_LARGE');
    await expect(
      sealEnvelope(wallet, { ...body, payload: { blob: 'x'.repeat(MAX_ENVELOPE_BYTES) } }),
    ).rejects.toThrow(RangeError);
  });

  it('holds nested objects to sorted keys, integer-like keys included, as canonicalJson writes them', async () => {
    // JavaScript enumerates integer-like keys first ("9" before "10"); canonical order is by string
    // ("10" before "9"). Such a payload is canonical as sealed and must be accepted.
    const numbered = { ...body, payload: { '10': 'a', '9': 'b', nested: { z: 1, a: [{ y: 2, b: 3 }] } } };
    const { bytes, id } = await sealEnvelope(wallet, numbered);
    const good = text(bytes);
    expect(good).toContain('{"10":"a","9":"b","nested":{"a":[{"b":3,"y":2}],"z":1}}');
    expect(openEnvelope(bytes).id).toBe(id);
    expect(parseEnvelope(bytes).payload).toEqual(numbered.payload);
    // The same content with keys out of order, at any depth, or a key twice: not canonical.
    for (const [from, to] of [
      ['{"10":"a","9":"b",', '{"9":"b","10":"a",'],
      ['{"b":3,"y":2}', '{"y":2,"b":3}'],
      ['"nested":{"a":', '"nested":{"z":1,"a":'],
    ] as const) {
      expect(good.includes(from)).toBe(true);
      expect(codeOf(() => parseEnvelope(bytesOf(good.replace(from, to))))).toBe('MALFORMED');
    }
    // A string written with an escape it does not need is another encoding of the same content.
    const plain = text((await sealEnvelope(wallet, { ...body, payload: { s: 'é' } })).bytes);
    expect(codeOf(() => parseEnvelope(bytesOf(plain.replace('"é"', '"\\u00e9"'))))).toBe('MALFORMED');
  });

  it('reports an unrecoverable signature as BAD_SIGNATURE', async () => {
    const { bytes } = await sealEnvelope(wallet, body);
    const good = text(bytes);
    const signature = /"signature":"(0x[0-9a-f]{130})"/.exec(good)?.[1] ?? '';
    const badV = good.replace(signature, `${signature.slice(0, -2)}1d`);
    expect(codeOf(() => openEnvelope(bytesOf(badV)))).toBe('BAD_SIGNATURE');
    const zero = good.replace(signature, `0x${'00'.repeat(64)}1b`);
    expect(codeOf(() => openEnvelope(bytesOf(zero)))).toBe('BAD_SIGNATURE');
  });
});
