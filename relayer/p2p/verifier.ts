// Who signed a gossip envelope, cheaply. Every message's EVM signature (EIP-191) is attributed by
// public-key recovery in libsecp256k1 (../keys/secp256k1.ts: native, ~75 µs per signature on this
// machine; its WebAssembly build ~400 µs), where ethers' pure-JS recovery costs ~2 ms and checking
// against a bound key with precomputed tables in pure JS ~0.6 ms. So:
//   1. a signature already checked (a replay, a copy under another gossipsub id) is looked up;
//   2. otherwise the signer's public key is recovered; when the author peer is bound to that key (its
//      heartbeats), the bound signer is the answer without deriving the address again;
//   3. otherwise the address is derived from the recovered key.
// The signature is read with ethers' parser (Signature.from: 65 bytes, v 27/28 or 0/1, a high s
// refused), as ethers' recovery reads it, so both attribute exactly the same signatures; anything
// that does not recover is BAD_SIGNATURE.
//
// node:crypto cannot do this natively: crypto.verify(null, digest, secp256k1Key, sig) hashes its
// input with SHA-256 first (there is no prehashed ECDSA, and this OpenSSL has no Keccak-256).

import { computeAddress, getBytes, hashMessage, hexlify, Signature } from 'ethers';
import type { Address, Hex } from '../config/types.ts';
import { recoverPublicKey } from '../keys/secp256k1.ts';
import { GossipValidationError } from './errors.ts';

/** A signer and the public key it recovered from (uncompressed, 0x04…). */
export interface SignerKey {
  signer: Address;
  publicKey: Hex;
}

/** The uncompressed public key (0x04…, lowercase) that signed `digest` (EIP-191), if any. */
export function recoverKey(digest: Hex, signature: Hex): Hex | undefined {
  let compact: Uint8Array;
  let yParity: 0 | 1;
  try {
    // Read as ethers' recovery reads it: its `s` getter refuses a high s (top bit set) by throwing.
    const sig = Signature.from(signature);
    compact = getBytes(`${sig.r}${sig.s.slice(2)}`);
    yParity = sig.yParity;
  } catch {
    return undefined;
  }
  // Undefined for r or s of zero or at least n, and for an r that is no point's x coordinate.
  const key = recoverPublicKey(getBytes(hashMessage(getBytes(digest))), compact, yParity);
  return key === undefined ? undefined : (hexlify(key) as Hex);
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
      result = { signer: computeAddress(publicKey) as Address, publicKey };
      this.counts.recovered++;
    }
    this.#checked.set(digest, signature, result);
    return result;
  }
}
