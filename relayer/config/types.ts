// The shapes every part of the node agrees on: where a chain's contracts are, who the attestors are,
// and what a node runs. The zod schemas in ./schemas.ts validate files into exactly these types.

/** An EVM address, 0x-prefixed, checksummed or lower case. */
export type Address = `0x${string}`;
/** A hex string, 0x-prefixed. */
export type Hex = `0x${string}`;

/** LayerZero v2 contracts on one chain (deployed unmodified from @layerzerolabs/lz-evm-sdk-v2 artifacts). */
export interface LayerZeroContracts {
  endpointV2: Address;
  sendUln302: Address;
  receiveUln302: Address;
  /** xmargin's DVN (the stock DVN.sol): receives jobs on this chain as source, verifies on it as destination. */
  dvn: Address;
  executor: Address;
  priceFeed: Address;
  dvnFeeLib: Address;
  executorFeeLib: Address;
  /**
   * Other DVNs that xmargin's OApps on this chain require besides xmargin's own (e.g. LayerZero Labs'
   * DVN on a public network: `wire` refuses public pathways with fewer than 2 required DVNs).
   */
  extraDvns?: Address[];
  /** Optional view helpers (ReceiveUln302View, EndpointV2View). */
  receiveUln302View?: Address;
  endpointV2View?: Address;
}

/** xmargin's own contracts on one chain. */
export interface XmarginContracts {
  vault: Address;
  /** Only on chains that host positions. */
  engine?: Address;
  /** The engine's Rebalancer (contracts/risk/Rebalancer.sol): executors move credit within traders' limits. */
  rebalancer?: Address;
  /** The engine's WeightGovernor (contracts/risk/WeightGovernor.sol): bounded, attested weight updates. */
  weightGovernor?: Address;
  market?: Address;
}

/** A collateral or quote token on one chain, with its price feed where the chain has an engine. */
export interface TokenDeployment {
  symbol: string;
  address: Address;
  decimals: number;
  /** Chainlink-compatible feed (SettableAggregator on a devnet). */
  feed?: Address;
  /** The engine's IPriceAdapter for this token's asset (engine chains only). */
  priceAdapter?: Address;
  /** The engine's risk-asset id this token counts as (the same asset on every chain shares one id). */
  assetId?: number;
  /** Networks file: the vault's safety caps for this token, in whole tokens (decimal strings). Absent: a
   *  new vault gets the low DEFAULT_CAPS and `wire` leaves the chain's caps alone. */
  caps?: VaultCapsConfig;
}

/** A vault's caps for one token: total it may hold, and what it releases or seizes per day (governor). */
export interface VaultCapsConfig {
  supply: string;
  outflowPerDay: string;
}

/** An engine's caps for every collateral source of one risk asset: credit held, and newly bridged per day. */
export interface SourceCapsConfig {
  credit: string;
  bridgedPerDay: string;
}

/**
 * Where an engine reads a price: an IPriceAdapter already deployed (`priceAdapter`), or a
 * Chainlink-compatible feed (`feed`) that `xmargin deploy` wraps in a new ChainlinkPriceAdapter which
 * refuses answers older than `maxAge` seconds (default 86400). Exactly one of feed / priceAdapter.
 */
export interface PriceSourceConfig {
  feed?: Address;
  maxAge?: number;
  priceAdapter?: Address;
}

/**
 * A risk asset of an engine in a networks file, keyed by token symbol: every token with that symbol on
 * any chain of the file becomes a collateral source of it. Decimal fractions are strings ("0.8").
 */
export interface RiskAssetConfig extends PriceSourceConfig {
  /** Engine asset id (1..65535); default: the entry's position in `riskAssets`, from 1. */
  assetId?: number;
  /** Collateral weight = 1 − haircut, in (0, 1], e.g. "0.8". */
  weight: string;
  /** Size-aware weight: market depth in USD (a multiple of 1000) past which one holding's weight falls. */
  depthUsd?: number;
  /** Caps of every source of this asset, in whole tokens. Absent: DEFAULT_CAPS at deploy, left alone by wire. */
  sourceCaps?: SourceCapsConfig;
}

