// The node's repositories, one per bucket, with their key and value types. Value shapes are the
// first cut each subsystem starts from; a change of shape that old data cannot be read as takes a
// new bucket number (see ./buckets.ts), never a silent reinterpretation.

import type { Address, Hex } from '../config/types.ts';
import {
  addressPart,
  bytes32Part,
  hexKey,
  jsonValue,
  tupleKey,
  u32Key,
  u32Part,
  u64Part,
  utf8Key,
} from './codecs.ts';
import type { Store } from './controller.ts';
import { Repository } from './repository.ts';

/** How far a chain follower got: every event up to and including this block is applied. */
export interface Cursor {
  block: bigint;
  blockHash: Hex;
}

/** One decoded contract event, stored with the cursor that covers it. */
export interface StoredEvent {
  eid: number;
  block: bigint;
  logIndex: number;
  txHash: Hex;
  address: Address;
  name: string;
  args: Record<string, unknown>;
}

export const PACKET_STATUS = ['seen', 'confirmed', 'signed', 'verified', 'delivered'] as const;
export type PacketStatus = (typeof PACKET_STATUS)[number];

export interface StoredPacket {
  guid: Hex;
  srcEid: number;
  dstEid: number;
  nonce: bigint;
  /** The encoded packet header and payload as emitted by PacketSent. */
  encoded: Hex;
  status: PacketStatus;
  updatedAt: number;
}

export interface StoredSignature {
  guid: Hex;
  signer: Address;
  signature: Hex;
  receivedAt: number;
}

export interface StoredClaim {
  id: Hex;
  kind: 'dvn' | 'liquidation';
  claimant: Address;
  claimedAt: number;
  deadline: number;
}

export interface StoredLiquidation {
  id: Hex;
  engineEid: number;
  account: Address;
  subaccount: bigint;
  status: 'detected' | 'claimed' | 'sent' | 'landed' | 'failed' | 'abandoned';
  txHash?: Hex;
  updatedAt: number;
}

export interface StoredPeer {
  peerId: string;
  signer?: Address;
  addrs: string[];
  lastSeen: number;
}

export function createRepositories(store: Store) {
  return {
    meta: new Repository(store, 'meta', utf8Key, jsonValue<unknown>()),
    cursors: new Repository(store, 'cursors', u32Key, jsonValue<Cursor>()),
    events: new Repository(
      store,
      'events',
      tupleKey<[number, bigint, number]>(u32Part, u64Part, u32Part),
      jsonValue<StoredEvent>(),
    ),
    packets: new Repository(store, 'packets', hexKey, jsonValue<StoredPacket>()),
    signatures: new Repository(
      store,
      'signatures',
      tupleKey<[Hex, Hex]>(bytes32Part, addressPart),
      jsonValue<StoredSignature>(),
    ),
    claims: new Repository(store, 'claims', hexKey, jsonValue<StoredClaim>()),
    liquidations: new Repository(store, 'liquidations', hexKey, jsonValue<StoredLiquidation>()),
    peers: new Repository(store, 'peers', utf8Key, jsonValue<StoredPeer>()),
  };
}
export type Repositories = ReturnType<typeof createRepositories>;
