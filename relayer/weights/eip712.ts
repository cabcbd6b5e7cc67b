// The WeightGovernor's signing format (contracts/risk/WeightGovernor.sol): an EIP-712 typed
// `WeightUpdate(uint16 assetId, uint64 weight, uint256 nonce, uint256 deadline)` under the domain
// ("xmargin WeightGovernor", "1", chainId, governor). `updateWeight` takes a quorum of these, one per
// attestor signer, strictly ascending by signer address. Every honest attestor signs the same
// (assetId, weight, nonce, deadline), so their signatures combine: see ./propose.ts for the weight and
// `deadlineFor` below for the deadline.

import { getAddress, TypedDataEncoder, verifyTypedData, type Wallet } from 'ethers';
import type { Address, Hex } from '../config/types.ts';

/** One update as the governor hashes it, plus where it applies (chain id and governor: the domain). */
export interface WeightUpdate {
  chainId: number;
  governor: Address;
  assetId: number;
  /** WAD. */
  weight: bigint;
  nonce: bigint;
  /** Unix seconds; the governor refuses the signatures after it. */
  deadline: bigint;
}

const TYPES = {
  WeightUpdate: [
    { name: 'assetId', type: 'uint16' },
    { name: 'weight', type: 'uint64' },
    { name: 'nonce', type: 'uint256' },
    { name: 'deadline', type: 'uint256' },
  ],
};

const domain = (u: WeightUpdate) => ({
  name: 'xmargin WeightGovernor',
  version: '1',
  chainId: u.chainId,
  verifyingContract: u.governor,
});
const message = (u: WeightUpdate) => ({
  assetId: u.assetId,
  weight: u.weight,
  nonce: u.nonce,
  deadline: u.deadline,
});

/** WeightGovernor.hashWeightUpdate, off chain: what the signers sign and what keys a quorum. */
export function weightDigest(u: WeightUpdate): Hex {
  return TypedDataEncoder.hash(domain(u), TYPES, message(u)) as Hex;
}

export async function signWeightUpdate(wallet: Wallet, u: WeightUpdate): Promise<Hex> {
  return (await wallet.signTypedData(domain(u), TYPES, message(u))) as Hex;
}

/** The signer of `signature` over `u` (throws on a signature that does not recover). */
export function recoverWeightSigner(u: WeightUpdate, signature: Hex): Address {
  return getAddress(verifyTypedData(domain(u), TYPES, message(u), signature)) as Address;
}

/**
 * The deadline every attestor signing in the same `epochSec` window picks: the end of the next
 * window. Derived from a shared clock and not from each node's own "now + validity", so the
 * signatures of one round are over the same digest; a node signing just after a window boundary
 * signs the next round's digest, and the round after gathers everyone again.
 */
export function deadlineFor(nowSec: number, epochSec: number): bigint {
  return BigInt((Math.floor(nowSec / epochSec) + 2) * epochSec);
}
