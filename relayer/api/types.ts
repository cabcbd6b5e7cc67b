// What GET /status returns: one JSON document an operator (or the dashboard) reads to see the whole
// node at once. Plain data only — no bigints (JSON has none), and an unbounded health is null —
// so the same shape serves the HTTP response, the dashboard and the tests.

/** A quantity for display: a decimal string (token amounts, wei-scale values) or a JS number. */
export type Amount = string | number;

export interface NodeInfo {
  version: string;
  /** The operator's EVM signer address. */
  signer: string;
  /** The libp2p peer id. */
  peerId: string;
  roles: string[];
  uptimeS: number;
}

export interface PeerStatus {
  peerId: string;
  /** EVM signer bound to the peer by its signed heartbeats, when one arrived. */
  signer?: string;
  /** Guid of the last packet the peer's latest heartbeat says it saw. */
  lastPacketSeen?: string;
  /** This node's gossipsub score of the peer. */
  score: number;
  /** Remote addresses of the open connections to it (none while it is banned). */
  addrs: string[];
  /** ms since epoch: this node hung up on the peer (graylisted) and refuses it until then. */
  bannedUntil?: number;
  /**
   * Gossip messages it sent us that failed validation, per code (e.g. UNKNOWN_SIGNER: signed by a key
   * outside the attestor set); absent when none did.
   */
  rejected?: Record<string, number>;
}

export interface ChainStatus {
  name: string;
  eid: number;
  /** Highest block the node's follower holds; null before the first tick. */
  head: number | null;
  /** Blocks between the chain's latest head and what the follower holds; null when unknown. */
  lag: number | null;
  /** false while the chain's last poll failed. */
  rpcOk: boolean;
  lastError?: string;
}

/** One sub-account's margin on one engine (chain that hosts positions). */
export interface EngineMargin {
  engineEid: number;
  chain: string;
  /** Equity / maintenance requirement; null when nothing is required (Infinity in the margin view). */
  health: number | null;
  equity: Amount;
  collateralValue: Amount;
  maintenance: Amount;
  initial: Amount;
  /** How far prices may move against the account before health reaches 1, in percent. */
  liquidationDistancePct?: number;
  /**
   * Delta-normal value-at-risk of equity, USD, over the engine's message-latency horizon at the
   * node's confidence (relayer/risk). Absent until the node has enough price history.
   */
  varUsd?: number;
  /** Probability (0…1) that equity reaches the maintenance requirement within that horizon. */
  breachProbability?: number;
}

/** Collateral locked on one chain for the sub-account. */
export interface CollateralHolding {
  chain: string;
  token: string;
  symbol?: string;
  amount: Amount;
}

/** The margin view's picture of one (account, subaccount) across every chain. */
export interface AccountStatus {
  account: string;
  subaccount: string | number;
  engines: EngineMargin[];
  collateral: CollateralHolding[];
  /** The cross-chain figure over every engine, when the margin view computes it. */
  total?: AccountTotal;
}

/**
 * One sub-account across all its engines: sums of the engine figures (USD), the free collateral and,
 * per asset, the nearest liquidation distance over the engines that read its price.
 */
export interface AccountTotal {
  /** Collateral value after haircuts (asset weights), summed over engines. */
  collateralValue: Amount;
  equity: Amount;
  maintenance: Amount;
  initial: Amount;
  /**
   * Σ over engines of max(0, equity − initial): what can be withdrawn or moved now. Not netted: an
   * engine's shortfall is covered by another's surplus only once credit is moved to it.
   */
  freeCollateral: Amount;
  liquidationDistances: AssetLiquidationDistance[];
}

/** How far one asset's price may move before the first of the sub-account's engines reaches health 1. */
export interface AssetLiquidationDistance {
  /** Token symbol (e.g. WETH), the same on every chain. */
  asset: string;
  /** Signed percent: −12.5 = a 12.5 % drop; null when no move of this price alone liquidates. */
  movePct: number | null;
  /** The engine that gets there first. */
  chain: string;
  engineEid: number;
}

