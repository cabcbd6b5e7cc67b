// The payload schema of every topic, in one table keyed by TOPICS. Bigints travel as decimal strings
// (canonical JSON) and come back as bigints here, so a subscriber sees the same types the publisher
// passed in. Unknown fields are stripped rather than refused: a newer node may add fields.

import { z } from 'zod';
import { NODE_ROLES } from '../config/types.ts';
import { observationMessage } from './observation-payload.ts';
import type { TopicName } from './types.ts';
import { weightSignaturePayload } from './weight-payload.ts';

/** A uint256 as canonical JSON carries it (decimal string), parsed back to bigint. */
const uintString = z
  .string()
  .regex(/^(0|[1-9][0-9]{0,77})$/, 'expected a decimal integer string')
  .transform((s) => BigInt(s));
const bytes32 = z
  .string()
  .regex(/^0x[0-9a-fA-F]{64}$/, 'expected 32 bytes of hex') as z.ZodType<`0x${string}`>;

/** Liveness, identity binding and a summary of what the node follows. */
export const heartbeatPayload = z.object({
  /** Software version of the node, for operators and compatibility checks. */
  version: z.string().min(1).max(64),
  roles: z.array(z.enum(NODE_ROLES)).max(NODE_ROLES.length),
  chains: z
    .array(
      z.object({
        eid: z.number().int().min(0).max(0xffff_ffff),
        /** Latest block the node has seen on this chain. */
        head: uintString,
        /** Blocks between the head and the node's applied cursor. */
        lag: z.number().int().min(0),
      }),
    )
    .max(256),
  /** Guid of the last packet the node observed, if any. */
  lastPacketSeen: bytes32.optional(),
  /** Whether the node sends source-chain HEARTBEATs (node config `heartbeats`): the senders' ranking. */
  sendsSourceHeartbeats: z.boolean().optional(),
});
export type HeartbeatPayload = z.output<typeof heartbeatPayload>;

/** Until the attestor and coordinator define theirs: any JSON object. */
const jsonObject = z.record(z.string(), z.unknown());

export const TOPIC_PAYLOADS = {
  heartbeat: heartbeatPayload,
  dvnSignature: jsonObject,
  claim: jsonObject,
  observation: observationMessage,
  weightSignature: weightSignaturePayload,
} as const satisfies { readonly [T in TopicName]: z.ZodType };

/** What a subscriber of each topic receives. */
export type TopicPayload<T extends TopicName> = z.output<(typeof TOPIC_PAYLOADS)[T]>;
