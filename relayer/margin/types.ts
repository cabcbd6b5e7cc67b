// The margin view's vocabulary: the typed union of everything it applies (decoded contract events
// plus a few "resolved" facts read by eth_call and stored with the block they were read at, so a
// replay from the store never needs an RPC), and the shapes it exposes.

import type { Address, Hex } from '../config/types.ts';

/** Message kinds of MsgCodec (the `kind` of Debited / PaidOut). */
export const MSG_KIND = { LOCK: 1, RELEASE: 2, SEIZE: 3, MOVE: 4 } as const;

/** Every event type the view knows, one entry each; decode and apply are keyed by it. */
export const MARGIN_EVENT_TYPES = [
  // CollateralVault
  'Deposited',
  'CreditMoved',
  'LockPending',
  'LockFlushed',
  'PaidOut',
  'PayoutQueued',
  // MarginEngine
  'Credited',
  'CreditHeld',
  'HeldCreditClaimed',
  'HeldCreditReturned',
  'Debited',
  'Liquidated',
  'BadDebtSettled',
  'RiskAssetSet',
  'CollateralSourceSet',
  'MarketRiskSet',
  'VenueSet',
  'LiquidationConfigSet',
  'SourceHeard',
  // PerpMarket
  'MarketAdded',
  'MarketParamsSet',
  'BorrowAccrued',
  'PositionChanged',
  'SettledChanged',
  // SettableAggregator (Chainlink-shaped feed)
  'AnswerUpdated',
  // resolved by eth_call (not logs)
  'AdapterResolved',
  'FeedSeeded',
  'AdapterPriced',
  'QuoteResolved',
] as const;
export type MarginEventType = (typeof MARGIN_EVENT_TYPES)[number];

type Sub = { account: Address; subaccount: bigint };

export type MarginEvent =
  | ({ type: 'Deposited'; id: Hex; token: Address; amount: bigint; engineEid: number } & Sub)
  | ({
      type: 'CreditMoved';
      id: Hex;
      token: Address;
      amount: bigint;
      fromEngineEid: number;
      toEngineEid: number;
    } & Sub)
  | { type: 'LockPending'; id: Hex; engineEid: number }
  | { type: 'LockFlushed'; id: Hex; engineEid: number }
  | ({
      type: 'PaidOut';
      id: Hex;
      kind: number;
      token: Address;
      amount: bigint;
      recipient: Address;
      engineEid: number;
    } & Sub)
  | { type: 'PayoutQueued'; id: Hex; token: Address; recipient: Address; amount: bigint }
  | ({ type: 'Credited'; id: Hex; srcEid: number; token: Address; amount: bigint } & Sub)
  | ({ type: 'CreditHeld'; id: Hex; reason: number } & Sub)
  | { type: 'HeldCreditClaimed'; id: Hex }
  | { type: 'HeldCreditReturned'; id: Hex; releaseId: Hex }
  | ({
      type: 'Debited';
      id: Hex;
      kind: number;
      srcEid: number;
      token: Address;
      amount: bigint;
      recipient: Address;
      dstEngineEid: number;
    } & Sub)
  | ({
      type: 'Liquidated';
      liquidator: Address;
      closeFraction: bigint;
      closedNotional: bigint;
      repaid: bigint;
      healthBefore: bigint;
      healthAfter: bigint;
    } & Sub)
  | ({ type: 'BadDebtSettled'; coveredByInsurance: bigint; writtenOff: bigint } & Sub)
  | {
      type: 'RiskAssetSet';
      assetId: number;
      oracle: Address;
      weight: bigint;
      enabled: boolean;
      /** Size-aware weight: market depth in thousands of USD (0: none). */
      depth: number;
    }
  | {
      type: 'CollateralSourceSet';
      srcEid: number;
      token: Address;
      assetId: number;
      decimals: number;
      enabled: boolean;
      /** Staleness-aware weight: seconds of grace, then of linear decay (0: off). */
      staleGrace: number;
      staleDecay: number;
    }
  | { type: 'SourceHeard'; srcEid: number; sentAt: number }
  | {
      type: 'MarketRiskSet';
      marketId: number;
      initialMargin: bigint;
      maintenanceMargin: bigint;
      enabled: boolean;
    }
  | { type: 'VenueSet'; venue: Address }
  | {
      type: 'LiquidationConfigSet';
      bonus: bigint;
      targetHealth: bigint;
      fullCloseHealth: bigint;
      dustNotional: bigint;
    }
  | { type: 'MarketAdded'; marketId: number; oracle: Address; borrowRatePerSecond: bigint }
  | { type: 'MarketParamsSet'; marketId: number; oracle: Address; borrowRatePerSecond: bigint }
  | { type: 'BorrowAccrued'; marketId: number; borrowIndex: bigint; timestamp: number }
  | ({
      type: 'PositionChanged';
      marketId: number;
      sizeBefore: bigint;
      sizeAfter: bigint;
      entryPrice: bigint;
      settledAfter: bigint;
      liquidation: boolean;
    } & Sub)
  | ({ type: 'SettledChanged'; delta: bigint; settledAfter: bigint } & Sub)
  | { type: 'AnswerUpdated'; feed: Address; answer: bigint }
  /** An oracle adapter as read once: a Chainlink adapter's primary feed, or a derived one (ERC-4626). */
  | { type: 'AdapterResolved'; adapter: Address; feed: Address | null; feedDecimals: number }
  /** A feed's answer read by eth_call at this block (its earlier AnswerUpdated logs were not seen). */
  | { type: 'FeedSeeded'; feed: Address; answer: bigint }
  /** A derived adapter's price() read at this block (null: it reverted). */
  | { type: 'AdapterPriced'; adapter: Address; price: bigint | null }
  /** The venue's quote-token decimals (settled balances are in quote units). */
  | { type: 'QuoteResolved'; venue: Address; decimals: number };

