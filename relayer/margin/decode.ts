// Logs -> MarginEvent. The fragments are copied from the contracts' interfaces (a unit test checks
// their topics against the compiled ABIs); a log is decoded by the role of the contract that
// emitted it, because two contracts emit events of the same name with different shapes (the vault's
// and the market's PaidOut).

import { type EventFragment, Interface, type Result } from 'ethers';
import type { ChainLog } from '../chain/rpc.ts';
import type { Address, Hex } from '../config/types.ts';
import { type CompiledEvent, compileEvent, decodeCompiled } from './fast-abi.ts';
import type { MarginEvent } from './types.ts';

export const VAULT_EVENTS = new Interface([
  'event Deposited(bytes32 indexed id, address indexed account, uint96 indexed subaccount, address token, uint256 amount, uint32 engineEid)',
  'event CreditMoved(bytes32 indexed id, address indexed account, uint96 indexed subaccount, address token, uint256 amount, uint32 fromEngineEid, uint32 toEngineEid)',
  'event LockPending(bytes32 indexed id, uint32 engineEid)',
  'event LockFlushed(bytes32 indexed id, uint32 engineEid)',
  'event PaidOut(bytes32 indexed id, uint8 kind, address indexed account, uint96 subaccount, address token, uint256 amount, address indexed recipient, uint32 engineEid)',
  'event PayoutQueued(bytes32 indexed id, address indexed token, address indexed recipient, uint256 amount)',
]);

export const ENGINE_EVENTS = new Interface([
  'event Credited(bytes32 indexed id, address indexed account, uint96 indexed subaccount, uint32 srcEid, address token, uint256 amount)',
  'event CreditHeld(bytes32 indexed id, address indexed account, uint96 indexed subaccount, uint8 reason)',
  'event HeldCreditClaimed(bytes32 indexed id)',
  'event HeldCreditReturned(bytes32 indexed id, bytes32 releaseId)',
  'event Debited(bytes32 indexed id, uint8 kind, address indexed account, uint96 indexed subaccount, uint32 srcEid, address token, uint256 amount, address recipient, uint32 dstEngineEid)',
  'event Liquidated(address indexed account, uint96 indexed subaccount, address indexed liquidator, uint256 closeFraction, uint256 closedNotional, uint256 repaid, uint256 healthBefore, uint256 healthAfter)',
  'event BadDebtSettled(address indexed account, uint96 indexed subaccount, uint256 coveredByInsurance, uint256 writtenOff)',
  'event RiskAssetSet(uint16 indexed assetId, (address oracle, uint64 weight, bool enabled, uint24 depth) asset)',
  'event CollateralSourceSet(uint32 indexed srcEid, address indexed token, (uint16 assetId, uint8 decimals, bool enabled, uint32 staleGrace, uint32 staleDecay, uint256 creditCap, uint128 bridgeCapacity, uint64 bridgeWindow) source)',
  'event MarketRiskSet(uint32 indexed marketId, (uint64 initialMargin, uint64 maintenanceMargin, uint128 openInterestCap, bool enabled) risk)',
  'event VenueSet(address indexed venue)',
  'event SourceHeard(uint32 indexed srcEid, uint64 sentAt)',
  'event LiquidationConfigSet((uint64 bonus, uint64 targetHealth, uint64 fullCloseHealth, uint128 dustNotional) config)',
]);

export const MARKET_EVENTS = new Interface([
  'event MarketAdded(uint32 indexed marketId, address oracle, uint64 tradingFee, uint128 borrowRatePerSecond)',
  'event MarketParamsSet(uint32 indexed marketId, address oracle, uint64 tradingFee, uint128 borrowRatePerSecond)',
  'event BorrowAccrued(uint32 indexed marketId, uint256 borrowIndex, uint256 timestamp)',
  'event PositionChanged(address indexed account, uint96 indexed subaccount, uint32 indexed marketId, int256 sizeBefore, int256 sizeAfter, uint256 entryPrice, uint256 price, int256 realisedPnl, uint256 tradingFee, uint256 borrowFee, int256 settledAfter, bool liquidation)',
  'event SettledChanged(address indexed account, uint96 indexed subaccount, int256 delta, int256 settledAfter)',
]);

export const FEED_EVENTS = new Interface([
  'event AnswerUpdated(int256 indexed current, uint256 indexed roundId, uint256 updatedAt)',
]);

/** Which contract of a chain emitted a log. */
export type Role = 'vault' | 'engine' | 'market' | 'feed';

