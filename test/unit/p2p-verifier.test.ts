// The gossip signature verifier: libsecp256k1's recovery (WebAssembly) must attribute exactly what
// ethers' recovery attributes (same signer, same rejections), and the verifier must name the real
// signer whenever the bound key does not fit.

import {
  getBytes,
  hashMessage,
  hexlify,
  keccak256,
  randomBytes,
  Signature,
  SigningKey,
  toBeHex,
  toUtf8Bytes,
  Wallet,
} from 'ethers';
import { describe, expect, it } from 'vitest';
import type { Address, Hex } from '../../relayer/config/types.ts';
import { GossipValidationError } from '../../relayer/p2p/errors.ts';
import { recoverSignerKey, SignatureVerifier, verifyWithKey } from '../../relayer/p2p/verifier.ts';

const alice = new Wallet(`0x${'0a'.repeat(32)}`);
const bob = new Wallet(`0x${'0b'.repeat(32)}`);
const pointOf = (w: Wallet) => w.signingKey.publicKey as Hex;
/** secp256k1's group order. */
const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

const digestOf = (text: string) => keccak256(toUtf8Bytes(text)) as Hex;
const hashMessageOf = (digest: Hex) => hashMessage(getBytes(digest));
const sign = async (w: Wallet, digest: Hex) => (await w.signMessage(getBytes(digest))) as Hex;
/** The same signature with its recovery byte flipped (27 <-> 28). */
const flipV = (sig: Hex) => `${sig.slice(0, -2)}${sig.endsWith('1b') ? '1c' : '1b'}` as Hex;
/** (r, n - s, flipped v): the malleated twin of a signature, valid ECDSA for the same key. */
function highS(sig: Hex): Hex {
  const s = BigInt(`0x${sig.slice(66, 130)}`);
  return `${sig.slice(0, 66)}${toBeHex(N - s, 32).slice(2)}${flipV(sig).slice(-2)}` as Hex;
}
const badSignature = (f: () => unknown) => {
  try {
    f();
  } catch (err) {
    return err instanceof GossipValidationError && err.code === 'BAD_SIGNATURE';
  }
  return false;
};

describe('verifyWithKey', () => {
  it('accepts what the signer signed, and recovery names the same signer and key', async () => {
    const digest = digestOf('hello');
    const sig = await sign(alice, digest);
    expect(verifyWithKey(pointOf(alice), digest, sig)).toBe(true);
    expect(recoverSignerKey(digest, sig)).toEqual({
      signer: alice.address,
      publicKey: alice.signingKey.publicKey,
    });
  });

  it('refuses another key, a tampered digest and a flipped recovery byte', async () => {
    const digest = digestOf('hello');
    const sig = await sign(alice, digest);
    expect(verifyWithKey(pointOf(bob), digest, sig)).toBe(false);
    expect(verifyWithKey(pointOf(alice), digestOf('hellp'), sig)).toBe(false);
    // Flipping v is still a valid signature, but recovery attributes it to another key: so must we.
    expect(verifyWithKey(pointOf(alice), digest, flipV(sig))).toBe(false);
    expect(recoverSignerKey(digest, flipV(sig)).signer).not.toBe(alice.address);
  });

  it('refuses the high-s twin as ethers does (non-canonical s)', async () => {
    for (let i = 0; i < 8; i++) {
      const digest = digestOf(`twin ${i}`);
      const twin = highS(await sign(alice, digest));
      expect(() => Signature.from(twin).s).toThrow(/non-canonical s/);
      expect(badSignature(() => recoverSignerKey(digest, twin))).toBe(true);
      expect(verifyWithKey(pointOf(alice), digest, twin)).toBe(false);
    }
  });

  it('refuses r or s of zero or at least n, and garbage', async () => {
    const digest = digestOf('edge');
    const sig = await sign(alice, digest);
    const zeroR = `0x${'00'.repeat(32)}${sig.slice(66)}` as Hex;
    const zeroS = `${sig.slice(0, 66)}${'00'.repeat(32)}${sig.slice(-2)}` as Hex;
    const bigR = `0x${toBeHex(N, 32).slice(2)}${sig.slice(66)}` as Hex;
    for (const bad of [zeroR, zeroS, bigR, `0x${'ff'.repeat(65)}` as Hex, '0x1234' as Hex]) {
      expect(verifyWithKey(pointOf(alice), digest, bad)).toBe(false);
      expect(badSignature(() => recoverSignerKey(digest, bad))).toBe(true);
    }
  });

  it('reads every recovery byte and hex case as ethers does', async () => {
    const digest = digestOf('v bytes');
    const sig = await sign(alice, digest);
    for (let v = 0; v < 256; v++) {
      for (const body of [sig.slice(2, 130), sig.slice(2, 130).toUpperCase()]) {
        const variant = `0x${body}${v.toString(16).padStart(2, '0')}` as Hex;
        let expected: Hex | undefined;
        try {
          expected = SigningKey.recoverPublicKey(hashMessageOf(digest), variant) as Hex;
        } catch {
          expected = undefined;
        }
        const got = (() => {
          try {
            return recoverSignerKey(digest, variant).publicKey;
          } catch {
            return undefined;
          }
        })();
        expect(got, `v = ${v}`).toBe(expected);
      }
    }
    // 0/27 and 1/28 and EIP-155 values (35 and up) are read; 2-26 and 29-34 are refused.
    const keyWith = (v: number) =>
      recoverSignerKey(digest, `${sig.slice(0, -2)}${v.toString(16).padStart(2, '0')}` as Hex);
    const v = Number.parseInt(sig.slice(-2), 16);
    expect(keyWith(v).signer).toBe(alice.address);
    expect(keyWith(v - 27).signer).toBe(alice.address);
    // EIP-155 (chain id 1): 37 + parity.
    expect(keyWith(37 + v - 27).signer).toBe(alice.address);
    expect(badSignature(() => keyWith(30))).toBe(true);
  });

  it('reads a 64-byte (EIP-2098) signature as ethers does', async () => {
    const digest = digestOf('compact');
    const sig = Signature.from(await sign(alice, digest));
    expect(recoverSignerKey(digest, sig.compactSerialized as Hex).signer).toBe(alice.address);
  });

  it('agrees with recovery on random signatures', () => {
    // A random r is an x coordinate about half the time; s is drawn below 2^254 so it is
    // always low-s. Draw until 20 recover (cap 400: a miss of that cap is ~2^-300 likely),
    // so the count asserted never depends on luck.
    let recovered = 0;
    let attempts = 0;
    for (; recovered < 20 && attempts < 400; attempts++) {
      const digest = hexlify(randomBytes(32)) as Hex;
      const s = randomBytes(32);
      s[0] = (s[0] ?? 0) & 0x3f;
      const sig =
        `${hexlify(randomBytes(32))}${hexlify(s).slice(2)}${attempts % 2 === 0 ? '1b' : '1c'}` as Hex;
      let key: Hex | undefined;
      try {
        key = recoverSignerKey(digest, sig).publicKey;
      } catch {
        key = undefined;
      }
      if (key === undefined) continue;
      recovered++;
      expect(verifyWithKey(key, digest, sig)).toBe(true);
      expect(verifyWithKey(pointOf(alice), digest, sig)).toBe(false);
      // ethers' own recovery (pure JS) names the same key.
      expect(SigningKey.recoverPublicKey(hashMessageOf(digest), sig)).toBe(key);
    }
    expect(recovered).toBe(20);
  });
});

