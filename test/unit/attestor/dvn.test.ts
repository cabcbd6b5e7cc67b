// DVN signing: hash layout, EIP-191 recovery, quorum selection and ordering, execute encoding.

import { concat, getBytes, keccak256, solidityPacked, Wallet } from 'ethers';
import { describe, expect, it } from 'vitest';
import { DVN } from '../../../attestor/abi.ts';
import {
  combineSignatures,
  commitCallData,
  dvnHash,
  executeCallData,
  expirationFor,
  QuorumError,
  recoverDvnSigner,
  signDvnHash,
  verifyCallData,
} from '../../../attestor/dvn.ts';
import { encodeLzReceiveOption, lzReceiveOption, OptionsDecodeError } from '../../../attestor/options.ts';
import type { Address, Hex } from '../../../relayer/config/types.ts';

const wallets = [1, 2, 3, 4].map((i) => new Wallet(`0x${i.toString(16).padStart(64, '0')}`));
const TARGET = '0x00000000000000000000000000000000000000a1' as Address;
const HEADER = `0x01${'22'.repeat(80)}` as Hex;
const PAYLOAD_HASH = `0x${'33'.repeat(32)}` as Hex;

describe('dvn signing', () => {
  it('uses the verify and commit selectors of ReceiveUln302', () => {
    expect(verifyCallData(HEADER, PAYLOAD_HASH, 1n).slice(0, 10)).toBe('0x0223536e');
    expect(commitCallData(HEADER, PAYLOAD_HASH).slice(0, 10)).toBe('0x0894edf1');
    expect(executeCallData([]).slice(0, 10)).toBe('0xb143044b');
  });

  it('hashes vid ‖ target ‖ expiration ‖ callData, packed', () => {
    const callData = verifyCallData(HEADER, PAYLOAD_HASH, 2n);
    const packed = solidityPacked(['uint32', 'address', 'uint256', 'bytes'], [10102, TARGET, 99n, callData]);
    expect(dvnHash(10102, TARGET, 99n, callData)).toBe(keccak256(packed));
    // 4 + 20 + 32 bytes before the callData
    expect(getBytes(packed).length).toBe(56 + getBytes(callData).length);
  });

  it('derives the expiration from the source block only', () => {
    expect(expirationFor(1_000)).toBe(1_000n + 259_200n);
  });

  it('signs EIP-191 and recovers the signer', async () => {
    const hash = dvnHash(1, TARGET, 5n, '0x1234');
    const sig = await signDvnHash(wallets[0] as Wallet, hash);
    expect(getBytes(sig).length).toBe(65);
    expect(recoverDvnSigner(hash, sig)).toBe((wallets[0] as Wallet).address);
    expect(recoverDvnSigner(dvnHash(1, TARGET, 6n, '0x1234'), sig)).not.toBe((wallets[0] as Wallet).address);
  });

  it('combines exactly quorum signatures, ascending by signer, dropping strangers and duplicates', async () => {
    const hash = dvnHash(1, TARGET, 5n, '0x1234');
    const signers = wallets.slice(0, 3).map((w) => w.address as Address);
    const sigs = await Promise.all(wallets.map((w) => signDvnHash(w, hash)));
    const stranger = sigs[3] as Hex;
    const input = [sigs[2], sigs[0], stranger, sigs[0], sigs[1]] as Hex[];
    const combined = combineSignatures(hash, input, 2, signers);
    const bytes = getBytes(combined);
    expect(bytes.length).toBe(130);
    const recovered = [bytes.slice(0, 65), bytes.slice(65)].map((s) => recoverDvnSigner(hash, s));
    const expected = [...signers].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1)).slice(0, 2);
    expect(recovered).toEqual(expected);
    expect(BigInt(recovered[0] as string) < BigInt(recovered[1] as string)).toBe(true);
    expect(() => combineSignatures(hash, [sigs[0], stranger, sigs[0]] as Hex[], 2, signers)).toThrow(
      QuorumError,
    );
  });

  it('encodes DVN.execute params in struct order', () => {
    const data = executeCallData([
      {
        vid: 7,
        target: TARGET,
        callData: '0xabcd',
        expiration: 9n,
        signatures: concat(['0x01', '0x02']) as Hex,
      },
    ]);
    const [params] = DVN.decodeFunctionData('execute', data);
    expect(params[0].vid).toBe(7n);
    expect(params[0].expiration).toBe(9n);
    expect(params[0].callData).toBe('0xabcd');
  });
});

describe('lzReceive options', () => {
  it('reads gas and value, and sums repeated options', () => {
    expect(lzReceiveOption('0x00030100110100000000000000000000000000030d40')).toEqual({
      gas: 200_000n,
      value: 0n,
    });
    expect(lzReceiveOption(encodeLzReceiveOption(200_000n))).toEqual({ gas: 200_000n, value: 0n });
    expect(lzReceiveOption(encodeLzReceiveOption(5n, 7n))).toEqual({ gas: 5n, value: 7n });
    const two = `${encodeLzReceiveOption(5n)}${encodeLzReceiveOption(6n, 1n).slice(6)}` as Hex;
    expect(lzReceiveOption(two)).toEqual({ gas: 11n, value: 1n });
  });

  it('refuses other option types and truncated options', () => {
    expect(() => lzReceiveOption('0x0001')).toThrow(OptionsDecodeError);
    expect(() => lzReceiveOption('0x0003')).toThrow(/no lzReceive/);
    expect(() => lzReceiveOption('0x000301001101')).toThrow(OptionsDecodeError);
  });
});
