// secp256k1 signing and public-key recovery by libsecp256k1 (bitcoin-core's C library): natively
// through the `secp256k1` package's prebuilt addon (N-API, linux-x64/darwin-arm64/win32-x64), or,
// where that addon cannot load, tiny-secp256k1's WebAssembly build of the same library.
//
// Every gossip message a node takes in is attributed by recovering its signer's key, once per node,
// and every message it publishes is signed. On this project's 2-core machine a recovery costs
// ~75 µs natively and ~400 µs in WebAssembly (ethers' pure-JS curve: ~2 ms), so the native addon is
// what lets one node check over a thousand messages a second. Both builds are libsecp256k1 with
// RFC 6979 nonces and low-s signatures: the same bytes either way (test/unit/keys/secp256k1.test.ts).

import { createRequire } from 'node:module';
import * as wasm from 'tiny-secp256k1';

/** A 64-byte compact signature (r ‖ s) and its recovery id. */
export interface RecoverableSignature {
  signature: Uint8Array;
  recoveryId: number;
}

interface Backend {
  readonly name: 'native' | 'wasm';
  sign(hash: Uint8Array, privateKey: Uint8Array): RecoverableSignature;
  /** The uncompressed public key (65 bytes, 0x04…), or undefined when the signature recovers none. */
  recover(hash: Uint8Array, signature: Uint8Array, recoveryId: number): Uint8Array | undefined;
}

/** The `secp256k1` package's native half (its index falls back to pure-JS elliptic: not wanted). */
interface NativeSecp256k1 {
  ecdsaSign(msg32: Uint8Array, privateKey: Uint8Array): { signature: Uint8Array; recid: number };
  ecdsaRecover(sig: Uint8Array, recid: number, msg32: Uint8Array, compressed: boolean): Uint8Array;
}

function loadNative(): Backend | undefined {
  let native: NativeSecp256k1;
  try {
    native = createRequire(import.meta.url)('secp256k1/bindings.js') as NativeSecp256k1;
  } catch {
    return undefined; // no prebuilt addon for this platform
  }
  return {
    name: 'native',
    sign(hash, privateKey) {
      const { signature, recid } = native.ecdsaSign(hash, privateKey);
      return { signature, recoveryId: recid };
    },
    recover(hash, signature, recoveryId) {
      try {
        // Throws when r or s is zero or at least n, or r is no point's x coordinate.
        return native.ecdsaRecover(signature, recoveryId, hash, false);
      } catch {
        return undefined;
      }
    },
  };
}

const wasmBackend: Backend = {
  name: 'wasm',
  sign(hash, privateKey) {
    return wasm.signRecoverable(hash, privateKey);
  },
  recover(hash, signature, recoveryId) {
    try {
      return wasm.recover(hash, signature, recoveryId as wasm.RecoveryIdType, false) ?? undefined;
    } catch {
      return undefined;
    }
  },
};

const backend: Backend = loadNative() ?? wasmBackend;

/** Which build is in use (the node logs it in its `node started` line). */
export const secp256k1Backend: 'native' | 'wasm' = backend.name;

/** Signs a 32-byte hash: RFC 6979 nonce, low s. */
export function signRecoverable(hash: Uint8Array, privateKey: Uint8Array): RecoverableSignature {
  return backend.sign(hash, privateKey);
}

/** The uncompressed public key that made `signature` over `hash`, or undefined if none did. */
export function recoverPublicKey(
  hash: Uint8Array,
  signature: Uint8Array,
  recoveryId: number,
): Uint8Array | undefined {
  return backend.recover(hash, signature, recoveryId);
}

/** The WebAssembly build, for the test that holds both builds to the same bytes. */
export const wasmSecp256k1 = wasmBackend;
