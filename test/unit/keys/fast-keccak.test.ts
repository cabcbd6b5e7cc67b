import { randomBytes } from 'node:crypto';
import { getAddress, hashMessage, keccak256 } from 'ethers';
import { describe, expect, it } from 'vitest';
import { installFastKeccak, keccak256Bytes } from '../../../relayer/keys/fast-keccak.ts';

describe('WebAssembly keccak256 registered with ethers', () => {
  it('hashes exactly as the pure-JS keccak it replaces, for every length around the 136-byte rate', async () => {
    const reference = (data: Uint8Array) => keccak256._(data);
    const inputs = [
      new Uint8Array(0),
      ...Array.from({ length: 300 }, (_, n) => new Uint8Array(randomBytes(n))),
    ];
    const before = inputs.map((d) => keccak256(d));
    // The bytes helper falls back to ethers until the WebAssembly hasher is in.
    for (const [i, d] of inputs.slice(0, 5).entries()) {
      expect(Buffer.from(keccak256Bytes(d)).toString('hex')).toBe(before[i]?.slice(2));
    }
    await installFastKeccak();
    await installFastKeccak(); // idempotent
    for (const [i, d] of inputs.entries()) {
      expect(keccak256(d)).toBe(before[i]);
      expect(Buffer.from(reference(d)).toString('hex')).toBe(before[i]?.slice(2));
      expect(Buffer.from(keccak256Bytes(d)).toString('hex')).toBe(before[i]?.slice(2));
    }
    // Known answers, and what ethers derives from keccak: checksums and EIP-191 digests.
    expect(keccak256('0x')).toBe('0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470');
    expect(getAddress('0xfb6916095ca1df60bb79ce92ce3ea74c37c5d359')).toBe(
      '0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359',
    );
    expect(hashMessage('hello')).toBe('0x50b2c43fd39106bafbba0da34fc430e1f91e3c96ea2acee2bc34119f92b37750');
  });
});
