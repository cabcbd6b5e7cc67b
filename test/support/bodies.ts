// Seeded random message bodies, so a failing case can be replayed: every test prints its seed, and
// XMARGIN_SEED=<n> reruns with the same bodies.

import { getAddress, hexlify } from 'ethers';
import {
  type Hex,
  type Lock,
  type Message,
  type Move,
  MSG_TYPE,
  type MsgTypeName,
  type Payout,
} from '../../relayer/protocol/index.ts';

export const SEED = Number(process.env.XMARGIN_SEED ?? 0x78a1);

/** Small, fast, seedable PRNG (mulberry32); quality is plenty for picking test values. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Gen {
  bytes(n: number): Uint8Array;
  hex32(): Hex;
  address(): string;
  /** Uniform over [0, 2^bits), but a third of the time an edge: 0, 1 or the maximum. */
  uint(bits: number): bigint;
}

export function gen(seed: number): Gen {
  const next = rng(seed);
  const bytes = (n: number): Uint8Array => Uint8Array.from({ length: n }, () => Math.floor(next() * 256));
  const uint = (bits: number): bigint => {
    const max = (1n << BigInt(bits)) - 1n;
    const pick = next();
    if (pick < 0.1) return 0n;
    if (pick < 0.2) return 1n;
    if (pick < 0.33) return max;
    return BigInt(hexlify(bytes(bits / 8)));
  };
  return {
    bytes,
    hex32: () => hexlify(bytes(32)) as Hex,
    address: () => getAddress(hexlify(bytes(20))),
    uint,
  };
}

export function randomLock(g: Gen): Lock {
  return {
    id: g.hex32(),
    account: g.address(),
    subaccount: g.uint(96),
    token: g.address(),
    amount: g.uint(256),
  };
}

export function randomPayout(g: Gen): Payout {
  return { ...randomLock(g), recipient: g.address() };
}

export function randomMove(g: Gen): Move {
  return { ...randomLock(g), dstEngineEid: Number(g.uint(32)) };
}

/** One random message per type; the Record type makes a new MSG_TYPE entry fail to compile here. */
export const RANDOM_MESSAGE: Record<MsgTypeName, (g: Gen) => Message> = {
  LOCK: (g) => ({ type: MSG_TYPE.LOCK, body: randomLock(g) }),
  RELEASE: (g) => ({ type: MSG_TYPE.RELEASE, body: randomPayout(g) }),
  SEIZE: (g) => ({ type: MSG_TYPE.SEIZE, body: randomPayout(g) }),
  MOVE: (g) => ({ type: MSG_TYPE.MOVE, body: randomMove(g) }),
  HEARTBEAT: (g) => ({ type: MSG_TYPE.HEARTBEAT, body: { sentAt: g.uint(64) } }),
};
