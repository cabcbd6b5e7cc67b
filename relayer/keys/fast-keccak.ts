// keccak256 in WebAssembly for everything ethers hashes in this process.
//
// ethers hashes with @noble/hashes' pure-JS keccak: ~20 µs for a 52-byte input on this machine,
// ~2.4 µs with hash-wasm. A node hashes on all its hot paths (gossip message ids, EIP-191 digests,
// rendezvous scores, checksummed addresses, transaction hashes), and under a burst of liquidations
// its CPU decides whether they make the next block. ethers lets a process register its keccak256
// implementation; doing it once at start-up speeds every call site without touching one. Same
// function, same bytes (test/unit/keys/fast-keccak.test.ts).

import { getBytes, keccak256 } from 'ethers';
import { createKeccak, type IHasher } from 'hash-wasm';

let installed: Promise<void> | undefined;
let wasmHasher: IHasher | undefined;

/** Registers the WebAssembly keccak256 with ethers (idempotent; resolves once it is in use). */
export function installFastKeccak(): Promise<void> {
  installed ??= createKeccak(256).then((hasher) => {
    wasmHasher = hasher;
    keccak256.register((data: Uint8Array) => wasmKeccak(hasher, data));
  });
  return installed;
}

/**
 * keccak256 of `data` as bytes: the WebAssembly hasher once installed (no hex string in between, for
 * hot paths that hash into another hash or a curve operation), ethers' keccak256 before that.
 */
export function keccak256Bytes(data: Uint8Array): Uint8Array {
  return wasmHasher === undefined ? getBytes(keccak256(data)) : wasmKeccak(wasmHasher, data);
}

/** One hasher, used synchronously: init, update and digest never interleave in one thread. */
function wasmKeccak(hasher: IHasher, data: Uint8Array): Uint8Array {
  hasher.init();
  hasher.update(data);
  return hasher.digest('binary');
}
