// The attestor's and executor's persistence on the node's level store. Each interface they define
// (attestor/stores.ts, chain/follower.ts) gets one small adapter here over its own bucket, so a
// restarted node resumes exactly where it stopped: cursors, packets owed a signature, collected
// signatures, verifications in progress and deliveries owed. The follower's cursor is written in
// one batch with what the handlers observed up to it (queued packets, new deliveries).

import type {
  AttestRecord,
  AttestStore,
  DeliveryRecord,
  PacketJournal,
  QueuedPacket,
  SignatureStore,
  SignQueue,
} from '../../attestor/stores.ts';
import type { Cursor, CursorStore } from '../chain/follower.ts';
import type { Address, Hex } from '../config/types.ts';
import { addressPart, bytes32Part, hexKey, jsonValue, tupleKey, utf8Key } from '../store/codecs.ts';
import type { BatchOp, Store } from '../store/controller.ts';
import { memoryStore } from '../store/memory.ts';
import { Repository } from '../store/repository.ts';

export interface NodeStores {
  cursors: CursorStore<BatchOp>;
  signatures: SignatureStore;
  records: AttestStore;
  journal: PacketJournal;
  queue: SignQueue;
}

/** The same stores over an in-memory store: tests, and a run that keeps nothing. */
export function memoryNodeStores(): NodeStores {
  return createNodeStores(memoryStore());
}

export function createNodeStores(store: Store): NodeStores {
  const cursors = new Repository(store, 'followerCursors', utf8Key, jsonValue<Cursor>());
  const signatures = new Repository(
    store,
    'signatures',
    tupleKey<[Hex, Hex]>(bytes32Part, addressPart),
    jsonValue<{ signer: Address; signature: Hex }>(),
  );
  const attestations = new Repository(store, 'attestations', hexKey, jsonValue<AttestRecord>());
  const deliveries = new Repository(store, 'deliveries', hexKey, jsonValue<DeliveryRecord>());
  const queued = new Repository(store, 'signQueue', hexKey, jsonValue<QueuedPacket>());

  return {
    cursors: {
      get: (chain) => cursors.get(chain),
      set: (chain, cursor, writes) => store.batch([...writes, cursors.putOp(chain, cursor)]),
    },
    signatures: {
      async add(hash, signer, signature) {
        const key: [Hex, Hex] = [hash, signer.toLowerCase() as Hex];
        if (await signatures.has(key)) return false;
        await signatures.put(key, { signer: signer.toLowerCase() as Address, signature });
        return true;
      },
      async list(hash) {
        // Keys sort by (hash, signer): start at the hash's first possible key, stop at the next hash.
        const out: { signer: Address; signature: Hex }[] = [];
        const lowestSigner = `0x${'00'.repeat(20)}` as Hex;
        for await (const [key, value] of signatures.entries({ gte: [hash, lowestSigner] })) {
          if (key[0].toLowerCase() !== hash.toLowerCase()) break;
          out.push(value);
        }
        return out;
      },
    },
    records: {
      get: (hash) => attestations.get(hash),
      put: (record) => attestations.put(record.hash, record),
      async open() {
        return (await attestations.values()).filter((r) => r.state !== 'committed');
      },
    },
    journal: {
      get: (guid) => deliveries.get(guid),
      put: (record) => deliveries.put(record.guid, record),
      putOp: (record) => deliveries.putOp(record.guid, record),
      async open() {
        return (await deliveries.values()).filter((r) => r.state !== 'delivered');
      },
    },
    queue: {
      putOp: (packet) => queued.putOp(packet.job.packet.guid, packet),
      put: (packet) => queued.put(packet.job.packet.guid, packet),
      delete: (guid) => queued.del(guid),
      list: () => queued.values(),
    },
  };
}
