// Packet timings without touching the attestor or the executor: their stores are wrapped, and each
// state change they write is a timestamped event. A record first written is "PacketSent seen";
// an AttestRecord written as `committed` is "verified" (the endpoint holds the payload hash); a
// DeliveryRecord written as `delivered` is "delivered". Start times live in memory only: after a
// restart, packets already open are counted but not timed (a duration from an unknown start
// would be wrong, not merely imprecise).

import type { AttestStore, PacketJournal } from '../../attestor/stores.ts';
import type { Hex } from '../config/types.ts';

export interface PacketTimingSink {
  packetVerified(seconds: number): void;
  packetDelivered(seconds: number): void;
}

export interface PacketTiming {
  records: AttestStore;
  journal: PacketJournal;
  /** Packets seen verified / delivered since the node started. */
  counts(): { verified: number; delivered: number };
}

/**
 * Bounded: a packet whose delivery this node never sees (no executor role, or delivered by another
 * node's executor on a chain we do not serve) must not grow the map forever.
 */
const MAX_TRACKED = 10_000;

export function withPacketTiming(
  stores: { records: AttestStore; journal: PacketJournal },
  sink: PacketTimingSink,
  now: () => number = Date.now,
): PacketTiming {
  // One start per guid: the attestor (source side) and the executor (destination side) may both
  // see the same packet; whichever saw it first started its clock.
  const seenAt = new Map<Hex, number>();
  let verified = 0;
  let delivered = 0;

  const seen = (guid: Hex): void => {
    if (seenAt.has(guid)) return;
    if (seenAt.size >= MAX_TRACKED) {
      const oldest = seenAt.keys().next().value;
      if (oldest !== undefined) seenAt.delete(oldest);
    }
    seenAt.set(guid, now());
  };
  const elapsed = (guid: Hex): number | undefined => {
    const at = seenAt.get(guid);
    return at === undefined ? undefined : (now() - at) / 1000;
  };

  const { records, journal } = stores;
  return {
    counts: () => ({ verified, delivered }),
    records: {
      get: (hash) => records.get(hash),
      open: () => records.open(),
      async put(record) {
        const before = await records.get(record.hash);
        await records.put(record);
        if (before === undefined) seen(record.guid);
        if (record.state === 'committed' && before?.state !== 'committed') {
          verified++;
          const s = elapsed(record.guid);
          if (s !== undefined) sink.packetVerified(s);
        }
      },
    },
    journal: {
      get: (guid) => journal.get(guid),
      open: () => journal.open(),
      // Only a delivery first seen is written this way (in the follower's batch): its clock starts.
      putOp(record) {
        seen(record.guid);
        return journal.putOp(record);
      },
      async put(record) {
        const before = await journal.get(record.guid);
        await journal.put(record);
        if (before === undefined) seen(record.guid);
        if (record.state === 'delivered' && before?.state !== 'delivered') {
          delivered++;
          const s = elapsed(record.guid);
          if (s !== undefined) sink.packetDelivered(s);
          // Delivery is the packet's last step: forget it.
          seenAt.delete(record.guid);
        }
      },
    },
  };
}
