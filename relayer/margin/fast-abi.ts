// Event decoding for the margin view's hot path, by hand. The events the view takes in by the
// hundred per block (deposits, credits, debits, liquidations, position and settlement changes, price
// answers) have only elementary static parameters: every value is one 32-byte word, in the data or in
// a topic. ethers' Interface.decodeEventLog builds its coders anew for each call, hashes the event
// signature again to check topic0 and checksums every address (keccak256 each): ~6 % of a node's CPU
// under a burst. Here each event is compiled once into a list of word readers.
//
// The values are what ethers gives, except addresses in lower case (the view keys by lower case).
// Like ethers, an address word with high bits set or data of the wrong length does not decode
// (undefined); narrower integers are masked to their width and ints read in two's complement. An
// event with any other parameter type (a tuple, bytes, an array) is not compiled: ethers decodes it.

import type { EventFragment } from 'ethers';

type WordType = { kind: 'uint' | 'int'; bits: number } | { kind: 'address' | 'bool' | 'bytes32' };

interface Param {
  name: string;
  type: WordType;
}

export interface CompiledEvent {
  /** Parameters read from topics 1.. in order. */
  indexed: Param[];
  /** Parameters read from the data's words in order. */
  data: Param[];
}

function wordType(type: string): WordType | undefined {
  const int = /^(u?)int(\d*)$/.exec(type);
  if (int !== null) return { kind: int[1] === 'u' ? 'uint' : 'int', bits: Number(int[2] || 256) };
  if (type === 'address' || type === 'bool' || type === 'bytes32') return { kind: type };
  return undefined;
}

/** The event's word readers, or undefined when a parameter is not one static word. */
export function compileEvent(fragment: EventFragment): CompiledEvent | undefined {
  const out: CompiledEvent = { indexed: [], data: [] };
  for (const p of fragment.inputs) {
    const type = wordType(p.type);
    if (type === undefined) return undefined;
    (p.indexed ? out.indexed : out.data).push({ name: p.name, type });
  }
  return out;
}

const ZERO_24 = '0'.repeat(24);

/** One word (64 hex digits, lower case) as `type`; undefined when it is not a valid value. */
function readWord(word: string, type: WordType): unknown {
  switch (type.kind) {
    case 'uint':
      return BigInt.asUintN(type.bits, BigInt(`0x${word}`));
    case 'int':
      return BigInt.asIntN(type.bits, BigInt(`0x${word}`));
    case 'address':
      return word.startsWith(ZERO_24) ? `0x${word.slice(24)}` : undefined;
    case 'bool':
      return BigInt(`0x${word}`) !== 0n;
    case 'bytes32':
      return `0x${word}`;
  }
}

/** The log's parameters by name, or undefined when its shape does not match the event. */
export function decodeCompiled(
  ev: CompiledEvent,
  data: string,
  topics: readonly string[],
): Record<string, unknown> | undefined {
  if (topics.length !== ev.indexed.length + 1 || data.length !== 2 + 64 * ev.data.length) return undefined;
  const out: Record<string, unknown> = {};
  const hex = data.toLowerCase();
  for (const [i, p] of ev.data.entries()) {
    const v = readWord(hex.slice(2 + 64 * i, 66 + 64 * i), p.type);
    if (v === undefined) return undefined;
    out[p.name] = v;
  }
  for (const [i, p] of ev.indexed.entries()) {
    const topic = (topics[i + 1] as string).toLowerCase();
    if (topic.length !== 66) return undefined;
    const v = readWord(topic.slice(2), p.type);
    if (v === undefined) return undefined;
    out[p.name] = v;
  }
  return out;
}
