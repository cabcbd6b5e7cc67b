// The DVN multisig's signing format (lz-evm-messagelib-v2 uln/dvn/DVN.sol + MultiSig.sol):
//   callData  = ReceiveUln302.verify(header, payloadHash, confirmations)
//   hash      = keccak256(abi.encodePacked(uint32 vid, address target, uint256 expiration, bytes callData))
//   signature = EIP-191 personal signature of the 32-byte hash, 65 bytes r‖s‖v
//   execute   = exactly `quorum` signatures concatenated, strictly ascending by signer address.
// All attestors must sign the *same* hash, so every input is derived deterministically from the
// packet and on-chain config (expiration from the source block's timestamp, not the wall clock).

import {
  type BytesLike,
  concat,
  getAddress,
  getBytes,
  hexlify,
  solidityPackedKeccak256,
  verifyMessage,
  type Wallet,
} from 'ethers';
import type { Address, Hex } from '../relayer/config/types.ts';
import { personalSign } from '../relayer/keys/personal-sign.ts';
import { DVN, RECEIVE_ULN } from './abi.ts';

/** How long a verification signature stays valid after the source block: 3 days. */
export const EXPIRATION_WINDOW_S = 3 * 24 * 3600;

export interface ExecuteParam {
  vid: number;
  target: Address;
  callData: Hex;
  expiration: bigint;
  signatures: Hex;
}

export function verifyCallData(header: Hex, payloadHash: Hex, confirmations: bigint): Hex {
  return RECEIVE_ULN.encodeFunctionData('verify', [header, payloadHash, confirmations]) as Hex;
}

export function commitCallData(header: Hex, payloadHash: Hex): Hex {
  return RECEIVE_ULN.encodeFunctionData('commitVerification', [header, payloadHash]) as Hex;
}

/** Same for every attestor: depends only on the source block holding the PacketSent. */
export function expirationFor(sourceBlockTimestamp: number): bigint {
  return BigInt(sourceBlockTimestamp + EXPIRATION_WINDOW_S);
}

/** DVN.hashCallData, off chain. Note the order: expiration before callData. */
export function dvnHash(vid: number, target: Address, expiration: bigint, callData: Hex): Hex {
  return solidityPackedKeccak256(
    ['uint32', 'address', 'uint256', 'bytes'],
    [vid, target, expiration, callData],
  ) as Hex;
}

export async function signDvnHash(wallet: Wallet, hash: Hex): Promise<Hex> {
  return personalSign(wallet, getBytes(hash));
}

export function recoverDvnSigner(hash: Hex, signature: BytesLike): Address {
  return getAddress(verifyMessage(getBytes(hash), hexlify(signature))) as Address;
}

export class QuorumError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'QuorumError';
  }
}

/**
 * Picks exactly `quorum` signatures by distinct signers of `signers`, ordered strictly ascending by
 * the address `recover` finds for each (the order MultiSig.verifySignatures and the WeightGovernor
 * both require). A signature that does not recover to a listed signer is dropped, never passed on.
 */
export function pickQuorum(
  signatures: readonly Hex[],
  quorum: number,
  signers: readonly Address[],
  recover: (signature: Hex) => Address,
): Hex[] {
  const allowed = new Set(signers.map((s) => s.toLowerCase()));
  const bySigner = new Map<bigint, Hex>();
  for (const sig of signatures) {
    let signer: Address;
    try {
      signer = recover(sig);
    } catch {
      continue;
    }
    if (allowed.has(signer.toLowerCase())) bySigner.set(BigInt(signer), sig);
  }
  if (bySigner.size < quorum) {
    throw new QuorumError(`${bySigner.size} valid signatures, quorum is ${quorum}`);
  }
  return [...bySigner]
    .sort((a, b) => (a[0] < b[0] ? -1 : 1))
    .slice(0, quorum)
    .map(([, sig]) => sig);
}

/** The DVN's `signatures` argument: a quorum of signatures of `hash`, concatenated (see pickQuorum). */
export function combineSignatures(
  hash: Hex,
  signatures: readonly Hex[],
  quorum: number,
  signers: readonly Address[],
): Hex {
  return concat(pickQuorum(signatures, quorum, signers, (sig) => recoverDvnSigner(hash, sig))) as Hex;
}

export function executeCallData(params: readonly ExecuteParam[]): Hex {
  return DVN.encodeFunctionData('execute', [
    params.map((p) => [p.vid, p.target, p.callData, p.expiration, p.signatures]),
  ]) as Hex;
}
