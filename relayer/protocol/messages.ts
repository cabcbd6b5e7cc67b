// The TypeScript twin of contracts/libraries/MsgCodec.sol: the one wire format of xmargin's
// cross-chain messages. Relayer nodes read these bytes out of PacketSent logs and write them in
// simulations, so both sides must agree byte for byte; test/e2e/codec-parity.test.ts checks that
// against the compiled library.
//
// Layout: `uint8 version ‖ uint8 msgType ‖ abi.encode(body)`. Every body is a static tuple (no
// dynamic fields), so its encoding is a fixed number of 32-byte words.

import { AbiCoder, getAddress, getBytes, hexlify, solidityPacked } from 'ethers';

/** Current wire version; receivers reject any other (MsgCodec.VERSION). */
export const VERSION = 1;

/** Message types, a closed set: every per-type table in the relayer is keyed by it. */
export const MSG_TYPE = {
  /** Vault -> engine: collateral is locked on the vault's chain for the engine to credit. */
  LOCK: 1,
  /** Engine -> vault: an approved withdrawal, paid to `recipient` out of the engine's credit. */
  RELEASE: 2,
  /** Engine -> vault: a liquidation, paid to the liquidator out of the engine's credit. */
  SEIZE: 3,
  /** Engine -> vault: re-route credit to another engine (the vault then sends LOCK there). */
  MOVE: 4,
  /** Vault -> engine: the vault's chain was live at `sentAt` (staleness-aware weights). */
  HEARTBEAT: 5,
} as const;

export type MsgTypeName = keyof typeof MSG_TYPE;
export type MsgType = (typeof MSG_TYPE)[MsgTypeName];
/** The two types whose body is a Payout. */
export type PayoutType = typeof MSG_TYPE.RELEASE | typeof MSG_TYPE.SEIZE;

/** 0x-prefixed hex string (bytes, bytes32, addresses). */
export type Hex = `0x${string}`;

/** Body of LOCK (MsgCodec.Lock). `subaccount` is a uint96. */
export interface Lock {
  id: Hex;
  account: string;
  subaccount: bigint;
  token: string;
  amount: bigint;
}

/** Body of RELEASE and SEIZE (MsgCodec.Payout). */
export interface Payout extends Lock {
  recipient: string;
}

/** Body of MOVE (MsgCodec.Move). `dstEngineEid` is a uint32. */
export interface Move extends Lock {
  dstEngineEid: number;
}

/** Body of HEARTBEAT (MsgCodec.encodeHeartbeat): the source chain's block time, a uint64. */
export interface Heartbeat {
  sentAt: bigint;
}

/** A decoded message: the type tag tells which body it carries. */
export type Message =
  | { type: typeof MSG_TYPE.LOCK; body: Lock }
  | { type: PayoutType; body: Payout }
  | { type: typeof MSG_TYPE.MOVE; body: Move }
  | { type: typeof MSG_TYPE.HEARTBEAT; body: Heartbeat };

/** Why a message could not be decoded. Bounded, so usable as a metric label and a peer-score input. */
export const DECODE_ERROR = {
  /** Shorter than the two-byte header (MsgCodec.MessageTooShort). */
  TOO_SHORT: 'TOO_SHORT',
  /** Written by a version of xmargin this node does not speak (MsgCodec.UnsupportedVersion). */
  UNSUPPORTED_VERSION: 'UNSUPPORTED_VERSION',
  /** The type byte is none of MSG_TYPE (the contracts revert UnknownMessageType). */
  UNKNOWN_TYPE: 'UNKNOWN_TYPE',
  /** The body is not the canonical ABI encoding of the type's tuple. */
  MALFORMED: 'MALFORMED',
} as const;

export type DecodeErrorCode = keyof typeof DECODE_ERROR;

export class MessageDecodeError extends Error {
  readonly code: DecodeErrorCode;

  constructor(code: DecodeErrorCode, message: string) {
    super(`${code}: ${message}`);
    this.name = 'MessageDecodeError';
    this.code = code;
  }
}

// ------------------------------------------------------------------ ABI layouts

// One table per body: the ABI types in field order and each field's bit width. The width lets the
// decoder refuse non-canonical words (dirty high bits), as Solidity's abi.decode does.
interface Field {
  readonly name: string;
  readonly abi: string;
  readonly bits: number;
}

const LOCK_FIELDS = [
  { name: 'id', abi: 'bytes32', bits: 256 },
  { name: 'account', abi: 'address', bits: 160 },
  { name: 'subaccount', abi: 'uint96', bits: 96 },
  { name: 'token', abi: 'address', bits: 160 },
  { name: 'amount', abi: 'uint256', bits: 256 },
] as const satisfies readonly Field[];

