import { AbiCoder, getAddress, hexlify, keccak256, randomBytes, solidityPackedKeccak256 } from 'ethers';
import { describe, expect, it } from 'vitest';
import type { Address, Hex } from '../../../relayer/config/types.ts';
import { ENGINE } from '../../../relayer/liquidation/abi.ts';
import {
  batchCalldata,
  decodeBatchOutcomes,
  decodeCollaterals,
  decodeHealth,
  encodeCollateralsOfCall,
  encodeHealthCall,
  liquidateCalldata,
  stateKeyOf,
  subaccountKeccak,
} from '../../../relayer/liquidation/fast-abi.ts';
import type { LiquidateParams } from '../../../relayer/liquidation/planner.ts';

// A seeded generator: failures reproduce.
let seed = 0x5eed;
const rand = (n: number): number => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed % n;
};
const address = (): Address => getAddress(hexlify(randomBytes(20))) as Address;
const uint = (bits: number): bigint => {
  const widths = [
    0n,
    1n,
    BigInt(rand(1_000_000)),
    (1n << BigInt(bits)) - 1n,
    BigInt(hexlify(randomBytes(Math.floor(bits / 8)))),
  ];
  return widths[rand(widths.length)] as bigint;
};
const int256 = (): bigint => (rand(2) === 0 ? uint(255) : -uint(255));

const params = (): LiquidateParams => ({
  account: address(),
  subaccount: uint(96),
  seizes: Array.from({ length: rand(4) }, () => ({
    srcEid: Number(uint(32)),
    token: address(),
    maxRepay: uint(256),
    options: hexlify(randomBytes(rand(3) * 17)) as Hex,
  })),
  recipient: address(),
});