export interface PacketFailure {
  guid: string;
  reason: string;
}

/** A packet this node still works on (verification or delivery). */
export interface OpenPacket {
  guid: string;
  srcEid: number;
  dstEid: number;
  nonce: string;
  /** collecting / verified / committed: attestor side; waiting: the executor owes the delivery. */
  stage: 'collecting' | 'verified' | 'committed' | 'waiting';
  /**
   * ms since epoch when this node first held a quorum of attestor signatures of the packet (its
   * submitter deadline counts from it); absent while it holds fewer.
   */
  quorumAt?: number;
  attempts?: number;
}

/** One packet the attestor refused to sign. */
export interface RefusalEntry {
  guid: string;
  /** rpc_disagreement / not_confirmed / rpc_error / error (attestor/refusals.ts). */
  reason: string;
  detail: string;
  /** ms since epoch. */
  at: number;
}

/** What the attestor refused to sign since the node started. */
export interface RefusalsStatus {
  total: number;
  byReason: Record<string, number>;
  /** Most recent first, at most ten. */
  recent: RefusalEntry[];
}

export interface PacketsStatus {
  /** Packets open on this node (not yet committed or not yet delivered). */
  inFlight: number;
  /** Packets this node saw verified since it started. */
  verified: number;
  /** Packets this node saw delivered since it started. */
  delivered: number;
  /** Open packets whose last attempt failed, with the reason. */
  failed: PacketFailure[];
  /** The open packets themselves, oldest first, at most a few dozen. */
  open?: OpenPacket[];
  /**
   * Packets this node refused to sign (present on attestors): e.g. its RPCs of the source chain
   * disagreed about the block, so it would not vouch for it.
   */
  refused?: RefusalsStatus;
}

/** One entry of the liquidation journal. */
export interface LiquidationEntry {
  id: string;
  account: string;
  subaccount: string | number;
  engineEid: number;
  chain?: string;
  state: string;
  /** ms since epoch. */
  at: number;
  txHash?: string;
  /** Health before the liquidation. */
  health?: number | null;
  detail?: string;
  /** Bad debt the liquidation settled (quote token units, decimal strings): insurance fund, then LP pool. */
  badDebt?: { coveredByInsurance: string; writtenOff: string };
  /** The collateral it seized, one entry per seizure, and where each payout to us stands. */
  seizures?: SeizureEntry[];
}

/** One seizure of a landed liquidation (local or a remote SEIZE) and its payout on the collateral's chain. */
export interface SeizureEntry {
  id: string;
  /** The collateral's chain. */
  chain: string;
  token: string;
  symbol?: string;
  /** Token units, decimal string. */
  amount: string;
  /**
   * pending (not paid yet) / queued (held by the vault's governor; followed until paid) / paid (to us,
   * for the amount seized) / mismatch (the vault paid another recipient or amount: an error, see
   * detail) / unknown (this node does not read that chain).
   */
  status: string;
  payoutTx?: string;
  /** ms from the liquidation's receipt to when this node saw the payout (or the queueing). */
  latencyMs?: number;
  detail?: string;
}

/** One entry of the rebalancer's journal: an automated MOVE of credit between two engines. */
export interface RebalanceEntry {
  id: string;
  account: string;
  subaccount: string | number;
  /** Source engine (where the credit left) and destination (the engine rescued). */
  from: string;
  to: string;
  state: string;
  /** ms since epoch. */
  at: number;
  /** Amount moved, in token units, and its symbol when known. */
  amount: string;
  symbol?: string;
  /** USD value at the source engine's price. */
  valueUsd: number;
  /** The destination's health when the move was planned, and after (expected until credited). */
  healthBefore: number | null;
  healthAfter?: number | null;
  txHash?: string;
  /** ms from first detection to the credit on the destination. */
  latencyMs?: number;
  detail?: string;
}