const PAYOUT_FIELDS = [
  ...LOCK_FIELDS,
  { name: 'recipient', abi: 'address', bits: 160 },
] as const satisfies readonly Field[];

const MOVE_FIELDS = [
  ...LOCK_FIELDS,
  { name: 'dstEngineEid', abi: 'uint32', bits: 32 },
] as const satisfies readonly Field[];

const HEARTBEAT_FIELDS = [{ name: 'sentAt', abi: 'uint64', bits: 64 }] as const satisfies readonly Field[];

const FIELDS_BY_TYPE = {
  [MSG_TYPE.LOCK]: LOCK_FIELDS,
  [MSG_TYPE.RELEASE]: PAYOUT_FIELDS,
  [MSG_TYPE.SEIZE]: PAYOUT_FIELDS,
  [MSG_TYPE.MOVE]: MOVE_FIELDS,
  [MSG_TYPE.HEARTBEAT]: HEARTBEAT_FIELDS,
} as const satisfies Record<MsgType, readonly Field[]>;

const HEADER_BYTES = 2;
const WORD_BYTES = 32;
const abi = AbiCoder.defaultAbiCoder();

function abiTypes(fields: readonly Field[]): string[] {
  return fields.map((f) => f.abi);
}

// A static tuple encodes exactly like its fields encoded one after another, which is what
// `abi.encode(body)` produces for these structs.
function encodeWith(type: MsgType, fields: readonly Field[], values: readonly unknown[]): Hex {
  const body = getBytes(abi.encode(abiTypes(fields), values));
  const out = new Uint8Array(HEADER_BYTES + body.length);
  out[0] = VERSION;
  out[1] = type;
  out.set(body, HEADER_BYTES);
  return hexlify(out) as Hex;
}

// ------------------------------------------------------------------ encode

export function encodeLock(body: Lock): Hex {
  return encodeWith(MSG_TYPE.LOCK, LOCK_FIELDS, lockValues(body));
}

/** RELEASE or SEIZE; like MsgCodec.encodePayout the caller picks which. */
export function encodePayout(type: PayoutType, body: Payout): Hex {
  if (type !== MSG_TYPE.RELEASE && type !== MSG_TYPE.SEIZE) {
    // The type system already forbids this; the check keeps untyped callers honest.
    throw new RangeError(`encodePayout: type ${String(type)} is neither RELEASE nor SEIZE`);
  }
  return encodeWith(type, PAYOUT_FIELDS, [...lockValues(body), body.recipient]);
}

export function encodeMove(body: Move): Hex {
  return encodeWith(MSG_TYPE.MOVE, MOVE_FIELDS, [...lockValues(body), body.dstEngineEid]);
}

export function encodeHeartbeat(body: Heartbeat): Hex {
  return encodeWith(MSG_TYPE.HEARTBEAT, HEARTBEAT_FIELDS, [body.sentAt]);
}

/** Encodes any message by its tag, for code that holds a `Message`. */
export function encodeMessage(message: Message): Hex {
  switch (message.type) {
    case MSG_TYPE.LOCK:
      return encodeLock(message.body);
    case MSG_TYPE.RELEASE:
    case MSG_TYPE.SEIZE:
      return encodePayout(message.type, message.body);
    case MSG_TYPE.MOVE:
      return encodeMove(message.body);
    case MSG_TYPE.HEARTBEAT:
      return encodeHeartbeat(message.body);
  }
}

function lockValues(body: Lock): unknown[] {
  return [body.id, body.account, body.subaccount, body.token, body.amount];
}

// ------------------------------------------------------------------ decode

function isMsgType(value: number): value is MsgType {
  return value in FIELDS_BY_TYPE;
}

/**
 * Reads and checks the header (MsgCodec.msgType), and also refuses unknown types, which the
 * contracts reject one step later in `_lzReceive`.
 */
export function messageType(data: Uint8Array | string): MsgType {
  return readHeader(toBytes(data)).type;
}

/**
 * Decodes a message of any type. Throws MessageDecodeError (never anything else) on bad input.
 *
 * Stricter than Solidity's abi.decode in one respect: trailing bytes after the body are refused
 * (MALFORMED), because no xmargin contract writes them and a relayer should not relay what the
 * canonical encoder cannot produce. Dirty high bits are refused by both.
 */
