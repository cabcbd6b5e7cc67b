// Who signed a gossip envelope, cheaply. Every message's EVM signature (EIP-191) is attributed by
// public-key recovery in libsecp256k1 (../keys/secp256k1.ts: native, ~75 µs per signature on this
// machine; its WebAssembly build ~400 µs), where ethers' pure-JS recovery costs ~2 ms and checking
// against a bound key with precomputed tables in pure JS ~0.6 ms. So:
//   1. a signature already checked (a replay, a copy under another gossipsub id) is looked up;
//   2. otherwise the signer's public key is recovered; when the author peer is bound to that key (its
//      heartbeats), the bound signer is the answer without deriving the address again;
//   3. otherwise the address is derived from the recovered key (once per key: signers are few).
// The signature is read as ethers' parser reads it (Signature.from: v 27/28, 0/1 or EIP-155, a high
// s refused), so both attribute exactly the same signatures; anything that does not recover is
// BAD_SIGNATURE. The 65-byte form envelopes carry is read from its bytes, and the EIP-191 hash taken
// without hex strings: with the curve native, ethers' parsing and hex round trips had become most of
// a message's attribution (the gossip bench's profile: a message's whole validation 6.1 -> 4.1 s of
// CPU over the same workload, ~80 µs a message).
//
// node:crypto cannot do this natively: crypto.verify(null, digest, secp256k1Key, sig) hashes its
// input with SHA-256 first (there is no prehashed ECDSA, and this OpenSSL has no Keccak-256).

import { computeAddress, getBytes, hashMessage, Signature } from 'ethers';
import type { Address, Hex } from '../config/types.ts';
import { keccak256Bytes } from '../keys/fast-keccak.ts';
import { recoverPublicKey } from '../keys/secp256k1.ts';
import { GossipValidationError } from './errors.ts';

/** A signer and the public key it recovered from (uncompressed, 0x04…). */
export interface SignerKey {
  signer: Address;
  publicKey: Hex;
}

/** A 65-byte signature (r ‖ s ‖ v) in hex: the only form an envelope carries (./envelope.ts). */
export const SIGNATURE_65_HEX = /^0x[0-9a-fA-F]{130}$/;
/** A 32-byte digest in hex: what envelopes sign. */
const DIGEST_32_HEX = /^0x[0-9a-fA-F]{64}$/;
/** EIP-191's prefix for a 32-byte message: "\x19Ethereum Signed Message:\n32". */
const EIP191_PREFIX_32 = new TextEncoder().encode('\x19Ethereum Signed Message:\n32');

/**
 * A signature's 64-byte (r ‖ s) and recovery bit, read exactly as ethers reads it (Signature.from,
 * then its `s` getter), or undefined where ethers throws. The 65-byte form is read here from the
 * bytes (ethers' parser and hex round trips cost more than the recovery's curve arithmetic did once
 * the rest was native); any other form goes through ethers itself.
 */
function readSignature(signature: Hex): { compact: Uint8Array; yParity: 0 | 1 } | undefined {
  if (!SIGNATURE_65_HEX.test(signature)) {
    try {
      const sig = Signature.from(signature);
      return { compact: getBytes(`${sig.r}${sig.s.slice(2)}`), yParity: sig.yParity };
    } catch {
      return undefined;
    }
  }
  const bytes = Buffer.from(signature.slice(2), 'hex');
  // ethers' `s` getter refuses a high s by its top bit ("non-canonical s").
  if (((bytes[32] ?? 0) & 0x80) !== 0) return undefined;
  // Signature.getNormalizedV: 0 and 27 are parity 0, 1 and 28 parity 1, 35 and up (EIP-155) odd 0 and
  // even 1; anything else is refused.
  const v = bytes[64] ?? 0;
  let yParity: 0 | 1;
  if (v === 0 || v === 27) yParity = 0;
  else if (v === 1 || v === 28) yParity = 1;
  else if (v >= 35) yParity = (v & 1) === 1 ? 0 : 1;
  else return undefined;
  return { compact: bytes.subarray(0, 64), yParity };
}

