// Every key in the store starts with one byte naming its bucket. The numbers are part of the on-disk
// format: a bucket that is retired keeps its number, commented out, and a new bucket takes the next
// free one, so old data is never read back as something else.

export const BUCKETS = {
  /** Store format version and other node-wide settings. */
  meta: 0,
  /** Per chain (eid): the last block whose events are fully applied. */
  cursors: 1,
  /** Observed contract events, by (eid, block, log index). */
  events: 2,
  /** LayerZero packets seen on a source chain, by guid. */
  packets: 3,
  /** DVN signatures collected for a packet, by (guid, signer). */
  signatures: 4,
  /** Claims (who submits a quorum or a liquidation), by claim id. */
  claims: 5,
  /** The liquidation journal, by liquidation id. */
  liquidations: 6,
  /** Known peers and their bound EVM signers, by peer id. */
  peers: 7,
  /** Block follower cursors, by chain name (the attestor's follower). */
  followerCursors: 8,
  /** The attestor's packet verifications, by the DVN hash all attestors sign. */
  attestations: 9,
  /** The executor's deliveries, by guid. */
  deliveries: 10,
  /** Margin view: each applied block's decoded events, by (eid, block). */
  marginBlocks: 11,
  /** Margin view: per chain (eid), the last block applied (written in the same batch as its events). */
  marginCursors: 12,
  /** The attestor's confirmed packets still owed a signature (waiting or retrying), by guid. */
  signQueue: 13,
  /** The liquidator's journal: one record per (engine eid, account, subaccount, state key) attempt. */
  liquidationJournal: 20,
  /** Risk: EWMA volatility state per followed price (`eid:feed`), sampled on a fixed clock. */
  riskSeries: 30,
  /** Risk: EWMA covariance per pair of followed prices (`a|b`). */
  riskPairs: 31,
  /** Rebalancer: authorisations per (engine eid, account, subaccount) and a cursor per engine chain. */
  rebalanceAuth: 40,
  /** Rebalancer: its journal, one record per (destination eid, account, subaccount, state key) attempt. */
  rebalanceJournal: 41,
  /** Weight proposer: one record per WeightGovernor update signed or seen at quorum, by its digest. */
  weightJournal: 50,
} as const;
export type BucketName = keyof typeof BUCKETS;
export type BucketId = (typeof BUCKETS)[BucketName];