/** A perpetual market of an engine's PerpMarket, with its margin rules. */
export interface MarketConfig extends PriceSourceConfig {
  /** Market id (>= 1), unique per engine. */
  id: number;
  /** Label in logs and the dry run, e.g. "ETH-PERP". */
  symbol: string;
  /** Initial margin fraction in (0, 1], e.g. "0.1" (10x). */
  initialMargin: string;
  /** Maintenance margin fraction, above 0 and below initialMargin, e.g. "0.05". */
  maintenanceMargin: string;
  /** Open-interest cap per side, USD, e.g. "1000000". */
  openInterestCap: string;
  /** Fee per trade as a fraction of notional, at most "0.01", e.g. "0.0005". */
  tradingFee: string;
  /** Borrow rate per second as a fraction, at most "0.0000001", e.g. "0". */
  borrowRatePerSecond: string;
}

/** Liquidation rules; every field defaults to DEFAULT_LIQUIDATION (relayer/deploy/xmargin.ts). */
export interface LiquidationRulesConfig {
  /** Liquidator's bonus above par, at most "0.5", e.g. "0.05". */
  bonus?: string;
  /** Partial liquidations bring health back to this, above 1, e.g. "1.25". */
  targetHealth?: string;
  /** Below this health the whole position is closed at once, below 1, e.g. "0.5". */
  fullCloseHealth?: string;
  /** Positions left below this notional (USD) are closed fully, e.g. "50". */
  dustNotional?: string;
}

/** The `engine` section of a networks-file chain: what `xmargin deploy` sets up on an engine chain. */
export interface EngineConfig {
  /** Symbol of one of this chain's `tokens`: the PerpMarket's settlement token (valued at $1). */
  quoteToken: string;
  riskAssets: Record<string, RiskAssetConfig>;
  markets: MarketConfig[];
  liquidation?: LiquidationRulesConfig;
  /** Staleness-aware weights for remote sources: grace, then linear decay to 0 (seconds). */
  staleness?: { graceSec: number; decaySec: number };
}

/** One chain as the node sees it. */
export interface ChainConfig {
  /** Short name used in logs and CLI flags, e.g. "devnet-a", "arbitrum-mainnet". */
  name: string;
  chainId: number;
  /** LayerZero endpoint id (>= 30000 on local chains: lower ones are treated as v1 by the executor fee lib). */
  eid: number;
  /** One or more RPC URLs; attestors read every one and refuse to sign when they disagree. */
  rpcUrls: string[];
  /** Source-chain blocks to wait before a packet is attested. */
  confirmations: number;
  /** Whether this is a public network (then every pathway needs >= 2 independent verifiers). */
  isPublic: boolean;
  layerZero: LayerZeroContracts;
  xmargin: XmarginContracts;
  tokens: TokenDeployment[];
}

/** The attestor (DVN multisig) set, the same on every chain. */
export interface DvnConfig {
  /** Signer addresses of the DVN multisig, in any order. */
  signers: Address[];
  quorum: number;
}

/** A key a devnet hands out: the anvil test accounts, with what they are for. */
export interface DevAccount {
  role: 'deployer' | 'attestor' | 'trader' | 'liquidator' | 'lp' | 'spare';
  address: Address;
  privateKey: Hex;
}

/** What `xmargin devnet up` writes (config/devnet/manifest.json). */
export interface DevnetManifest {
  version: 1;
  createdAt: string;
  chains: ChainConfig[];
  dvn: DvnConfig;
  accounts: DevAccount[];
}

/** The roles a node may run. */
export const NODE_ROLES = ['attestor', 'executor', 'liquidator', 'rebalancer', 'watcher'] as const;
export type NodeRole = (typeof NODE_ROLES)[number];

