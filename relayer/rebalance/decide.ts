// Decides, from one account's cross-chain margin (the margin view) and the predictive risk figures,
// which of its sub-account's engine entries needs a rescue and which authorised credit on another
// engine of the same sub-account can move there, and how much. Pure: valuations, limits and risk come
// in as functions, so the unit tests drive it with plain numbers.
//
// Sizing (all USD figures WAD, health = equity / maintenance requirement, as the engine computes it):
//   need    = targetHealth × maintenance_C − equity_C                 (USD of weighted equity on C)
//   x_need  = need / (price_C × weight_C)                              (tokens that bring C there)
//   room    = equity_B − max(minSourceHealth × maintenance_B, initial_B) × (1 + margin)
//   x_room  = room / (price_B × weight_B)                              (what B can give: its limit
//                                                                       on chain and the engine's
//                                                                       own initial-margin check)
//   x_cap   = maxPerMoveUsd × use / price_B                            (the per-move limit)
//   x       = min(x_need, x_room, x_cap, credit)
// Among the sources the one leaving C healthiest wins; one move per destination at a time.

import { AbiCoder, keccak256 } from 'ethers';
import type { Address, Hex } from '../config/types.ts';
import type { AccountMargin, EngineMargin } from '../margin/types.ts';
import type { Limits, RebalancePolicy, RescueDecision, RescuePlan, Valuation } from './types.ts';

const WAD = 10n ** 18n;
const BPS = 10_000n;
const MAX_HEALTH = 2n ** 256n - 1n;

export const DEFAULT_REBALANCE: RebalancePolicy = {
  triggerHealth: (WAD * 125n) / 100n,
  maxBreachProbability: 0.05,
  targetHealth: (WAD * 160n) / 100n,
  sourceMarginBps: 500n,
  maxPerMoveUseBps: 9_500n,
  minMoveUsd: WAD,
  expiryMarginSec: 60,
};

export interface DecideInput {
  account: AccountMargin;
  /** Breach probability of an engine entry over its message latency; undefined without history. */
  risk?: (e: EngineMargin) => { breachProbability: number } | undefined;
  /** The sub-account's authorisation on a source engine chain, if any (revoked: undefined). */
  limits: (srcEngineEid: number) => Limits | undefined;
  /** How an engine values a collateral; undefined when unknown. */
  valuation: (engineEid: number, srcEid: number, token: Address) => Valuation | undefined;
  /** Source engines this node can send from (it serves the chain and knows its Rebalancer). */
  canSendFrom: (engineEid: number) => boolean;
  nowSec: number;
  policy?: Partial<RebalancePolicy>;
}

function min(first: bigint, ...rest: bigint[]): bigint {
  let m = first;
  for (const x of rest) if (x < m) m = x;
  return m;
}
const ceilDiv = (a: bigint, b: bigint): bigint => (a + b - 1n) / b;
const healthOf = (equity: bigint, maintenance: bigint): bigint =>
  maintenance === 0n ? MAX_HEALTH : equity <= 0n ? 0n : (equity * WAD) / maintenance;

/** The engines' entries of `account` that want a rescue, each with a move or the reason there is none. */
export function decideRescues(input: DecideInput): RescueDecision[] {
  const policy = { ...DEFAULT_REBALANCE, ...input.policy };
  const { account: m } = input;
  const out: RescueDecision[] = [];
  for (const dst of m.engines) {
    const h = dst.health;
    if (h === undefined || !wantsRescue(dst, input.risk, policy)) continue;
    const none = (reason: string): RescueDecision => ({
      kind: 'none',
      account: m.account,
      subaccount: m.subaccount,
      dstEngineEid: dst.engineEid,
      dstHealth: h.health,
      reason,
    });
    // Below 1 the liquidators act now; a move would arrive one message latency too late.
    if (h.health < WAD) {
      out.push(none('liquidatable: left to the liquidators'));
      continue;
    }
    // Credit already travelling to this sub-account (a move, or a LOCK to this engine) changes the
    // picture when it lands; deciding again before then could move twice.
    if (m.inFlight.some((f) => f.kind === 'MOVE' || (f.kind === 'LOCK' && f.dstEid === dst.engineEid))) {
      out.push(none('credit in flight to it'));
      continue;
    }
    const need = (policy.targetHealth * h.maintenanceRequirement) / WAD - h.equity;
    if (need <= 0n) {
      out.push(none('at or above the target health already'));
      continue;
    }
    const why =
      h.health < policy.triggerHealth
        ? `health ${fmt(h.health)} < trigger ${fmt(policy.triggerHealth)}`
        : `breach probability ${input.risk?.(dst)?.breachProbability.toFixed(3)} >= ${policy.maxBreachProbability}`;
    const reasons: string[] = [];
    let best: RescuePlan | undefined;
    for (const src of m.engines) {
      if (src.engineEid === dst.engineEid) continue;
      const plan = fromSource(input, policy, dst, src, need, why, reasons);
      if (plan !== undefined && (best === undefined || plan.dstHealthAfter > best.dstHealthAfter))
        best = plan;
    }
    out.push(
      best === undefined
        ? none(reasons.length === 0 ? 'no other engine holds credit' : reasons.join('; '))
        : { kind: 'move', plan: best },
    );
  }
  return out;
}

