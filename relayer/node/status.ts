// Builds the NodeStatus the API serves from what the node already holds: its identity, the gossip
// network's peers and scores, the followers' tips, and the attestor's open records and deliveries.
// It reads through small structural views (not the concrete classes), so tests feed it fakes and the
// margin view and liquidator can plug in their parts (accounts, liquidations) when they exist.

import type { Dirent } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { AttestStore, PacketJournal } from '../../attestor/stores.ts';
import type { ChainSample } from '../api/metrics.ts';
import type {
  AccountStatus,
  ChainStatus,
  HeartbeatsStatus,
  LiquidationEntry,
  NodeStatus,
  ObservedChainStatus,
  OpenPacket,
  PacketFailure,
  PeerStatus,
  RebalanceEntry,
  RefusalsStatus,
  SolvencyStatus,
  WeightsStatus,
} from '../api/types.ts';

/** What a BlockFollower exposes that the status needs. */
export interface FollowerView {
  readonly tip: { number: number } | undefined;
  readonly latestHead: number | undefined;
  readonly lastError: unknown;
}

export interface ConnectedPeer {
  peerId: string;
  addrs: string[];
  /** Set for a peer this node banned (graylisted): it is listed though no longer connected. */
  bannedUntil?: number;
}

export interface StatusSources {
  version: string;
  signer: string;
  peerId: string;
  roles: readonly string[];
  /** ms since epoch. */
  startedAt: number;
  chains: readonly { name: string; eid: number }[];
  /** Index-aligned with `chains`; an entry may be missing while the service is not built yet. */
  followers: () => readonly (FollowerView | undefined)[];
  /**
   * Index-aligned with `chains`: the RPC's failed attempt with no answer since (ChainRpc.trouble), so
   * a hung RPC shows after one request timeout rather than once the follower's read gave up.
   */
  rpcTrouble?: () => readonly (unknown | undefined)[];
  peers: () => ConnectedPeer[];
  peerScore: (peerId: string) => number;
  boundSigner: (peerId: string) => string | undefined;
  /** The last packet a bound signer's heartbeat said it saw. */
  peerLastPacket?: (signer: string) => string | undefined;
  /** Gossip from a peer that failed validation, per code. */
  peerRejections?: (peerId: string) => Record<string, number>;
  /** The attestor's refusals to sign; absent (or undefined) when the node is no attestor. */
  refusals?: () => RefusalsStatus | undefined;
  records: Pick<AttestStore, 'open'>;
  journal: Pick<PacketJournal, 'open'>;
  packetCounts: () => { verified: number; delivered: number };
  /** The margin view's accounts; absent until a margin view runs on this node. */
  accounts?: () => AccountStatus[] | Promise<AccountStatus[]>;
  liquidations?: () => LiquidationEntry[] | Promise<LiquidationEntry[]>;
  /** The rebalancer's journal; absent unless the node runs the rebalancer role. */
  rebalances?: () => RebalanceEntry[] | Promise<RebalanceEntry[]>;
  /** Chains followed through observations. */
  observed?: () => ObservedChainStatus[];
  solvency?: () => SolvencyStatus | undefined;
  /** The weight proposer's proposals and rounds; absent unless it runs. */
  weights?: () => Promise<WeightsStatus>;
  heartbeats?: () => HeartbeatsStatus | undefined;
  now?: () => number;
}

/** The dashboard lists open packets; beyond this many, only the counters grow. */
const MAX_OPEN_LISTED = 50;
const MAX_ERROR_CHARS = 240;