/** Every topic0 the view subscribes to (one filter per chain, OR-ed over topic0). */
export function marginTopics(): Hex[] {
  const out: Hex[] = [];
  for (const iface of [VAULT_EVENTS, ENGINE_EVENTS, MARKET_EVENTS, FEED_EVENTS]) {
    iface.forEachEvent((e) => {
      out.push(e.topicHash as Hex);
    });
  }
  return out;
}

const IFACE: Record<Role, Interface> = {
  vault: VAULT_EVENTS,
  engine: ENGINE_EVENTS,
  market: MARKET_EVENTS,
  feed: FEED_EVENTS,
};

/**
 * topic0 -> event, per role. Interface.parseLog finds a log's event by comparing its topic0 with
 * every fragment's `topicHash`, a getter that hashes the signature again on each access: ~14
 * keccak256 per log, the margin view's largest CPU cost when a block carries hundreds of events.
 */
const BY_TOPIC: Record<Role, Map<string, EventFragment>> = Object.fromEntries(
  Object.entries(IFACE).map(([role, iface]) => {
    const byTopic = new Map<string, EventFragment>();
    iface.forEachEvent((e) => {
      byTopic.set(e.topicHash.toLowerCase(), e);
    });
    return [role, byTopic];
  }),
) as Record<Role, Map<string, EventFragment>>;

/** Per role, topic0 -> the event compiled for decodeCompiled (absent: ethers decodes it). */
const COMPILED: Record<Role, Map<string, CompiledEvent>> = Object.fromEntries(
  Object.entries(BY_TOPIC).map(([role, byTopic]) => {
    const compiled = new Map<string, CompiledEvent>();
    for (const [topic, e] of byTopic) {
      const c = compileEvent(e);
      if (c !== undefined) compiled.set(topic, c);
    }
    return [role, compiled];
  }),
) as Record<Role, Map<string, CompiledEvent>>;

/** The ABI decoder already returns a checksummed address; the view keys by lower case. */
const addr = (v: unknown): Address => String(v).toLowerCase() as Address;
const hex = (v: unknown): Hex => String(v).toLowerCase() as Hex;
const big = (v: unknown): bigint => BigInt(v as bigint);
const num = (v: unknown): number => Number(v as bigint);

/** The log's parameters by name: by hand for one-word parameters, else by ethers. */
function decodeArgs(
  role: Role,
  topic0: string,
  fragment: EventFragment,
  log: ChainLog,
): Record<string, unknown> | Result | undefined {
  const compiled = COMPILED[role].get(topic0);
  if (compiled !== undefined) return decodeCompiled(compiled, log.data, log.topics);
  try {
    return IFACE[role].decodeEventLog(fragment, log.data, log.topics);
  } catch {
    return undefined;
  }
}

