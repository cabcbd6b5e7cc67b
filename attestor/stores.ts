// What the attestor and the executor persist, as small interfaces so the level store can implement
// them later; the in-memory versions here serve the tests and a node run without a data dir.

import type { Address, Hex } from '../relayer/config/types.ts';

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
  open(): Promise<DeliveryRecord[]>;
}

export class MemorySignatureStore implements SignatureStore {
  private readonly byHash = new Map<Hex, Map<Address, Hex>>();
  async add(hash: Hex, signer: Address, signature: Hex): Promise<boolean> {
    const key = signer.toLowerCase() as Address;
    const sigs = this.byHash.get(hash) ?? new Map<Address, Hex>();
    this.byHash.set(hash, sigs);
    if (sigs.has(key)) return false;
    sigs.set(key, signature);
    return true;
  }
  async list(hash: Hex): Promise<{ signer: Address; signature: Hex }[]> {
    return [...(this.byHash.get(hash) ?? [])].map(([signer, signature]) => ({ signer, signature }));
  }
}

export class MemoryAttestStore implements AttestStore {
  private readonly records = new Map<Hex, AttestRecord>();
  async get(hash: Hex): Promise<AttestRecord | undefined> {
    const r = this.records.get(hash);
    return r === undefined ? undefined : { ...r };
  }
  async put(record: AttestRecord): Promise<void> {
    this.records.set(record.hash, { ...record });
  }
  async open(): Promise<AttestRecord[]> {
    return [...this.records.values()].filter((r) => r.state !== 'committed').map((r) => ({ ...r }));
  }
}

export class MemoryPacketJournal implements PacketJournal {
  private readonly records = new Map<Hex, DeliveryRecord>();
  async get(guid: Hex): Promise<DeliveryRecord | undefined> {
    const r = this.records.get(guid);
    return r === undefined ? undefined : { ...r, failures: [...r.failures] };
  }
  async put(record: DeliveryRecord): Promise<void> {
    this.records.set(record.guid, { ...record, failures: [...record.failures] });
  }
  async open(): Promise<DeliveryRecord[]> {
    return [...this.records.values()].filter((r) => r.state !== 'delivered').map((r) => ({ ...r }));
  }
}
