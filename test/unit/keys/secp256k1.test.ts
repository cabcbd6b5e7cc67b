// The libsecp256k1 wrapper: the native addon loads where it ships prebuilt, and it signs and
// recovers exactly as the WebAssembly build (and ethers) do, refusing the same bad signatures.

import { randomBytes } from 'node:crypto';
import { getBytes, SigningKey } from 'ethers';
import { describe, expect, it } from 'vitest';
import {
  recoverPublicKey,
  secp256k1Backend,
  signRecoverable,
  wasmSecp256k1,
} from '../../../relayer/keys/secp256k1.ts';

const N = BigInt('0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141');

describe('libsecp256k1 wrapper', () => {
  it('uses the native addon on linux-x64 (the machine CI runs on)', () => {
    if (process.platform === 'linux' && process.arch === 'x64') expect(secp256k1Backend).toBe('native');
    else expect(['native', 'wasm']).toContain(secp256k1Backend);
  });

  it('signs the bytes the WebAssembly build and ethers sign, and recovers the signing key', () => {
    for (let i = 0; i < 25; i++) {
      const key = randomBytes(32);
      const hash = randomBytes(32);
      const ours = signRecoverable(hash, key);
      const theirs = wasmSecp256k1.sign(hash, key);
      expect(Buffer.from(ours.signature).toString('hex')).toBe(Buffer.from(theirs.signature).toString('hex'));
      expect(ours.recoveryId).toBe(theirs.recoveryId);
      const ethers = new SigningKey(key).sign(hash);
      expect(`0x${Buffer.from(ours.signature).toString('hex')}`).toBe(`${ethers.r}${ethers.s.slice(2)}`);
      const publicKey = new SigningKey(key).publicKey;
      expect(
        `0x${Buffer.from(recoverPublicKey(hash, ours.signature, ours.recoveryId) as Uint8Array).toString('hex')}`,
      ).toBe(publicKey);
    }
  });

  it('recovers nothing from a signature with r or s of zero or at least n, on both builds', () => {
    const hash = randomBytes(32);
    const good = signRecoverable(hash, randomBytes(32));
    const withR = (r: bigint) => {
      const sig = new Uint8Array(good.signature);
      sig.set(getBytes(`0x${r.toString(16).padStart(64, '0')}`), 0);
      return sig;
    };
    const withS = (s: bigint) => {
      const sig = new Uint8Array(good.signature);
      sig.set(getBytes(`0x${s.toString(16).padStart(64, '0')}`), 32);
      return sig;
    };
    for (const bad of [withR(0n), withR(N), withS(0n), withS(N), withR((1n << 256n) - 1n)]) {
      expect(recoverPublicKey(hash, bad, good.recoveryId)).toBeUndefined();
      expect(wasmSecp256k1.recover(hash, bad, good.recoveryId)).toBeUndefined();
    }
  });
});
