// The rescue decision and its sizing, from plain numbers: a sub-account whose ETH long on engine C
// (eid 3) sits at health 1.1 while the same sub-account holds 2 WETH of surplus on engine B (eid 2).
// WETH is $2000 with weight 0.8 on both engines, so one WETH adds $1600 of weighted equity.

import { describe, expect, it } from 'vitest';
import type { Address } from '../../../relayer/config/types.ts';
import type { EngineMargin, InFlight } from '../../../relayer/margin/types.ts';
import { DEFAULT_REBALANCE, decideRescues } from '../../../relayer/rebalance/decide.ts';
import type { Limits, RescueDecision, Valuation } from '../../../relayer/rebalance/types.ts';
import { accountMargin, engineEntry, usd } from '../../support/margin.ts';

const WAD = 10n ** 18n;
const ACCOUNT = '0x00000000000000000000000000000000000000a1' as Address;
const WETH = '0x00000000000000000000000000000000000000e7' as Address;
const A = 1; // the chain of WETH's vault
const B = 2;
const C = 3;
const NOW = 1_700_000_000;

const engine = (eid: number, equity: number, maintenance: number, initial: number, wethCredit = 0n) =>
  engineEntry(
    eid,
    { equity, maintenance, initial },
    wethCredit === 0n ? {} : { [`${A}:${WETH}`]: wethCredit },
  );
const account = (engines: EngineMargin[], inFlight: InFlight[] = []) =>
  accountMargin(ACCOUNT, 0n, engines, inFlight);

const limits = (over: Partial<Limits> = {}): Limits => ({
  engines: [C],
  maxPerMoveUsd: usd(10_000),
  minSourceHealth: 2n * WAD,
  expiry: NOW + 3_600,
  ...over,
});
const weth: Valuation = { price: usd(2_000), weight: (WAD * 8n) / 10n, decimals: 18, enabled: true };

/** C at health 1.1 (equity 1100 / maintenance 1000); B with 2 WETH (equity 3200, maintenance 500). */
function decide(
  over: {
    limits?: Limits | undefined;
    dst?: EngineMargin;
    src?: EngineMargin;
    inFlight?: InFlight[];
    dstValuation?: Valuation;
    canSend?: boolean;
    breach?: number;
  } = {},
): RescueDecision[] {
  const dst = over.dst ?? engine(C, 1_100, 1_000, 2_000);
  const src = over.src ?? engine(B, 3_200, 500, 1_000, 2n * WAD);
  return decideRescues({
    account: account([src, dst], over.inFlight),
    limits: (eid) => (eid === B ? ('limits' in over ? over.limits : limits()) : undefined),
    valuation: (eid) => (eid === C ? (over.dstValuation ?? weth) : weth),
    canSendFrom: () => over.canSend ?? true,
    nowSec: NOW,
    ...(over.breach === undefined
      ? {}
      : { risk: (e) => (e.engineEid === C ? { breachProbability: over.breach as number } : undefined) }),
  });
}

function onlyMove(d: RescueDecision[]) {
  expect(d).toHaveLength(1);
  const first = d[0] as RescueDecision;
  if (first.kind !== 'move') throw new Error(`expected a move, got: ${first.reason}`);
  return first.plan;
}

function onlyNone(d: RescueDecision[]): string {
  expect(d).toHaveLength(1);
  const first = d[0] as RescueDecision;
  if (first.kind !== 'none') throw new Error(`expected no move, got ${first.plan.amount}`);
  return first.reason;
}

