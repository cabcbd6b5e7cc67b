// The liquidator's ABI work on its hot path, by hand. When 200 sub-accounts become liquidatable at
// once, every node plans its share in the same second: two engine reads each (health, collateralsOf),
// a state key, the liquidateBatch calldata and the decoding of its simulation. ethers' Interface
// builds its coders anew on every call; under such a burst that was ~30 % of a node's CPU, and the
// node's CPU is what decides whether the liquidations make the next block.
//
// Everything here is the plain ABI encoding, checked against ethers by test/unit/liquidation/fast-abi.test.ts.
// A decoder that meets anything but the expected layout returns undefined and the caller falls back
// to ethers, so a surprise costs time, never a wrong value.

import { getAddress, keccak256 } from 'ethers';
import type { Address, Hex } from '../config/types.ts';
import { ENGINE } from './abi.ts';
import type { HealthView, LiquidateParams } from './planner.ts';

function selectorOf(fn: string): string {
  const f = ENGINE.getFunction(fn);
  if (f === null) throw new Error(`the engine ABI has no ${fn}`);
  return f.selector.slice(2);
}
const SELECTOR = {
  health: selectorOf('health'),
  collateralsOf: selectorOf('collateralsOf'),
  liquidate: selectorOf('liquidate'),
  liquidateBatch: selectorOf('liquidateBatch'),
};

const MAX_UINT96 = (1n << 96n) - 1n;
const MAX_UINT256 = (1n << 256n) - 1n;
const WORD_HEX = 64;

/** A non-negative integer as one word of hex (no 0x); throws past `max`, as ethers does. */
function uintWord(v: bigint, max = MAX_UINT256): string {
  if (v < 0n || v > max) throw new RangeError(`value ${v} out of range for its ABI type`);
  return v.toString(16).padStart(WORD_HEX, '0');
}

/** A signed 256-bit integer as one word (two's complement). */
function intWord(v: bigint): string {
  if (v >= 1n << 255n || v < -(1n << 255n)) throw new RangeError(`value ${v} out of range for int256`);
  return BigInt.asUintN(256, v).toString(16).padStart(WORD_HEX, '0');
}

function addressWord(a: string): string {
  if (!/^0x[0-9a-fA-F]{40}$/.test(a)) throw new TypeError(`not an address: ${a}`);
  return a.slice(2).toLowerCase().padStart(WORD_HEX, '0');
}

/** `(address account, uint96 subaccount)`, the arguments of health and collateralsOf. */
function subaccountCall(fn: 'health' | 'collateralsOf', account: Address, subaccount: bigint): Hex {
  return `0x${SELECTOR[fn]}${addressWord(account)}${uintWord(subaccount, MAX_UINT96)}` as Hex;
}

export const encodeHealthCall = (account: Address, subaccount: bigint): Hex =>
  subaccountCall('health', account, subaccount);

export const encodeCollateralsOfCall = (account: Address, subaccount: bigint): Hex =>
  subaccountCall('collateralsOf', account, subaccount);

/** The words of return data (hex without 0x, lower case), or undefined when it is not whole words. */
function wordsOf(data: string): string | undefined {
  if (!data.startsWith('0x') || (data.length - 2) % WORD_HEX !== 0) return undefined;
  return data.slice(2).toLowerCase();
}

/** keccak256 of hex digits (no 0x), through a Buffer: ethers' own hex-to-bytes conversion costs more than the hash. */
const keccakOfHex = (hex: string): Hex => keccak256(Buffer.from(hex, 'hex')) as Hex;

const word = (hex: string, i: number): string => hex.slice(i * WORD_HEX, (i + 1) * WORD_HEX);
const uintAt = (hex: string, i: number): bigint => BigInt(`0x${word(hex, i)}`);

/** A word used as an offset or a length: a safe number, or undefined past the data. */
function sizeAt(hex: string, i: number): number | undefined {
  if ((i + 1) * WORD_HEX > hex.length) return undefined;
  const v = uintAt(hex, i);
  return v > BigInt(hex.length) ? undefined : Number(v);
}

/** health(...)'s HealthView: six words in the order of ENGINE's HEALTH_VIEW. */
export function decodeHealth(data: string): HealthView | undefined {
  const hex = wordsOf(data);
  if (hex === undefined || hex.length !== 6 * WORD_HEX) return undefined;
  return {
    collateralValue: uintAt(hex, 0),
    equity: BigInt.asIntN(256, uintAt(hex, 1)),
    maintenanceRequirement: uintAt(hex, 2),
    initialRequirement: uintAt(hex, 3),
    notional: uintAt(hex, 4),
    health: uintAt(hex, 5),
  };
}