export function createStatusProvider(sources: StatusSources): () => Promise<NodeStatus> {
  const now = sources.now ?? Date.now;
  return async () => {
    const [records, deliveries, accounts, liquidations, rebalances, weights] = await Promise.all([
      sources.records.open(),
      sources.journal.open(),
      sources.accounts?.(),
      sources.liquidations?.(),
      sources.rebalances?.(),
      sources.weights?.(),
    ]);

    // One line per packet: the attestor's stage while it is still being verified, then the delivery.
    const open = new Map<string, OpenPacket>();
    const failed: PacketFailure[] = [];
    for (const r of records) {
      open.set(r.guid, {
        guid: r.guid,
        srcEid: r.srcEid,
        dstEid: r.dstEid,
        nonce: r.nonce.toString(),
        stage: r.state,
        ...(r.quorumAt === undefined ? {} : { quorumAt: r.quorumAt }),
      });
      if (r.lastError !== undefined) failed.push({ guid: r.guid, reason: oneLine(r.lastError) });
    }
    for (const d of deliveries) {
      if (!open.has(d.guid)) {
        open.set(d.guid, {
          guid: d.guid,
          srcEid: d.srcEid,
          dstEid: d.dstEid,
          nonce: d.nonce.toString(),
          stage: 'waiting',
          attempts: d.attempts,
        });
      }
      const last = d.failures.at(-1);
      if (last !== undefined) failed.push({ guid: d.guid, reason: oneLine(last.reason) });
    }

    const status: NodeStatus = {
      node: {
        version: sources.version,
        signer: sources.signer,
        peerId: sources.peerId,
        roles: [...sources.roles],
        uptimeS: Math.floor((now() - sources.startedAt) / 1000),
      },
      peers: peerStatuses(sources),
      chains: chainStatuses(sources),
      packets: {
        inFlight: open.size,
        ...sources.packetCounts(),
        failed,
        open: [...open.values()].slice(0, MAX_OPEN_LISTED),
      },
      liquidations: liquidations ?? [],
    };
    const refused = sources.refusals?.();
    if (refused !== undefined) status.packets.refused = refused;
    if (accounts !== undefined) status.accounts = accounts;
    if (rebalances !== undefined) status.rebalances = rebalances;
    if (weights !== undefined) status.weights = weights;
    const heartbeats = sources.heartbeats?.();
    if (heartbeats !== undefined) status.heartbeats = heartbeats;
    const observed = sources.observed?.();
    if (observed !== undefined && observed.length > 0) status.observed = observed;
    const solvency = sources.solvency?.();
    if (solvency !== undefined) status.solvency = solvency;
    return status;
  };
}

function peerStatuses(sources: StatusSources): PeerStatus[] {
  return sources.peers().map((p) => {
    const signer = sources.boundSigner(p.peerId);
    const rejected = sources.peerRejections?.(p.peerId) ?? {};
    const lastPacketSeen = signer === undefined ? undefined : sources.peerLastPacket?.(signer);
    return {
      peerId: p.peerId,
      ...(signer === undefined ? {} : { signer }),
      ...(lastPacketSeen === undefined ? {} : { lastPacketSeen }),
      score: sources.peerScore(p.peerId),
      addrs: p.addrs,
      ...(p.bannedUntil === undefined ? {} : { bannedUntil: p.bannedUntil }),
      ...(Object.keys(rejected).length === 0 ? {} : { rejected }),
    };
  });
}

export function chainStatuses(
  sources: Pick<StatusSources, 'chains' | 'followers' | 'rpcTrouble'>,
): ChainStatus[] {
  const followers = sources.followers();
  const trouble = sources.rpcTrouble?.() ?? [];
  return sources.chains.map((chain, i) => {
    const f = followers[i];
    const head = f?.tip?.number ?? null;
    const latest = f?.latestHead;
    const error = f?.lastError ?? trouble[i];
    return {
      name: chain.name,
      eid: chain.eid,
      head,
      lag: head === null || latest === undefined ? null : Math.max(0, latest - head),
      rpcOk: f !== undefined && f.latestHead !== undefined && error === undefined,
      ...(error === undefined ? {} : { lastError: oneLine(error) }),
    };
  });
}

/** Chain heads and lags for the Prometheus gauges. */
export function chainSamples(
  sources: Pick<StatusSources, 'chains' | 'followers' | 'rpcTrouble'>,
): ChainSample[] {
  return chainStatuses(sources).map((c) => ({ chain: c.name, head: c.head, lag: c.lag }));
}

/** Bytes of the files under `dir` (the level store's directory); 0 when it is gone. */
export async function directorySize(dir: string): Promise<number> {
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  let total = 0;
  for (const entry of entries) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) total += await directorySize(full);
    else if (entry.isFile())
      total += await stat(full).then(
        (s) => s.size,
        () => 0,
      );
  }
  return total;
}

/** An error as one bounded line: it goes into JSON and a table cell. */
function oneLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > MAX_ERROR_CHARS ? `${line.slice(0, MAX_ERROR_CHARS - 1)}…` : line;
}
