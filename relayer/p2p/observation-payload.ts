// The payload of TOPICS.observation: one attestor's signed observation of one block of a chain
// (relayer/margin/observer.ts publishes it, relayer/margin/collector.ts combines them). The schema
// rebuilds exactly the MarginObservation the attestor signed — bigints travel as decimal strings and
// come back as bigints, unknown fields are stripped — so the receiver recomputes the same digest. A
// type check at the bottom keeps it in step with MarginEvent.
//
// Bounds: one observation covers at most MAX_OBSERVATION_BLOCKS blocks of at most
// MAX_BLOCK_EVENTS events each; the envelope's 64 KiB cap bounds the total anyway. A block with more
// than EVENTS_PER_PART events (a mass liquidation, a burst of deposits) does not fit one envelope: its
// observation travels as parts of EVENTS_PER_PART events (../margin/observation-parts.ts), each with
// the attestor's one signature over the whole block's digest. 64 events of the largest kind
// (Liquidated, every integer 78 digits) take ~44 KB of JSON, under the envelope's cap.

import { z } from 'zod';
import type { MarginObservation } from '../margin/observation.ts';
import type { MarginEvent, MarginEventType } from '../margin/types.ts';

export const MAX_OBSERVATION_BLOCKS = 16;
export const MAX_BLOCK_EVENTS = 256;
/** Events per part of a split observation (every part but the last holds exactly this many). */
export const EVENTS_PER_PART = 64;
/** Parts per block: 16,384 events, several times what a 30M-gas block of xmargin calls can emit. */
export const MAX_OBSERVATION_PARTS = 256;

/** An int256/uint256 as canonical JSON carries it (decimal string), parsed back to bigint. */
const int = z
  .string()
  .regex(/^(0|-?[1-9][0-9]{0,77})$/, 'expected a decimal integer string')
  .transform((s) => BigInt(s));
const u32 = z.number().int().min(0).max(0xffff_ffff);
const blockNumber = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const small = z.number().int().min(0).max(255);
export const address = z
  .string()
  .regex(/^0x[0-9a-fA-F]{40}$/, 'expected an address') as unknown as z.ZodType<`0x${string}`>;
const bytes32 = z
  .string()
  .regex(/^0x[0-9a-fA-F]{64}$/, 'expected 32 bytes of hex') as unknown as z.ZodType<`0x${string}`>;
export const signature = z
  .string()
  .regex(/^0x[0-9a-fA-F]{130}$/, 'expected a 65-byte signature') as unknown as z.ZodType<`0x${string}`>;

const sub = { account: address, subaccount: int };
const ev = <T extends MarginEventType, S extends z.ZodRawShape>(type: T, shape: S) =>
  z.object({ type: z.literal(type), ...shape });

