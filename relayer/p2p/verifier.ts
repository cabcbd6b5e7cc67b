// Who signed a gossip envelope, cheaply. Recovering the signer from an EIP-191 signature costs ~2 ms
// of pure-JS secp256k1 per message (ethers); checking it against a public key we already hold costs
// ~0.6 ms when that key's multiples are precomputed, and nothing when the same signature was checked
// before. So:
//   1. a signature already checked (a replay, a copy under another gossipsub id) is looked up;
//   2. when the author peer is bound to a key (its heartbeats), the signature is verified against that
//      key, and the answer is the bound signer;
//   3. otherwise, or when that check fails, the signer is recovered as before.
// Step 2 accepts exactly what step 3 would attribute to the bound signer: it recomputes the point R the
// recovery would lift from (r, yParity) and requires both its x and its y parity to match (see
// `verifyWithKey`), and it reads the signature with the same parser (ethers' Signature.from). Any
// doubt falls through to recovery, so every rejection keeps its code.
//
// node:crypto cannot do step 2 natively: crypto.verify(null, digest, secp256k1Key, sig) hashes its
// input with SHA-256 first (there is no prehashed ECDSA, and this OpenSSL has no Keccak-256), and its
// secp256k1 is the generic constant-time code (~0.45 ms per verify), no faster than this.

import { secp256k1 } from '@noble/curves/secp256k1.js';
import { computeAddress, getBytes, hashMessage, Signature, SigningKey } from 'ethers';
import type { Address, Hex } from '../config/types.ts';
import { GossipValidationError } from './errors.ts';

type Point = InstanceType<typeof secp256k1.Point>;
const Point = secp256k1.Point;
const Fn = Point.Fn;

/** A signer and the public key it recovered from (uncompressed, 0x04…). */
export interface SignerKey {
  signer: Address;
  publicKey: Hex;
}

/** Recovery: the address and public key that signed `digest` (EIP-191); BAD_SIGNATURE if none. */
export function recoverSignerKey(digest: Hex, signature: Hex): SignerKey {
  try {
    const publicKey = SigningKey.recoverPublicKey(hashMessage(getBytes(digest)), signature) as Hex;
    return { signer: computeAddress(publicKey) as Address, publicKey };
  } catch {
    throw new GossipValidationError('BAD_SIGNATURE', 'signature does not recover');
  }
}

/**
 * Whether `signature` over `digest` (EIP-191) recovers to `key`. Recovery lifts R = (r, y of parity v)
 * and returns r⁻¹(s·R − h·G); that equals Q iff R = h·s⁻¹·G + r·s⁻¹·Q, which is what is checked here
 * (x and parity), with the generator's and Q's multiples from precomputed tables.
 */
export function verifyWithKey(key: Point, digest: Hex, signature: Hex): boolean {
  let r: bigint;
  let s: bigint;
  let yParity: number;
  try {
    // Read as the recovery reads it: ethers' `s` getter refuses a high s (top bit set) by throwing.
    const sig = Signature.from(signature);
    r = BigInt(sig.r);
    s = BigInt(sig.s);
    yParity = sig.yParity;
  } catch {
    return false;
  }
  // The recovery refuses these too (noble's fromCompact: 1 <= r, s < n).
  if (!Fn.isValidNot0(r) || !Fn.isValidNot0(s)) return false;
  const h = Fn.create(BigInt(hashMessage(getBytes(digest))));
  const sInv = Fn.inv(s);
  const R = baseTable()
    .multiplyUnsafe(Fn.mul(h, sInv))
    .add(key.multiplyUnsafe(Fn.mul(r, sInv)));
  if (R.is0()) return false;
  const { x, y } = R.toAffine();
  // v = 27/28 means r is R's x itself (not r + n) and yParity its y's low bit.
  return x === r && Number(y & 1n) === yParity;
}

let baseReady = false;
/** The generator with 8-bit windows (the library's default is 6): ~40 ms once per process. */
function baseTable(): Point {
  if (!baseReady) {
    Point.BASE.precompute(8, false);
    baseReady = true;
  }
  return Point.BASE;
}

/** Parsed public keys; precomputed tables (~1 MB, ~50 ms each) only for keys that asked for them. */
export class KeyTable {
  readonly #max: number;
  readonly #points = new Map<Hex, { point: Point; precomputed: boolean }>();

  constructor(maxKeys = 256) {
    this.#max = maxKeys;
  }

  pointOf(publicKey: Hex, precompute: boolean): Point {
    let entry = this.#points.get(publicKey);
    if (entry === undefined) {
      entry = { point: Point.fromHex(publicKey.slice(2)), precomputed: false };
      if (this.#points.size >= this.#max) {
        const oldest = this.#points.keys().next().value;
        if (oldest !== undefined) this.#points.delete(oldest);
      }
    } else this.#points.delete(publicKey); // re-inserted below: the map stays in use order
    if (precompute && !entry.precomputed) {
      // Points are immutable; the table lives in the library's per-point cache.
      entry.point.precompute(8, true);
      entry.precomputed = true;
    }
    this.#points.set(publicKey, entry);
    return entry.point;
  }

  get size(): number {
    return this.#points.size;
  }
}

/** Signatures already attributed, so a second copy costs a map lookup. */
class CheckedSignatures {
  readonly #max: number;
  readonly #entries = new Map<string, SignerKey>();

  constructor(max: number) {
    this.#max = max;
  }

  get(digest: Hex, signature: Hex): SignerKey | undefined {
    return this.#entries.get(digest + signature);
  }

  set(digest: Hex, signature: Hex, key: SignerKey): void {
    if (this.#entries.size >= this.#max) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
    this.#entries.set(digest + signature, key);
  }
}

/**
 * One table per process: a key's multiples do not depend on who verifies with it, and a process that
 * runs several nodes (tests, benches) would otherwise build each attestor's table once per node.
 */
const sharedKeys = new KeyTable();

export interface SignatureVerifierOptions {
  /** The signer and public key bound to a peer, if its heartbeats bound one. */
  boundKey: (peerId: string) => { signer: Address; publicKey?: Hex } | undefined;
  /** Whether a signer earns a precomputed table (the attestor set: few, and on every message). */
  precomputeFor: (signer: Address) => boolean;
  /** Signatures remembered. Default 16,384 (~6 MB). */
  maxChecked?: number;
}

export class SignatureVerifier {
  readonly #options: SignatureVerifierOptions;
  readonly #keys = sharedKeys;
  readonly #checked: CheckedSignatures;
  /** How each signature was attributed, for benches and tests. */
  readonly counts = { cached: 0, bound: 0, recovered: 0 };

  constructor(options: SignatureVerifierOptions) {
    this.#options = options;
    this.#checked = new CheckedSignatures(options.maxChecked ?? 16_384);
  }

  /** The signer of `digest`, as recovery would say; BAD_SIGNATURE if nobody signed it. */
  signerOf(author: string, digest: Hex, signature: Hex): SignerKey {
    const cached = this.#checked.get(digest, signature);
    if (cached !== undefined) {
      this.counts.cached++;
      return cached;
    }
    let result: SignerKey | undefined;
    const bound = this.#options.boundKey(author);
    if (bound?.publicKey !== undefined) {
      const point = this.#keys.pointOf(bound.publicKey, this.#options.precomputeFor(bound.signer));
      if (verifyWithKey(point, digest, signature)) {
        result = { signer: bound.signer, publicKey: bound.publicKey };
        this.counts.bound++;
      }
    }
    if (result === undefined) {
      result = recoverSignerKey(digest, signature);
      this.counts.recovered++;
    }
    this.#checked.set(digest, signature, result);
    return result;
  }
}