describe('decideRescues', () => {
  it('moves exactly what brings C to the target health, from authorised surplus on B', () => {
    const plan = onlyMove(decide());
    // need = 1.6 × 1000 − 1100 = $500 of weighted equity = 500 / 1600 WETH.
    expect(plan).toMatchObject({ srcEngineEid: B, dstEngineEid: C, srcEid: A, token: WETH, partial: false });
    expect(plan.amount).toBe((5n * WAD) / 16n);
    expect(plan.valueUsd).toBe(usd(625));
    expect(plan.dstHealthAfter).toBe(DEFAULT_REBALANCE.targetHealth);
    expect(plan.srcHealthAfter).toBe((usd(2_700) * WAD) / usd(500));
  });

  it('without an authorisation on B nothing moves', () => {
    expect(onlyNone(decide({ limits: undefined }))).toMatch(/engine 2: not authorised/);
  });

  it('an expired authorisation (or one expiring before the move can land) moves nothing', () => {
    expect(onlyNone(decide({ limits: limits({ expiry: NOW - 1 }) }))).toMatch(/expired/);
    expect(onlyNone(decide({ limits: limits({ expiry: NOW + 30 }) }))).toMatch(/expired/);
  });

  it('a destination the trader did not allow gets nothing', () => {
    expect(onlyNone(decide({ limits: limits({ engines: [7] }) }))).toMatch(/3 not allowed/);
  });

  it('a move that would take B below minSourceHealth is made smaller, and none when B has no room', () => {
    // minSourceHealth 6: floor = 6 × 500 × 1.05 = $3150, room $50 -> 50 / 1600 WETH, partial.
    const plan = onlyMove(decide({ limits: limits({ minSourceHealth: 6n * WAD }) }));
    expect(plan.partial).toBe(true);
    expect(plan.amount).toBe(WAD / 32n);
    expect(plan.srcHealthAfter).toBeGreaterThanOrEqual(6n * WAD);
    expect(plan.dstHealthAfter).toBeLessThan(DEFAULT_REBALANCE.targetHealth);
    // minSourceHealth 6.4: floor $3360 > equity $3200.
    expect(onlyNone(decide({ limits: limits({ minSourceHealth: (64n * WAD) / 10n }) }))).toMatch(
      /at its minimum health/,
    );
  });

  it("B's initial requirement bounds the move too (the engine's own check)", () => {
    // initial $3000: floor = max(2 × 500, 3000) × 1.05 = $3150.
    const plan = onlyMove(decide({ src: engine(B, 3_200, 500, 3_000, 2n * WAD) }));
    expect(plan.amount).toBe(WAD / 32n);
  });

  it('maxPerMoveUsd caps one move (with 5 % head-room for the price)', () => {
    const plan = onlyMove(decide({ limits: limits({ maxPerMoveUsd: usd(200) }) }));
    // 200 × 0.95 / 2000 WETH
    expect(plan.amount).toBe((95n * WAD) / 1_000n);
    expect(plan.valueUsd).toBeLessThanOrEqual(usd(200));
    expect(plan.partial).toBe(true);
  });

  it('a move worth less than the minimum is not made', () => {
    expect(onlyNone(decide({ limits: limits({ maxPerMoveUsd: usd(1) }) }))).toMatch(/above the minimum move/);
  });

  it('a healthy destination wants nothing, unless its breach probability over the horizon is high', () => {
    const healthy = engine(C, 1_500, 1_000, 2_000);
    expect(decide({ dst: healthy })).toHaveLength(0);
    expect(decide({ dst: healthy, breach: 0.01 })).toHaveLength(0);
    const plan = onlyMove(decide({ dst: healthy, breach: 0.2 }));
    expect(plan.reason).toMatch(/breach probability 0.200/);
    expect(plan.amount).toBe(WAD / 16n); // $100 of need
  });

  it('below health 1 the liquidators act; nothing is moved', () => {
    expect(onlyNone(decide({ dst: engine(C, 990, 1_000, 2_000) }))).toMatch(/liquidatable/);
  });

  it('with a move already in flight for the sub-account nothing more is moved', () => {
    const inFlight: InFlight = {
      id: `0x${'11'.repeat(32)}`,
      kind: 'MOVE',
      srcEid: B,
      dstEid: A,
      account: ACCOUNT,
      subaccount: 0n,
      token: WETH,
      tokenEid: A,
      amount: WAD,
    };
    expect(onlyNone(decide({ inFlight: [inFlight] }))).toMatch(/in flight/);
  });

  it('collateral the destination does not credit is not moved (its LOCK would be held)', () => {
    expect(onlyNone(decide({ dstValuation: { ...weth, enabled: false } }))).toMatch(/no credit/);
  });

  it('a source chain this node does not serve is left to the nodes that do', () => {
    expect(onlyNone(decide({ canSend: false }))).toMatch(/not served/);
  });
});