/** Decodes one log of a contract in `role`; undefined for events the view does not use. */
export function decodeLog(role: Role, log: ChainLog): MarginEvent | undefined {
  const topic0 = log.topics[0]?.toLowerCase() ?? '';
  const fragment = BY_TOPIC[role].get(topic0);
  if (fragment === undefined) return undefined; // another event of that contract
  // Undefined from either decoder: same topic, other shape (a foreign contract at a feed address).
  const a = decodeArgs(role, topic0, fragment, log);
  if (a === undefined) return undefined;
  const parsed = { name: fragment.name };
  const sub = () => ({ account: addr(a.account), subaccount: big(a.subaccount) });
  switch (`${role}.${parsed.name}`) {
    case 'vault.Deposited':
      return {
        type: 'Deposited',
        id: hex(a.id),
        ...sub(),
        token: addr(a.token),
        amount: big(a.amount),
        engineEid: num(a.engineEid),
      };
    case 'vault.CreditMoved':
      return {
        type: 'CreditMoved',
        id: hex(a.id),
        ...sub(),
        token: addr(a.token),
        amount: big(a.amount),
        fromEngineEid: num(a.fromEngineEid),
        toEngineEid: num(a.toEngineEid),
      };
    case 'vault.LockPending':
      return { type: 'LockPending', id: hex(a.id), engineEid: num(a.engineEid) };
    case 'vault.LockFlushed':
      return { type: 'LockFlushed', id: hex(a.id), engineEid: num(a.engineEid) };
    case 'vault.PaidOut':
      return {
        type: 'PaidOut',
        id: hex(a.id),
        kind: num(a.kind),
        ...sub(),
        token: addr(a.token),
        amount: big(a.amount),
        recipient: addr(a.recipient),
        engineEid: num(a.engineEid),
      };
    case 'vault.PayoutQueued':
      return {
        type: 'PayoutQueued',
        id: hex(a.id),
        token: addr(a.token),
        recipient: addr(a.recipient),
        amount: big(a.amount),
      };
    case 'engine.Credited':
      return {
        type: 'Credited',
        id: hex(a.id),
        ...sub(),
        srcEid: num(a.srcEid),
        token: addr(a.token),
        amount: big(a.amount),
      };
    case 'engine.CreditHeld':
      return { type: 'CreditHeld', id: hex(a.id), ...sub(), reason: num(a.reason) };
    case 'engine.HeldCreditClaimed':
      return { type: 'HeldCreditClaimed', id: hex(a.id) };
    case 'engine.HeldCreditReturned':
      return { type: 'HeldCreditReturned', id: hex(a.id), releaseId: hex(a.releaseId) };
    case 'engine.Debited':
      return {
        type: 'Debited',
        id: hex(a.id),
        kind: num(a.kind),
        ...sub(),
        srcEid: num(a.srcEid),
        token: addr(a.token),
        amount: big(a.amount),
        recipient: addr(a.recipient),
        dstEngineEid: num(a.dstEngineEid),
      };
    case 'engine.Liquidated':
      return {
        type: 'Liquidated',
        ...sub(),
        liquidator: addr(a.liquidator),
        closeFraction: big(a.closeFraction),
        closedNotional: big(a.closedNotional),
        repaid: big(a.repaid),
        healthBefore: big(a.healthBefore),
        healthAfter: big(a.healthAfter),
      };
    case 'engine.BadDebtSettled':
      return {
        type: 'BadDebtSettled',
        ...sub(),
        coveredByInsurance: big(a.coveredByInsurance),
        writtenOff: big(a.writtenOff),
      };
    case 'engine.RiskAssetSet':
      return {
        type: 'RiskAssetSet',
        assetId: num(a.assetId),
        oracle: addr(a.asset.oracle),
        weight: big(a.asset.weight),
        enabled: Boolean(a.asset.enabled),
        depth: num(a.asset.depth),
      };
    case 'engine.CollateralSourceSet':
      return {
        type: 'CollateralSourceSet',
        srcEid: num(a.srcEid),
        token: addr(a.token),
        assetId: num(a.source.assetId),
        decimals: num(a.source.decimals),
        enabled: Boolean(a.source.enabled),
        staleGrace: num(a.source.staleGrace),
        staleDecay: num(a.source.staleDecay),
      };
    case 'engine.SourceHeard':
      return { type: 'SourceHeard', srcEid: num(a.srcEid), sentAt: num(a.sentAt) };
    case 'engine.MarketRiskSet':
      return {
        type: 'MarketRiskSet',
        marketId: num(a.marketId),
        initialMargin: big(a.risk.initialMargin),
        maintenanceMargin: big(a.risk.maintenanceMargin),
        enabled: Boolean(a.risk.enabled),
      };
    case 'engine.VenueSet':
      return { type: 'VenueSet', venue: addr(a.venue) };
    case 'engine.LiquidationConfigSet':
      return {
        type: 'LiquidationConfigSet',
        bonus: big(a.config.bonus),
        targetHealth: big(a.config.targetHealth),
        fullCloseHealth: big(a.config.fullCloseHealth),
        dustNotional: big(a.config.dustNotional),
      };
    case 'market.MarketAdded':
    case 'market.MarketParamsSet':
      return {
        type: parsed.name === 'MarketAdded' ? 'MarketAdded' : 'MarketParamsSet',
        marketId: num(a.marketId),
        oracle: addr(a.oracle),
        borrowRatePerSecond: big(a.borrowRatePerSecond),
      };
    case 'market.BorrowAccrued':
      return {
        type: 'BorrowAccrued',
        marketId: num(a.marketId),
        borrowIndex: big(a.borrowIndex),
        timestamp: num(a.timestamp),
      };
    case 'market.PositionChanged':
      return {
        type: 'PositionChanged',
        ...sub(),
        marketId: num(a.marketId),
        sizeBefore: big(a.sizeBefore),
        sizeAfter: big(a.sizeAfter),
        entryPrice: big(a.entryPrice),
        settledAfter: big(a.settledAfter),
        liquidation: Boolean(a.liquidation),
      };
    case 'market.SettledChanged':
      return { type: 'SettledChanged', ...sub(), delta: big(a.delta), settledAfter: big(a.settledAfter) };
    case 'feed.AnswerUpdated':
      return { type: 'AnswerUpdated', feed: log.address.toLowerCase() as Address, answer: big(a.current) };
    default:
      return undefined;
  }
}
