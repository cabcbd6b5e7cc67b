// What the attestor and the executor persist, as small interfaces the node's store implements
// (relayer/node/stores.ts; `memoryNodeStores()` there is the same over an in-memory store). What
// they observe in a confirmed block — a packet to sign, a delivery owed — is not written here but
// returned as batch ops (`putOp`), which the block follower commits together with its cursor.

import type { Address, Hex } from '../relayer/config/types.ts';
import type { BatchOp } from '../relayer/store/controller.ts';
import type { PacketJob } from './packets.ts';

/** One packet verification the attestor works on, keyed by the DVN hash all attestors sign. */
export interface AttestRecord {
  hash: Hex;
  srcEid: number;
  dstEid: number;
  nonce: bigint;
  guid: Hex;
  header: Hex;
  payloadHash: Hex;
  confirmations: bigint;
  expiration: bigint;
  /** This node's own signature, when it signed (it republishes it until the packet landed). */
  ownSignature?: Hex;
  /** ms when this node first held a quorum: the submitter deadlines count from it. */
  quorumAt?: number;
  /** `verified`: our DVN's verify landed; `committed`: the endpoint holds the payload hash. */
  state: 'collecting' | 'verified' | 'committed';
  lastError?: string;
}

export interface SignatureStore {
  /** Records `signer`'s signature of `hash`; false when one from that signer was already there. */
  add(hash: Hex, signer: Address, signature: Hex): Promise<boolean>;
  list(hash: Hex): Promise<{ signer: Address; signature: Hex }[]>;
}

export interface AttestStore {
  get(hash: Hex): Promise<AttestRecord | undefined>;
  put(record: AttestRecord): Promise<void>;
  /** Records not yet committed. */
  open(): Promise<AttestRecord[]>;
}

/** One delivery the executor owes, keyed by guid. */
export interface DeliveryRecord {
  guid: Hex;
  srcEid: number;
  dstEid: number;
  sender: Hex;
  nonce: bigint;
  receiver: Address;
  message: Hex;
  payloadHash: Hex;
  gas: bigint;
  value: bigint;
  /** Gas limit of the next attempt once one ran out of gas (default: gas + the endpoint's overhead). */
  gasLimit?: bigint;
  state: 'waiting' | 'delivered';
  attempts: number;
  /** ms; no attempt before it (backoff after a revert). */
  nextAttemptAt: number;
  /** Every failed attempt, newest last: {guid, reason} is what an operator needs to see. */
  failures: { at: number; reason: string }[];
}

export interface PacketJournal {
  get(guid: Hex): Promise<DeliveryRecord | undefined>;
  put(record: DeliveryRecord): Promise<void>;
  /** The write of a delivery first seen in a confirmed block (committed with the follower's cursor). */
  putOp(record: DeliveryRecord): BatchOp;
  open(): Promise<DeliveryRecord[]>;
}

/**
 * A confirmed packet the attestor still owes its signature: waiting for the receive config's
 * confirmations, or for a retry after a transient failure. Kept until signed or refused, so a
 * restart neither loses it nor signs it twice (a signed packet has its AttestRecord).
 */
export interface QueuedPacket {
  job: PacketJob;
  blockTimestamp: number;
  /** Source confirmations the destination's receive config asks for. */
  confirmations: bigint;
  /** Failed signing attempts so far (transient errors). */
  attempts: number;
  /** ms; not tried again before. */
  nextAttemptAt: number;
  lastError?: string;
}

export interface SignQueue {
  /** The write that queues a packet seen in a confirmed block (committed with the follower's cursor). */
  putOp(packet: QueuedPacket): BatchOp;
  put(packet: QueuedPacket): Promise<void>;
  delete(guid: Hex): Promise<void>;
  list(): Promise<QueuedPacket[]>;
}
