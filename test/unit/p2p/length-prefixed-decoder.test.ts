// The @libp2p/utils patch (patches/README.md): LengthPrefixedDecoder (noise reads every frame through
// one) no longer asks its length decoder to read an empty buffer, which threw and caught a RangeError
// for every chunk that ended on a frame boundary, that is for nearly every read.

import { LengthPrefixedDecoder } from '@libp2p/utils';
import { describe, expect, it } from 'vitest';

/** A 2-byte big-endian length prefix, as noise frames it; counts the RangeErrors it throws. */
function counted() {
  const count = { calls: 0, thrown: 0 };
  const lengthDecoder = (data: { byteLength: number; subarray(): Uint8Array }): number => {
    count.calls += 1;
    if (data.byteLength < 2) {
      count.thrown += 1;
      throw new RangeError('Could not decode int16BE');
    }
    return Buffer.from(data.subarray()).readUInt16BE(0);
  };
  return { count, decoder: new LengthPrefixedDecoder({ lengthDecoder, encodingLength: () => 2 }) };
}

function frame(body: Uint8Array): Uint8Array {
  const out = new Uint8Array(2 + body.length);
  out[0] = body.length >> 8;
  out[1] = body.length & 0xff;
  out.set(body, 2);
  return out;
}

const body = (i: number) => new Uint8Array(1000).fill(i % 256);

describe('LengthPrefixedDecoder (patched)', () => {
  it('reads whole frames without throwing at the end of each chunk', () => {
    const { count, decoder } = counted();
    const got: number[] = [];
    for (let i = 0; i < 100; i++) {
      for (const out of decoder.decode(frame(body(i)))) got.push(Buffer.from(out.subarray()).readUInt8(0));
    }
    expect(got).toEqual(Array.from({ length: 100 }, (_, i) => i % 256));
    // Unpatched: 200 calls, 100 of them thrown (an empty buffer after every frame).
    expect(count.thrown).toBe(0);
    expect(count.calls).toBe(100);
  });

  it('still waits for the rest of a frame split anywhere, the length prefix included', () => {
    const { count, decoder } = counted();
    const bytes = Buffer.concat(Array.from({ length: 5 }, (_, i) => frame(body(i))));
    const got: Uint8Array[] = [];
    // Chunks of 1, 2, 3, ... bytes: frames and prefixes cut at every kind of place.
    for (let at = 0, size = 1; at < bytes.length; at += size, size = (size % 7) + 1) {
      for (const out of decoder.decode(bytes.subarray(at, at + size))) got.push(out.subarray());
    }
    expect(got.map((b) => [b.length, b[0]])).toEqual(Array.from({ length: 5 }, (_, i) => [1000, i]));
    // A chunk that ends one byte into a prefix is the one case left to the decoder's RangeError.
    expect(count.thrown).toBeLessThanOrEqual(5);
  });
});