/** The words of a dynamic array whose offset is in head word `headIndex`. */
function arrayAt(hex: string, headIndex: number): string[] | undefined {
  const offset = sizeAt(hex, headIndex);
  if (offset === undefined || offset % 32 !== 0) return undefined;
  const at = offset / 32;
  const length = sizeAt(hex, at);
  if (length === undefined || (at + 1 + length) * WORD_HEX > hex.length) return undefined;
  return Array.from({ length }, (_, k) => word(hex, at + 1 + k));
}

const ZERO_24 = '0'.repeat(24);
const UINT32_ZEROS = '0'.repeat(WORD_HEX - 8);

/** collateralsOf(...): the three arrays as the planner uses them (addresses checksummed, as ethers gives). */
export function decodeCollaterals(
  data: string,
): { srcEid: number; token: Address; amount: bigint }[] | undefined {
  const hex = wordsOf(data);
  if (hex === undefined) return undefined;
  const eids = arrayAt(hex, 0);
  const tokens = arrayAt(hex, 1);
  const amounts = arrayAt(hex, 2);
  if (eids === undefined || tokens === undefined || amounts === undefined) return undefined;
  if (eids.length !== tokens.length || eids.length !== amounts.length) return undefined;
  const out: { srcEid: number; token: Address; amount: bigint }[] = [];
  for (const [i, e] of eids.entries()) {
    const t = tokens[i] as string;
    if (!e.startsWith(UINT32_ZEROS) || !t.startsWith(ZERO_24)) return undefined;
    out.push({
      srcEid: Number.parseInt(e.slice(UINT32_ZEROS.length), 16),
      token: getAddress(`0x${t.slice(24)}`) as Address,
      amount: BigInt(`0x${amounts[i]}`),
    });
  }
  return out;
}

/**
 * The margin state an attempt is planned against: what the engine holds for the sub-account. Two
 * nodes looking at the same block compute the same key; a landed liquidation always changes it.
 * It is keccak256 of abi.encode(uint256 collateralValue, int256 equity, uint256
 * maintenanceRequirement, uint256 notional, uint32[] srcEids, address[] tokens, uint256[] amounts).
 * Every node must compute the same bytes (claims are matched by it), so this is exactly that encoding.
 */
export function stateKeyOf(
  h: Pick<HealthView, 'collateralValue' | 'equity' | 'maintenanceRequirement' | 'notional'>,
  collaterals: readonly { srcEid: number; token: Address; amount: bigint }[],
): Hex {
  const n = collaterals.length;
  const arrayBytes = 32 * (1 + n);
  const head =
    uintWord(h.collateralValue) +
    intWord(h.equity) +
    uintWord(h.maintenanceRequirement) +
    uintWord(h.notional) +
    uintWord(BigInt(7 * 32)) +
    uintWord(BigInt(7 * 32 + arrayBytes)) +
    uintWord(BigInt(7 * 32 + 2 * arrayBytes));
  let eids = uintWord(BigInt(n));
  let tokens = eids;
  let amounts = eids;
  for (const c of collaterals) {
    eids += uintWord(BigInt(c.srcEid), 0xffffffffn);
    tokens += addressWord(c.token);
    amounts += uintWord(c.amount);
  }
  return keccakOfHex(`${head}${eids}${tokens}${amounts}`);
}

/** `bytes` as ABI tail: its length word and the data right-padded to whole words. */
function bytesTail(hex: string): string {
  if (!/^0x([0-9a-fA-F]{2})*$/.test(hex)) throw new TypeError(`not hex bytes: ${hex.slice(0, 20)}`);
  const body = hex.slice(2).toLowerCase();
  const padded = body.padEnd(Math.ceil(body.length / WORD_HEX) * WORD_HEX, '0');
  return uintWord(BigInt(body.length / 2)) + padded;
}

/**
 * liquidate(LiquidateParams p) calldata. The params are a dynamic tuple (address account, uint96
 * subaccount, SeizeOrder[] seizes, address recipient) and each SeizeOrder is one too, for its bytes.
 */
export function liquidateCalldata(p: LiquidateParams): Hex {
  const orders = p.seizes.map(
    (o) =>
      uintWord(BigInt(o.srcEid), 0xffffffffn) +
      addressWord(o.token) +
      uintWord(o.maxRepay) +
      uintWord(128n) +
      bytesTail(o.options),
  );
  let offsets = '';
  let at = 32 * orders.length;
  for (const o of orders) {
    offsets += uintWord(BigInt(at));
    at += o.length / 2;
  }
  const seizes = uintWord(BigInt(orders.length)) + offsets + orders.join('');
  const tuple =
    addressWord(p.account) +
    uintWord(p.subaccount, MAX_UINT96) +
    uintWord(128n) +
    addressWord(p.recipient) +
    seizes;
  return `0x${SELECTOR.liquidate}${uintWord(32n)}${tuple}` as Hex;
}

