// The payload of TOPICS.weightSignature: one attestor's EIP-712 signature of a WeightGovernor update
// (relayer/weights). It carries the whole update (domain included), so the validator recovers the
// signer from the payload alone and refuses, as a bad signature, one that is not the envelope's
// signer: an attestor cannot relay another's signature as its own, nor gossip one that would fail
// on chain. Bigints travel as decimal strings and come back as bigints.

import { z } from 'zod';
import type { Address } from '../config/types.ts';
import { recoverWeightSigner, type WeightUpdate } from '../weights/eip712.ts';
import { GossipValidationError } from './errors.ts';
import { address, signature } from './observation-payload.ts';

const uint = z
  .string()
  .regex(/^(0|[1-9][0-9]{0,77})$/, 'expected a decimal integer string')
  .transform((s) => BigInt(s));
export const weightSignaturePayload = z.object({
  /** Engine chain (LayerZero eid) the governor lives on. */
  eid: z.number().int().min(0).max(0xffff_ffff),
  chainId: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
  governor: address,
  assetId: z.number().int().min(0).max(0xffff),
  /** WAD, at most 1 (a weight is 1 − haircut). */
  weight: uint.refine((w) => w <= 10n ** 18n, 'weight above 1'),
  nonce: uint,
  deadline: uint,
  signature,
});
export type WeightSignaturePayload = z.output<typeof weightSignaturePayload>;

export const weightUpdateOf = (p: WeightSignaturePayload): WeightUpdate => ({
  chainId: p.chainId,
  governor: p.governor,
  assetId: p.assetId,
  weight: p.weight,
  nonce: p.nonce,
  deadline: p.deadline,
});

/** Throws BAD_SIGNATURE unless the payload's signature recovers to the envelope's `signer`. */
export function requireWeightSigner(p: WeightSignaturePayload, signer: Address): void {
  let recovered: Address;
  try {
    recovered = recoverWeightSigner(weightUpdateOf(p), p.signature);
  } catch (err) {
    throw new GossipValidationError('BAD_SIGNATURE', `weight signature does not recover: ${String(err)}`);
  }
  if (recovered.toLowerCase() !== signer.toLowerCase()) {
    throw new GossipValidationError(
      'BAD_SIGNATURE',
      `weight signature by ${recovered}, envelope by ${signer}`,
    );
  }
}