/** One block of one chain, as applied and stored. */
export interface BlockRecord {
  eid: number;
  number: number;
  hash: Hex;
  timestamp: number;
  events: MarginEvent[];
}

/** IMarginEngine.HealthView, computed off-chain. */
export interface HealthView {
  collateralValue: bigint;
  equity: bigint;
  maintenanceRequirement: bigint;
  initialRequirement: bigint;
  notional: bigint;
  health: bigint;
}

/** A price the view follows: a feed on a chain. */
export type PriceKey = `${number}:${Address}`;

/** How far one price may move before health on one engine reaches 1 (all else equal). */
export interface LiquidationDistance {
  engineEid: number;
  priceKey: PriceKey;
  /** Asset ids of the engine priced by this feed (collateral), and market ids marked by it. */
  assetIds: number[];
  marketIds: number[];
  price: bigint;
  /** Relative move, e.g. -0.25 = a 25 % drop; null when no move of this price alone gets there. */
  move: number | null;
  /**
   * Sensitivities to this price, USD per unit of relative move (dX/d ln p at the current price):
   * equity (collateral value × weight + position delta) and maintenance requirement. Exact (floats)
   * where both are linear in the price; a central difference where a size-aware weight makes
   * equity concave (see liquidationDistances). Undefined when the what-if could not be priced.
   */
  equityDelta?: number;
  maintenanceDelta?: number;
}

export interface InFlight {
  id: Hex;
  kind: 'LOCK' | 'RELEASE' | 'SEIZE' | 'MOVE';
  /** Where it was sent from and to (eids). */
  srcEid: number;
  dstEid: number;
  account: Address;
  subaccount: bigint;
  token: Address;
  /** The chain of the vault holding the token. */
  tokenEid: number;
  amount: bigint;
  /** A LOCK the vault could not pay the hop for yet (LockPending). */
  pending?: boolean;
}

export interface EngineMargin {
  engineEid: number;
  /** credit per `${srcEid}:${token}` */
  credit: Record<string, bigint>;
  positions: {
    marketId: number;
    size: bigint;
    entryPrice: bigint;
    markPrice: bigint;
    unrealizedPnl: bigint;
  }[];
  /** Settled balance, USD (WAD), as IVenue.settledBalance. */
  settledBalance: bigint;
  /** undefined when a price it needs is missing or invalid (the engine's health() would revert). */
  health: HealthView | undefined;
  distances: LiquidationDistance[];
}

export interface AccountMargin {
  account: Address;
  subaccount: bigint;
  /** locked per `${eid}:${token}` (token units). */
  locked: Record<string, bigint>;
  engines: EngineMargin[];
  inFlight: InFlight[];
  /** LOCKs delivered but held by an engine (CreditHeld), by id. */
  held: { id: Hex; engineEid: number; reason: number }[];
  /** The cross-chain figure (./total.ts): sums over the engines whose health is known. */
  total: {
    /** Collateral value after haircuts (asset weights), USD WAD. */
    collateralValue: bigint;
    equity: bigint;
    maintenanceRequirement: bigint;
    initialRequirement: bigint;
    /**
     * Σ over engines of max(0, equity − initial requirement): what can be withdrawn or moved now.
     * Not netted across engines: one engine's surplus covers another's shortfall only once moved.
     */
    freeCollateral: bigint;
    /** Per asset, the nearest move of its price, over every engine, that brings one to health 1. */
    distances: AssetDistance[];
  };
}

/** The nearest liquidation distance of one asset across a sub-account's engines. */
export interface AssetDistance {
  /** The asset's name (its token symbol in the chains' configs; the price key when none names it). */
  asset: string;
  /** Relative move (−0.25 = a 25 % drop); null when no move of this price alone liquidates any engine. */
  move: number | null;
  /** The engine that reaches health 1 first, and the price (feed) it reads the asset at. */
  engineEid: number;
  priceKey: PriceKey;
}

export interface ChangedSubaccount {
  engineEid: number;
  account: Address;
  subaccount: bigint;
}