/**
 * liquidateBatch(items, fees) calldata from each item's liquidate(p) calldata: a liquidate call is
 * the selector, one offset word (0x20) and the params tuple's encoding, which is exactly an element
 * of the items array. Undefined when a calldata is not such a call (the caller encodes with ethers).
 */
export function batchCalldata(items: readonly { calldata: Hex; value: bigint }[]): Hex | undefined {
  const tuples: string[] = [];
  for (const it of items) {
    const hex = it.calldata.toLowerCase();
    if (!hex.startsWith(`0x${SELECTOR.liquidate}`) || (hex.length - 10) % WORD_HEX !== 0) return undefined;
    if (BigInt(`0x${hex.slice(10, 10 + WORD_HEX)}`) !== 32n) return undefined;
    tuples.push(hex.slice(10 + WORD_HEX));
  }
  const n = items.length;
  let offsets = '';
  let at = 32 * n;
  for (const t of tuples) {
    offsets += uintWord(BigInt(at));
    at += t.length / 2;
  }
  const itemsPart = uintWord(BigInt(n)) + offsets + tuples.join('');
  let feesPart = uintWord(BigInt(n));
  for (const it of items) feesPart += uintWord(it.value);
  const head = uintWord(64n) + uintWord(BigInt(64 + itemsPart.length / 2));
  return `0x${SELECTOR.liquidateBatch}${head}${itemsPart}${feesPart}` as Hex;
}

/**
 * liquidateBatch's return data, reduced to what the batcher needs: per item, whether it landed and
 * its revert data. Each outcome is a tuple (bool landed, LiquidationResult result, bytes revertData)
 * whose head is three words: landed, the result's offset, the revert data's offset.
 */
export function decodeBatchOutcomes(data: string): { landed: boolean; revertData: Hex }[] | undefined {
  const hex = wordsOf(data);
  if (hex === undefined) return undefined;
  const arrayOffset = sizeAt(hex, 0);
  if (arrayOffset === undefined || arrayOffset % 32 !== 0) return undefined;
  const base = arrayOffset / 32 + 1; // first word after the length: element offsets count from here
  const n = sizeAt(hex, base - 1);
  if (n === undefined || (base + n) * WORD_HEX > hex.length) return undefined;
  const out: { landed: boolean; revertData: Hex }[] = [];
  for (let i = 0; i < n; i++) {
    const rel = sizeAt(hex, base + i);
    if (rel === undefined || rel % 32 !== 0) return undefined;
    const el = base + rel / 32;
    if ((el + 3) * WORD_HEX > hex.length) return undefined;
    const landed = uintAt(hex, el);
    const revertRel = sizeAt(hex, el + 2);
    if (landed > 1n || revertRel === undefined || revertRel % 32 !== 0) return undefined;
    const at = el + revertRel / 32;
    const length = sizeAt(hex, at);
    if (length === undefined || (at + 1) * WORD_HEX + length * 2 > hex.length) return undefined;
    const start = (at + 1) * WORD_HEX;
    out.push({ landed: landed === 1n, revertData: `0x${hex.slice(start, start + length * 2)}` as Hex });
  }
  return out;
}

/**
 * keccak256(abi.encodePacked(uint32 engineEid, address account, uint96 subaccount[, bytes32 tail])):
 * the sub-account's rendezvous key and, with a state key, its attempt id. Same bytes as ethers'
 * solidityPackedKeccak256.
 */
export function subaccountKeccak(engineEid: number, account: Address, subaccount: bigint, tail?: Hex): Hex {
  if (!Number.isInteger(engineEid) || engineEid < 0 || engineEid > 0xffffffff) {
    throw new RangeError(`engine eid ${engineEid} is not a uint32`);
  }
  if (!/^0x[0-9a-fA-F]{40}$/.test(account)) throw new TypeError(`not an address: ${account}`);
  if (tail !== undefined && !/^0x[0-9a-fA-F]{64}$/.test(tail)) throw new TypeError(`not a bytes32: ${tail}`);
  const sub = uintWord(subaccount, MAX_UINT96).slice(WORD_HEX - 24);
  const hex = `${engineEid.toString(16).padStart(8, '0')}${account.slice(2)}${sub}${tail?.slice(2) ?? ''}`;
  return keccakOfHex(hex);
}