const marginEvent = z.discriminatedUnion('type', [
  ev('Deposited', { id: bytes32, token: address, amount: int, engineEid: u32, ...sub }),
  ev('CreditMoved', {
    id: bytes32,
    token: address,
    amount: int,
    fromEngineEid: u32,
    toEngineEid: u32,
    ...sub,
  }),
  ev('LockPending', { id: bytes32, engineEid: u32 }),
  ev('LockFlushed', { id: bytes32, engineEid: u32 }),
  ev('PaidOut', {
    id: bytes32,
    kind: small,
    token: address,
    amount: int,
    recipient: address,
    engineEid: u32,
    ...sub,
  }),
  ev('PayoutQueued', { id: bytes32, token: address, recipient: address, amount: int }),
  ev('Credited', { id: bytes32, srcEid: u32, token: address, amount: int, ...sub }),
  ev('CreditHeld', { id: bytes32, reason: small, ...sub }),
  ev('HeldCreditClaimed', { id: bytes32 }),
  ev('HeldCreditReturned', { id: bytes32, releaseId: bytes32 }),
  ev('Debited', {
    id: bytes32,
    kind: small,
    srcEid: u32,
    token: address,
    amount: int,
    recipient: address,
    dstEngineEid: u32,
    ...sub,
  }),
  ev('Liquidated', {
    liquidator: address,
    closeFraction: int,
    closedNotional: int,
    repaid: int,
    healthBefore: int,
    healthAfter: int,
    ...sub,
  }),
  ev('BadDebtSettled', { coveredByInsurance: int, writtenOff: int, ...sub }),
  ev('RiskAssetSet', { assetId: u32, oracle: address, weight: int, enabled: z.boolean(), depth: u32 }),
  ev('CollateralSourceSet', {
    srcEid: u32,
    token: address,
    assetId: u32,
    decimals: small,
    enabled: z.boolean(),
    staleGrace: u32,
    staleDecay: u32,
  }),
  ev('SourceHeard', { srcEid: u32, sentAt: blockNumber }),
  ev('MarketRiskSet', { marketId: u32, initialMargin: int, maintenanceMargin: int, enabled: z.boolean() }),
  ev('VenueSet', { venue: address }),
  ev('LiquidationConfigSet', { bonus: int, targetHealth: int, fullCloseHealth: int, dustNotional: int }),
  ev('MarketAdded', { marketId: u32, oracle: address, borrowRatePerSecond: int }),
  ev('MarketParamsSet', { marketId: u32, oracle: address, borrowRatePerSecond: int }),
  ev('BorrowAccrued', { marketId: u32, borrowIndex: int, timestamp: blockNumber }),
  ev('PositionChanged', {
    marketId: u32,
    sizeBefore: int,
    sizeAfter: int,
    entryPrice: int,
    settledAfter: int,
    liquidation: z.boolean(),
    ...sub,
  }),
  ev('SettledChanged', { delta: int, settledAfter: int, ...sub }),
  ev('AnswerUpdated', { feed: address, answer: int }),
  ev('AdapterResolved', { adapter: address, feed: address.nullable(), feedDecimals: small }),
  ev('FeedSeeded', { feed: address, answer: int }),
  ev('AdapterPriced', { adapter: address, price: int.nullable() }),
  ev('QuoteResolved', { venue: address, decimals: small }),
]);

const blockHead = { number: blockNumber, hash: bytes32, timestamp: blockNumber };

export const marginObservationSchema = z.object({
  version: z.literal(1),
  eid: u32,
  fromBlock: blockNumber,
  block: z.object(blockHead),
  blocks: z
    .array(z.object({ ...blockHead, events: z.array(marginEvent).max(MAX_BLOCK_EVENTS) }))
    .max(MAX_OBSERVATION_BLOCKS),
});

const observationSignature = z.object({ signer: address, signature });

/** One attestor's observation and its EVM signature over observationDigest (not the envelope's). */
export const observationPayload = z.object({
  observation: marginObservationSchema,
  signature: observationSignature,
});
export type ObservationPayload = z.output<typeof observationPayload>;

/**
 * Part `index` of `count` of a one-block observation too large for one envelope: the block's head
 * and a slice of its events. `signature` is over the digest of the whole observation, so a receiver
 * checks it once it holds every part.
 */
export const observationPartPayload = z.object({
  part: z
    .object({
      eid: u32,
      block: z.object(blockHead),
      index: z.number().int().min(0),
      count: z.number().int().min(2).max(MAX_OBSERVATION_PARTS),
      events: z.array(marginEvent).min(1).max(EVENTS_PER_PART),
    })
    .refine((p) => p.index < p.count, 'part index must be below the part count'),
  signature: observationSignature,
});
export type ObservationPartPayload = z.output<typeof observationPartPayload>;

/** What the `observation` topic carries: a whole observation or one part of a large one. */
export const observationMessage = z.union([observationPayload, observationPartPayload]);
export type ObservationMessage = z.output<typeof observationMessage>;

// The schema and the margin view's types must describe the same thing, both ways.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const eventsMatch: Same<z.output<typeof marginEvent>, MarginEvent> = true;
const observationsMatch: Same<z.output<typeof marginObservationSchema>, MarginObservation> = true;
void eventsMatch;
void observationsMatch;