/** The EIP-191 hash of `digest`'s bytes (ethers' hashMessage), without hex strings for 32 bytes. */
function eip191Hash(digest: Hex): Uint8Array {
  if (!DIGEST_32_HEX.test(digest)) return getBytes(hashMessage(getBytes(digest)));
  const message = new Uint8Array(EIP191_PREFIX_32.length + 32);
  message.set(EIP191_PREFIX_32);
  message.set(Buffer.from(digest.slice(2), 'hex'), EIP191_PREFIX_32.length);
  return keccak256Bytes(message);
}

/** The uncompressed public key (0x04…, lowercase) that signed `digest` (EIP-191), if any. */
export function recoverKey(digest: Hex, signature: Hex): Hex | undefined {
  const sig = readSignature(signature);
  if (sig === undefined) return undefined;
  // Undefined for r or s of zero or at least n, and for an r that is no point's x coordinate.
  const key = recoverPublicKey(eip191Hash(digest), sig.compact, sig.yParity);
  return key === undefined
    ? undefined
    : (`0x${Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('hex')}` as Hex);
}

/** Recovery: the address and public key that signed `digest` (EIP-191); BAD_SIGNATURE if none. */
export function recoverSignerKey(digest: Hex, signature: Hex): SignerKey {
  const publicKey = recoverKey(digest, signature);
  if (publicKey === undefined) throw new GossipValidationError('BAD_SIGNATURE', 'signature does not recover');
  return { signer: computeAddress(publicKey) as Address, publicKey };
}

/** Whether `signature` over `digest` (EIP-191) recovers to `publicKey` (uncompressed, 0x04…). */
export function verifyWithKey(publicKey: Hex, digest: Hex, signature: Hex): boolean {
  return recoverKey(digest, signature) === publicKey.toLowerCase();
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

export interface SignatureVerifierOptions {
  /** The signer and public key bound to a peer, if its heartbeats bound one. */
  boundKey: (peerId: string) => { signer: Address; publicKey?: Hex } | undefined;
  /** Signatures remembered. Default 16,384 (~6 MB). */
  maxChecked?: number;
}

export class SignatureVerifier {
  readonly #options: SignatureVerifierOptions;
  readonly #checked: CheckedSignatures;
  /** Addresses of keys already seen: signers are few, and deriving one costs two keccaks and a curve check. */
  readonly #addresses = new Map<Hex, Address>();
  /** How each signature was attributed, for benches and tests. */
  readonly counts = { cached: 0, bound: 0, recovered: 0 };

  constructor(options: SignatureVerifierOptions) {
    this.#options = options;
    this.#checked = new CheckedSignatures(options.maxChecked ?? 16_384);
  }

  /** The signer of `digest`, as recovery says; BAD_SIGNATURE if nobody signed it. */
  signerOf(author: string, digest: Hex, signature: Hex): SignerKey {
    const cached = this.#checked.get(digest, signature);
    if (cached !== undefined) {
      this.counts.cached++;
      return cached;
    }
    const publicKey = recoverKey(digest, signature);
    if (publicKey === undefined)
      throw new GossipValidationError('BAD_SIGNATURE', 'signature does not recover');
    let result: SignerKey;
    const bound = this.#options.boundKey(author);
    if (bound?.publicKey !== undefined && bound.publicKey.toLowerCase() === publicKey) {
      result = { signer: bound.signer, publicKey: bound.publicKey };
      this.counts.bound++;
    } else {
      result = { signer: this.#addressOf(publicKey), publicKey };
      this.counts.recovered++;
    }
    this.#checked.set(digest, signature, result);
    return result;
  }

  #addressOf(publicKey: Hex): Address {
    let address = this.#addresses.get(publicKey);
    if (address === undefined) {
      // Bounded like the signature memory: a flood of throw-away keys only costs recomputing.
      if (this.#addresses.size >= 4096) this.#addresses.clear();
      address = computeAddress(publicKey) as Address;
      this.#addresses.set(publicKey, address);
    }
    return address;
  }
}