/** The latest weight proposal for one governed asset (relayer/weights). WAD values as decimal strings. */
export interface WeightProposalEntry {
  chain: string;
  assetId: number;
  symbol: string;
  /** The engine's weight when proposed. */
  current: string;
  /** The volatility weight before grid and step, as a fraction. */
  target?: number;
  /** The weight this node signed or would sign (absent: no change called for). */
  proposed?: string;
  /** Why nothing was signed. */
  reason?: string;
  /** Log-return σ over the horizon. */
  sigmaHorizon?: number;
  /** ms since epoch. */
  at: number;
}

/** One WeightGovernor update round this node signed or saw at quorum. */
export interface WeightUpdateEntry {
  id: string;
  chain: string;
  assetId: number;
  symbol: string;
  /** WAD; absent when this node only heard the round. */
  from?: string;
  to: string;
  nonce: string;
  state: string;
  signers: string[];
  submittedByUs: boolean;
  txHash?: string;
  detail?: string;
  /** ms since epoch. */
  at: number;
}

/** Dynamic haircuts: the latest proposal per asset and the update rounds, most recent first. */
export interface WeightsStatus {
  proposals: WeightProposalEntry[];
  updates: WeightUpdateEntry[];
}

/** A chain this node has no RPC for, followed through attested observations. */
export interface ObservedChainStatus {
  chain: string;
  eid: number;
  /** The margin view's last applied block of it (-1: none yet). */
  block: number;
  /** Blocks ahead of it waiting for a quorum or for earlier blocks. */
  buffered: number;
  /** Blocks applied from observations since start. */
  applied: number;
  /** Observations dropped as contradicting a quorum or their signer's other signature. */
  conflicts: number;
}

/** A vault token whose locked amount does not cover the engines' credit plus what is in flight. */
export interface SolvencyAlert {
  chain: string;
  token: string;
  symbol?: string;
  /** Token units, decimal strings. */
  locked: string;
  credit: string;
  inFlight: string;
  shortfall: string;
  /** ms since epoch: the first check that saw the shortfall. */
  since: number;
}

/** The node's solvency watch (relayer/node/solvency.ts). */
export interface SolvencyStatus {
  /** false while any alert stands. */
  ok: boolean;
  checks: number;
  /** ms since epoch of the last completed check; null before the first. */
  checkedAt: number | null;
  alerts: SolvencyAlert[];
  /** Why the last check could not run (a vault chain unreadable). */
  lastError?: string;
}

export interface NodeStatus {
  node: NodeInfo;
  peers: PeerStatus[];
  chains: ChainStatus[];
  /** Chains known only through observations (present when the networks file lists any). */
  observed?: ObservedChainStatus[];
  /** Present once the node runs a margin view. */
  accounts?: AccountStatus[];
  packets: PacketsStatus;
  /** Most recent first. */
  liquidations: LiquidationEntry[];
  /** The rebalancer's moves, most recent first (present when the node runs the rebalancer role). */
  rebalances?: RebalanceEntry[];
  /** Present when the node serves a vault chain. */
  solvency?: SolvencyStatus;
  /** Dynamic haircut proposals and updates (present when the node is an attestor on a governed engine chain). */
  weights?: WeightsStatus;
  /** Source-chain heartbeats: what this node sent, and what each engine it follows last heard. */
  heartbeats?: HeartbeatsStatus;
}

/** Staleness-aware weights as an operator watches them. */
export interface HeartbeatsStatus {
  /** This node's sends (absent counters: it sends none, no `heartbeats` config). */
  sent?: number;
  failed?: number;
  /** Per pathway `srcEid->engineEid`: ms since epoch of this node's last mined heartbeat. */
  lastSentAt?: Record<string, number>;
  /** Per engine and source chain: the source time of the last heartbeat the engine recorded. */
  heard: HeardStatus[];
}

export interface HeardStatus {
  engine: string;
  engineEid: number;
  source: string;
  srcEid: number;
  /** Source-chain block time of the heartbeat (s). */
  lastHeardAt: number;
  /** The engine chain's block time minus that (s), as the engine's staleness-aware weights see it. */
  ageSec: number;
}