/** The best move from one source engine to `dst`, or undefined with the reason appended. */
function fromSource(
  input: DecideInput,
  policy: RebalancePolicy,
  dst: EngineMargin,
  src: EngineMargin,
  need: bigint,
  why: string,
  reasons: string[],
): RescuePlan | undefined {
  const { account: m } = input;
  const d = dst.health as NonNullable<EngineMargin['health']>;
  const at = `engine ${src.engineEid}`;
  const limits = input.limits(src.engineEid);
  if (limits === undefined) return void reasons.push(`${at}: not authorised`);
  if (limits.expiry <= input.nowSec + policy.expiryMarginSec)
    return void reasons.push(`${at}: authorisation expired`);
  if (!limits.engines.includes(dst.engineEid))
    return void reasons.push(`${at}: ${dst.engineEid} not allowed`);
  if (!input.canSendFrom(src.engineEid)) return void reasons.push(`${at}: not served by this node`);
  const s = src.health;
  if (s === undefined) return void reasons.push(`${at}: health unknown`);
  const floor =
    (max((limits.minSourceHealth * s.maintenanceRequirement) / WAD, s.initialRequirement) *
      (BPS + policy.sourceMarginBps)) /
    BPS;
  const room = s.equity - floor;
  if (room <= 0n) return void reasons.push(`${at}: at its minimum health`);

  let best: RescuePlan | undefined;
  for (const [key, credit] of Object.entries(src.credit)) {
    if (credit <= 0n) continue;
    const [eid, token] = key.split(':') as [string, Address];
    const srcEid = Number(eid);
    const vs = input.valuation(src.engineEid, srcEid, token);
    const vd = input.valuation(dst.engineEid, srcEid, token);
    if (vs === undefined || vd === undefined || vs.price === 0n) continue;
    // A destination that does not credit this collateral would hold the LOCK: no help to it.
    if (!vd.enabled || vd.weight === 0n || vd.price === 0n) continue;
    const unit = 10n ** BigInt(vs.decimals);
    const xNeed = ceilDiv(need * unit * WAD, vd.price * vd.weight);
    const xRoom = vs.weight === 0n ? credit : (room * unit * WAD) / (vs.price * vs.weight);
    const xCap = (limits.maxPerMoveUsd * policy.maxPerMoveUseBps * unit) / BPS / vs.price;
    const amount = min(xNeed, xRoom, xCap, credit);
    const valueUsd = (amount * vs.price) / unit;
    if (amount === 0n || valueUsd < policy.minMoveUsd) continue;
    const gain = (amount * vd.price * vd.weight) / unit / WAD;
    const loss = (amount * vs.price * vs.weight) / unit / WAD;
    const plan: RescuePlan = {
      account: m.account,
      subaccount: m.subaccount,
      dstEngineEid: dst.engineEid,
      srcEngineEid: src.engineEid,
      srcEid,
      token,
      amount,
      valueUsd,
      dstHealthBefore: d.health,
      dstHealthAfter: healthOf(d.equity + gain, d.maintenanceRequirement),
      srcHealthAfter: healthOf(s.equity - loss, s.maintenanceRequirement),
      partial: amount < xNeed,
      reason: why,
      stateKey: stateKeyOf(dst, src.engineEid, srcEid, token, credit),
    };
    if (best === undefined || plan.dstHealthAfter > best.dstHealthAfter) best = plan;
  }
  if (best === undefined) reasons.push(`${at}: no credit the destination takes above the minimum move`);
  return best;
}

const max = (a: bigint, b: bigint): bigint => (a > b ? a : b);
const fmt = (wad: bigint): string => (Number(wad / 10n ** 14n) / 1e4).toFixed(4);

/**
 * The margin state a plan is made from: the destination's equity and requirement and the source
 * credit it moves. Two nodes looking at the same blocks compute the same key; a landed move changes it.
 */
export function stateKeyOf(
  dst: EngineMargin,
  srcEngineEid: number,
  srcEid: number,
  token: Address,
  credit: bigint,
): Hex {
  const h = dst.health as NonNullable<EngineMargin['health']>;
  return keccak256(
    AbiCoder.defaultAbiCoder().encode(
      ['uint32', 'int256', 'uint256', 'uint32', 'uint32', 'address', 'uint256'],
      [dst.engineEid, h.equity, h.maintenanceRequirement, srcEngineEid, srcEid, token, credit],
    ),
  ) as Hex;
}

/** Whether an engine entry wants a rescue at all (the cheap screen before valuing anything). */
export function wantsRescue(
  e: EngineMargin,
  risk: DecideInput['risk'],
  policy: Partial<RebalancePolicy> = {},
): boolean {
  const p = { ...DEFAULT_REBALANCE, ...policy };
  const h = e.health;
  if (h === undefined || h.maintenanceRequirement === 0n) return false;
  if (h.health < p.triggerHealth) return true;
  const breach = risk?.(e)?.breachProbability;
  return breach !== undefined && breach >= p.maxBreachProbability;
}