/** How long a node waits for a chain's RPC and how often it asks before a read fails. */
export interface RpcLimits {
  /** Per request, ms (default 5000). */
  timeoutMs?: number;
  /** Attempts of a read, the first included (default 3). */
  attempts?: number;
}

/** A node's own configuration file. */
export interface NodeConfig {
  /** Directory of the node's LevelDB store and keys. */
  dataDir: string;
  /** libp2p listen multiaddrs, e.g. /ip4/127.0.0.1/tcp/0 */
  listen: string[];
  /** Multiaddrs (with /p2p/<peerId>) of peers to dial at start. */
  bootstrap: string[];
  /** Hex private key of the operator's EVM signer (attestations, gossip, transactions). */
  evmKeyFile: string;
  /** File holding the libp2p identity (protobuf-encoded private key); created on first start. */
  p2pKeyFile: string;
  roles: NodeRole[];
  /** Names of the chains this node serves (it has RPC access to them). */
  chains: string[];
  /** Where the chain list and the DVN set come from (a networks file or a devnet manifest). */
  networksFile: string;
  /** Status API / metrics port; 0 picks a free one. */
  apiPort: number;
  /** Address the status API binds to (default 127.0.0.1, this machine only). */
  apiHost?: string;
  /** RPC limits for every chain, and per chain name (`chains`) where one needs others. */
  /** RPC limits, and per chain: limits and the node's own RPC URLs (`urls`, replacing the networks file's:
   *  an operator's private endpoints, with no copy of the shared file to keep). */
  rpc?: RpcLimits & { chains?: Record<string, RpcLimits & { urls?: string[] }> };
  /** The rebalancer role's policy (relayer/rebalance); every field has a default. */
  rebalance?: RebalanceConfig;
  /** The risk tracker's sampling (relayer/risk); every field has a default. */
  risk?: RiskConfig;
  /** The attestors' dynamic haircut proposals to the WeightGovernor (relayer/weights); present (`{}`: defaults) turns them on. */
  weights?: WeightsConfig;
  /**
   * Source-chain heartbeats for staleness-aware weights (relayer/heartbeats): present (`{}`: every
   * 30 s) makes this attestor send its share of them; engines with `staleness` need some nodes to.
   */
  heartbeats?: { intervalSec?: number };
}

/** The EWMA sampling of the followed prices (relayer/risk/ewma.ts). */
export interface RiskConfig {
  /** Seconds between samples (default 10). */
  sampleIntervalSec?: number;
  /** Samples before a volatility counts (default 10). */
  minSamples?: number;
}

/** When attestors propose a new collateral weight and how it reaches the chain. */
export interface WeightsConfig {
  /** Seconds between proposals (default 30). */
  intervalSec?: number;
  /** Smallest weight change worth an update, e.g. "0.02". */
  threshold?: string;
  /** Proposals are multiples of this, e.g. "0.01" (so honest nodes propose the same value). */
  grid?: string;
  /** Horizon of the volatility, seconds (default 120). */
  horizonSec?: number;
  /** Window of the shared signature deadline, seconds (default 60). */
  epochSec?: number;
  /** Before the next-ranked attestor submits a quorum, ms (default 15000). */
  deadlineMs?: number;
}

/** When the rebalancer moves credit and how much. Decimal fractions are strings ("1.25"). */
export interface RebalanceConfig {
  /** Rescue a sub-account's engine entry below this health, e.g. "1.25". */
  triggerHealth?: string;
  /** … or when its breach probability over the engine's message latency reaches this, e.g. 0.05. */
  maxBreachProbability?: number;
  /** Size the move to bring it back to this health, e.g. "1.6". */
  targetHealth?: string;
  /** Before the next-ranked node takes over a claimed rescue, ms (default 15000). */
  deadlineMs?: number;
}
