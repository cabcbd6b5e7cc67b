// keccak256 in WebAssembly for everything ethers hashes in this process.
//
// ethers hashes with @noble/hashes' pure-JS keccak: ~20 µs for a 52-byte input on this machine,
// ~2.4 µs with hash-wasm. A node hashes on all its hot paths (gossip message ids, EIP-191 digests,
// rendezvous scores, checksummed addresses, transaction hashes), and under a burst of liquidations
// its CPU decides whether they make the next block. ethers lets a process register its keccak256
// implementation; doing it once at start-up speeds every call site without touching one. Same
// function, same bytes (test/unit/keys/fast-keccak.test.ts).

import { keccak256 } from 'ethers';
import { createKeccak } from 'hash-wasm';

let installed: Promise<void> | undefined;

/** Registers the WebAssembly keccak256 with ethers (idempotent; resolves once it is in use). */
export function installFastKeccak(): Promise<void> {
  installed ??= createKeccak(256).then((hasher) => {
    // One hasher, used synchronously: init, update and digest never interleave in one thread.
    keccak256.register((data: Uint8Array) => {
      hasher.init();
      hasher.update(data);
      return hasher.digest('binary');
    });
  });
  return installed;
}
