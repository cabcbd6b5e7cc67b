// Key and value encodings. Keys are bytes chosen so that level's byte order is the order we want to
// scan in (big-endian integers, fixed widths in tuples); values are JSON with bigints preserved.

import { getBytes, hexlify } from 'ethers';
import type { Hex } from '../config/types.ts';

export interface KeyCodec<K> {
  encode(key: K): Uint8Array;
  decode(bytes: Uint8Array): K;
}

export interface ValueCodec<V> {
  encode(value: V): string;
  decode(text: string): V;
}

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

/** UTF-8 strings (peer ids, meta names). Not for tuples: variable width breaks prefix order. */
export const utf8Key: KeyCodec<string> = {
  encode: (key) => utf8Encoder.encode(key),
  decode: (bytes) => utf8Decoder.decode(bytes),
};

/** Byte strings given as hex (bytes32 ids, addresses); lower-cased on the way out. */
export const hexKey: KeyCodec<Hex> = {
  encode: (key) => getBytes(key),
  decode: (bytes) => hexlify(bytes) as Hex,
};

/** Unsigned 32-bit integers, big-endian (LayerZero eids, log indexes). */
export const u32Key: KeyCodec<number> = {
  encode(key) {
    if (!Number.isInteger(key) || key < 0 || key > 0xffff_ffff)
      throw new RangeError(`not a uint32 key: ${key}`);
    const out = new Uint8Array(4);
    new DataView(out.buffer).setUint32(0, key);
    return out;
  },
  decode(bytes) {
    if (bytes.length !== 4) throw new RangeError(`uint32 key must be 4 bytes, got ${bytes.length}`);
    return new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0);
  },
};

/** Unsigned 64-bit integers, big-endian (block numbers, nonces). */
export const u64Key: KeyCodec<bigint> = {
  encode(key) {
    if (key < 0n || key > 0xffff_ffff_ffff_ffffn) throw new RangeError(`not a uint64 key: ${key}`);
    const out = new Uint8Array(8);
    new DataView(out.buffer).setBigUint64(0, key);
    return out;
  },
  decode(bytes) {
    if (bytes.length !== 8) throw new RangeError(`uint64 key must be 8 bytes, got ${bytes.length}`);
    return new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0);
  },
};

/** A codec of fixed byte width, so it can sit inside a tuple. */
export interface FixedKeyCodec<K> extends KeyCodec<K> {
  width: number;
}

export function fixed<K>(codec: KeyCodec<K>, width: number): FixedKeyCodec<K> {
  return {
    width,
    encode(key) {
      const bytes = codec.encode(key);
      if (bytes.length !== width)
        throw new RangeError(`key part must be ${width} bytes, got ${bytes.length}`);
      return bytes;
    },
    decode: (bytes) => codec.decode(bytes),
  };
}

export const u32Part = fixed(u32Key, 4);
export const u64Part = fixed(u64Key, 8);
export const bytes32Part = fixed(hexKey, 32);
export const addressPart = fixed(hexKey, 20);

type Parts<T extends readonly unknown[]> = { [I in keyof T]: FixedKeyCodec<T[I]> };

/** Concatenation of fixed-width parts: sorts by the first part, then the second, and so on. */
export function tupleKey<T extends readonly unknown[]>(...parts: Parts<T>): KeyCodec<T> {
  const width = parts.reduce((sum, p) => sum + p.width, 0);
  return {
    encode(key) {
      const out = new Uint8Array(width);
      let offset = 0;
      parts.forEach((part, i) => {
        out.set(part.encode(key[i]), offset);
        offset += part.width;
      });
      return out;
    },
    decode(bytes) {
      if (bytes.length !== width)
        throw new RangeError(`tuple key must be ${width} bytes, got ${bytes.length}`);
      let offset = 0;
      return parts.map((part) => {
        const value = part.decode(bytes.subarray(offset, offset + part.width));
        offset += part.width;
        return value;
      }) as unknown as T;
    },
  };
}

/** Tag of a bigint inside stored JSON: `{"$bigint":"123"}`. */
const BIGINT_TAG = '$bigint';

/**
 * JSON that round-trips bigints (amounts, block numbers): plain JSON.stringify throws on them, and
 * strings would come back as strings. A bigint is stored as a one-key object that no other value uses.
 */
export function jsonValue<V>(): ValueCodec<V> {
  return {
    encode: (value) =>
      JSON.stringify(value, (_key, v: unknown) =>
        typeof v === 'bigint' ? { [BIGINT_TAG]: v.toString() } : v,
      ),
    decode: (text) =>
      JSON.parse(text, (_key, v: unknown) => {
        if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
          const tagged = (v as Record<string, unknown>)[BIGINT_TAG];
          if (typeof tagged === 'string' && Object.keys(v).length === 1) return BigInt(tagged);
        }
        return v;
      }) as V,
  };
}