describe('liquidator fast ABI (parity with ethers)', () => {
  it('encodes health and collateralsOf calls, refusing a sub-account past uint96', () => {
    for (let i = 0; i < 50; i++) {
      const [a, s] = [address(), uint(96)];
      expect(encodeHealthCall(a, s)).toBe(ENGINE.encodeFunctionData('health', [a, s]));
      expect(encodeCollateralsOfCall(a, s)).toBe(ENGINE.encodeFunctionData('collateralsOf', [a, s]));
    }
    expect(() => encodeHealthCall(address(), 1n << 96n)).toThrow(RangeError);
  });

  it('decodes health, equity in two’s complement; anything but six words is left to ethers', () => {
    for (let i = 0; i < 50; i++) {
      const h = {
        collateralValue: uint(256),
        equity: int256(),
        maintenanceRequirement: uint(256),
        initialRequirement: uint(256),
        notional: uint(256),
        health: uint(256),
      };
      expect(decodeHealth(ENGINE.encodeFunctionResult('health', [h]))).toEqual(h);
    }
    expect(decodeHealth(`0x${'00'.repeat(5 * 32)}`)).toBeUndefined();
    expect(decodeHealth('0x1234')).toBeUndefined();
  });

  it('decodes collateralsOf; mismatched arrays, bad words and truncation are left to ethers', () => {
    for (let i = 0; i < 50; i++) {
      const n = rand(5);
      const eids = Array.from({ length: n }, () => uint(32));
      const tokens = Array.from({ length: n }, address);
      const amounts = Array.from({ length: n }, () => uint(256));
      const out = ENGINE.encodeFunctionResult('collateralsOf', [eids, tokens, amounts]);
      const [e, t, a] = ENGINE.decodeFunctionResult('collateralsOf', out);
      expect(decodeCollaterals(out)).toEqual(
        (e as bigint[]).map((x, k) => ({ srcEid: Number(x), token: t[k], amount: a[k] })),
      );
      if (n > 0) expect(decodeCollaterals(out.slice(0, -64))).toBeUndefined();
    }
    const uneven = AbiCoder.defaultAbiCoder().encode(
      ['uint32[]', 'address[]', 'uint256[]'],
      [[1], [address(), address()], [1n]],
    );
    expect(decodeCollaterals(uneven)).toBeUndefined();
    const wideEid = AbiCoder.defaultAbiCoder().encode(
      ['uint64[]', 'address[]', 'uint256[]'],
      [[1n << 40n], [address()], [1n]],
    );
    expect(decodeCollaterals(wideEid)).toBeUndefined();
  });

  it('state key: keccak256 of the abi.encode every node computes', () => {
    for (let i = 0; i < 50; i++) {
      const h = {
        collateralValue: uint(256),
        equity: int256(),
        maintenanceRequirement: uint(256),
        notional: uint(256),
      };
      const cs = Array.from({ length: rand(4) }, () => ({
        srcEid: Number(uint(32)),
        token: address(),
        amount: uint(256),
      }));
      const reference = keccak256(
        AbiCoder.defaultAbiCoder().encode(
          ['uint256', 'int256', 'uint256', 'uint256', 'uint32[]', 'address[]', 'uint256[]'],
          [
            h.collateralValue,
            h.equity,
            h.maintenanceRequirement,
            h.notional,
            cs.map((c) => c.srcEid),
            cs.map((c) => c.token),
            cs.map((c) => c.amount),
          ],
        ),
      );
      expect(stateKeyOf(h, cs)).toBe(reference);
      // Lower-case tokens (the fast decoder's checksum aside) give the same key.
      expect(
        stateKeyOf(
          h,
          cs.map((c) => ({ ...c, token: c.token.toLowerCase() as Address })),
        ),
      ).toBe(reference);
    }
  });

  it('encodes liquidate(params), seize orders and their options bytes included', () => {
    for (let i = 0; i < 100; i++) {
      const p = params();
      expect(liquidateCalldata(p)).toBe(ENGINE.encodeFunctionData('liquidate', [p]));
    }
    expect(() => liquidateCalldata({ ...params(), subaccount: 1n << 96n })).toThrow(RangeError);
    expect(() =>
      liquidateCalldata({
        ...params(),
        seizes: [{ srcEid: 1, token: address(), maxRepay: 1n, options: '0x1' as Hex }],
      }),
    ).toThrow(TypeError);
  });

  it('builds liquidateBatch calldata from the items’ liquidate calldata', () => {
    for (let i = 0; i < 50; i++) {
      const ps = Array.from({ length: 1 + rand(6) }, params);
      const items = ps.map((p) => ({
        calldata: ENGINE.encodeFunctionData('liquidate', [p]) as Hex,
        value: uint(128),
      }));
      expect(batchCalldata(items)).toBe(
        ENGINE.encodeFunctionData('liquidateBatch', [ps, items.map((x) => x.value)]),
      );
    }
    const other = { calldata: ENGINE.encodeFunctionData('health', [address(), 1n]) as Hex, value: 0n };
    expect(batchCalldata([other])).toBeUndefined();
  });

  it('reads liquidateBatch outcomes: landed and revert data per item; truncation is left to ethers', () => {
    for (let i = 0; i < 50; i++) {
      const outcomes = Array.from({ length: rand(6) }, () => {
        const landed = rand(2) === 0;
        const k = rand(3);
        return {
          landed,
          result: {
            closeFraction: uint(256),
            closedNotional: uint(256),
            repaid: uint(256),
            seized: Array.from({ length: k }, () => uint(256)),
            seizeIds: Array.from({ length: k }, () => hexlify(randomBytes(32))),
            healthBefore: uint(256),
            healthAfter: uint(256),
          },
          revertData: landed ? '0x' : hexlify(randomBytes(rand(70))),
        };
      });
      const out = ENGINE.encodeFunctionResult('liquidateBatch', [outcomes]);
      const [decoded] = ENGINE.decodeFunctionResult('liquidateBatch', out);
      expect(decodeBatchOutcomes(out)).toEqual(
        (decoded as { landed: boolean; revertData: string }[]).map((o) => ({
          landed: o.landed,
          revertData: o.revertData,
        })),
      );
      if (outcomes.length > 0) expect(decodeBatchOutcomes(out.slice(0, 2 + 64 * 3))).toBeUndefined();
    }
  });

  it('sub-account keys: the packed keccak of (eid, account, subaccount[, state key])', () => {
    for (let i = 0; i < 50; i++) {
      const [eid, a, sub, key] = [Number(uint(32)), address(), uint(96), hexlify(randomBytes(32)) as Hex];
      expect(subaccountKeccak(eid, a, sub)).toBe(
        solidityPackedKeccak256(['uint32', 'address', 'uint96'], [eid, a, sub]),
      );
      expect(subaccountKeccak(eid, a, sub, key)).toBe(
        solidityPackedKeccak256(['uint32', 'address', 'uint96', 'bytes32'], [eid, a, sub, key]),
      );
    }
    expect(() => subaccountKeccak(2 ** 32, address(), 1n)).toThrow(RangeError);
    expect(() => subaccountKeccak(1, address(), 1n << 96n)).toThrow(RangeError);
    expect(() => subaccountKeccak(1, address(), 1n, '0x12' as Hex)).toThrow(TypeError);
  });
});