describe('SignatureVerifier', () => {
  const bindings = new Map<string, { signer: Address; publicKey?: Hex }>([
    ['peer-alice', { signer: alice.address as Address, publicKey: alice.signingKey.publicKey as Hex }],
    ['peer-nokey', { signer: alice.address as Address }],
  ]);
  const make = () => new SignatureVerifier({ boundKey: (p) => bindings.get(p), maxChecked: 4 });

  it('checks a bound peer against its key, and recovers for unbound or keyless bindings', async () => {
    const v = make();
    const d1 = digestOf('1');
    const d2 = digestOf('2');
    const d3 = digestOf('3');
    expect(v.signerOf('peer-alice', d1, await sign(alice, d1)).signer).toBe(alice.address);
    expect(v.signerOf('peer-unknown', d2, await sign(alice, d2)).signer).toBe(alice.address);
    expect(v.signerOf('peer-nokey', d3, await sign(alice, d3)).signer).toBe(alice.address);
    expect(v.counts).toEqual({ cached: 0, bound: 1, recovered: 2 });
  });

  it('falls back to recovery when the bound key did not sign: the real signer is named', async () => {
    const v = make();
    const d = digestOf('from bob');
    const got = v.signerOf('peer-alice', d, await sign(bob, d));
    expect(got).toEqual({ signer: bob.address, publicKey: bob.signingKey.publicKey });
    expect(v.counts).toEqual({ cached: 0, bound: 0, recovered: 1 });
  });

  it('never checks the same signature twice, and forgets the oldest beyond its bound', async () => {
    const v = make();
    const digests = ['a', 'b', 'c', 'd', 'e'].map(digestOf);
    const sigs = await Promise.all(digests.map((d) => sign(alice, d)));
    v.signerOf('peer-alice', digests[0] as Hex, sigs[0] as Hex);
    // A copy arriving from another peer (a relay) is the same signature: no curve arithmetic.
    expect(v.signerOf('peer-unknown', digests[0] as Hex, sigs[0] as Hex).signer).toBe(alice.address);
    expect(v.counts.cached).toBe(1);
    for (let i = 1; i < 5; i++) v.signerOf('peer-alice', digests[i] as Hex, sigs[i] as Hex);
    v.signerOf('peer-alice', digests[0] as Hex, sigs[0] as Hex); // evicted (max 4): checked again
    expect(v.counts).toEqual({ cached: 1, bound: 6, recovered: 0 });
  });

  it('reports a signature nobody made as BAD_SIGNATURE, bound peer or not', () => {
    const v = make();
    const junk = `0x${'ff'.repeat(65)}` as Hex;
    expect(badSignature(() => v.signerOf('peer-alice', digestOf('x'), junk))).toBe(true);
    expect(badSignature(() => v.signerOf('peer-unknown', digestOf('x'), junk))).toBe(true);
  });
});