export function decodeMessage(data: Uint8Array | string): Message {
  const bytes = toBytes(data);
  const { type } = readHeader(bytes);
  const words = readWords(bytes.subarray(HEADER_BYTES), FIELDS_BY_TYPE[type], type);
  if (type === MSG_TYPE.HEARTBEAT) return { type, body: { sentAt: words[0] as bigint } };
  const lock: Lock = {
    id: words[0] as Hex,
    account: getAddress(words[1] as string),
    subaccount: words[2] as bigint,
    token: getAddress(words[3] as string),
    amount: words[4] as bigint,
  };
  switch (type) {
    case MSG_TYPE.LOCK:
      return { type, body: lock };
    case MSG_TYPE.RELEASE:
    case MSG_TYPE.SEIZE:
      return { type, body: { ...lock, recipient: getAddress(words[5] as string) } };
    case MSG_TYPE.MOVE:
      return { type, body: { ...lock, dstEngineEid: Number(words[5] as bigint) } };
  }
}

/** Decodes a LOCK; any other type is UNKNOWN_TYPE for this caller. */
export function decodeLock(data: Uint8Array | string): Lock {
  const message = decodeMessage(data);
  if (message.type !== MSG_TYPE.LOCK) throw wrongType('LOCK', message.type);
  return message.body;
}

/** Decodes a RELEASE or SEIZE and says which it was. */
export function decodePayout(data: Uint8Array | string): { type: PayoutType; body: Payout } {
  const message = decodeMessage(data);
  if (message.type !== MSG_TYPE.RELEASE && message.type !== MSG_TYPE.SEIZE) {
    throw wrongType('RELEASE or SEIZE', message.type);
  }
  return message;
}

export function decodeMove(data: Uint8Array | string): Move {
  const message = decodeMessage(data);
  if (message.type !== MSG_TYPE.MOVE) throw wrongType('MOVE', message.type);
  return message.body;
}

function wrongType(expected: string, got: MsgType): MessageDecodeError {
  return new MessageDecodeError('UNKNOWN_TYPE', `expected ${expected}, got type ${got}`);
}

function toBytes(data: Uint8Array | string): Uint8Array {
  try {
    return getBytes(data);
  } catch {
    throw new MessageDecodeError('MALFORMED', 'not a byte array or 0x-prefixed even-length hex string');
  }
}

function readHeader(bytes: Uint8Array): { type: MsgType } {
  const version = bytes[0];
  const type = bytes[1];
  if (version === undefined || type === undefined) {
    throw new MessageDecodeError('TOO_SHORT', `${bytes.length} bytes, the header alone is ${HEADER_BYTES}`);
  }
  if (version !== VERSION) {
    throw new MessageDecodeError('UNSUPPORTED_VERSION', `version ${version}, this node speaks ${VERSION}`);
  }
  if (!isMsgType(type)) {
    throw new MessageDecodeError(
      'UNKNOWN_TYPE',
      `type ${type} is none of ${Object.keys(MSG_TYPE).join('/')}`,
    );
  }
  return { type };
}

function readWords(body: Uint8Array, fields: readonly Field[], type: MsgType): unknown[] {
  const expected = fields.length * WORD_BYTES;
  if (body.length !== expected) {
    throw new MessageDecodeError(
      'MALFORMED',
      `type ${type} body is ${body.length} bytes, expected ${expected}`,
    );
  }
  fields.forEach((field, i) => {
    if (field.bits === 256) return;
    const word = BigInt(hexlify(body.subarray(i * WORD_BYTES, (i + 1) * WORD_BYTES)));
    if (word >> BigInt(field.bits) !== 0n) {
      throw new MessageDecodeError('MALFORMED', `field ${field.name} does not fit ${field.abi}`);
    }
  });
  try {
    return [...abi.decode(abiTypes(fields), body)];
  } catch (err) {
    throw new MessageDecodeError('MALFORMED', `ABI decode failed: ${(err as Error).message}`);
  }
}

// ------------------------------------------------------------------ ids

/**
 * The unique id of the `nonce`-th message sent by `sender` on the chain with endpoint id `srcEid`
 * (MsgCodec.messageId): abi.encodePacked(uint32, address, uint64), 32 bytes, no hash. One sender's
 * ids are consecutive numbers, so the contracts keep their replay records as bitmaps.
 */
export function messageId(srcEid: number, sender: string, nonce: bigint): Hex {
  return solidityPacked(['uint32', 'address', 'uint64'], [srcEid, sender, nonce]) as Hex;
}

/** The inverse of messageId: the sender's nonce (the id's low 64 bits). */
export const messageNonce = (id: Hex): bigint => BigInt(id) & 0xffff_ffff_ffff_ffffn;
