// EIP-191 (`personal_sign`) signatures and transaction signatures made by libsecp256k1 (./secp256k1.ts)
// instead of ethers' pure-JS curve arithmetic. Every gossip envelope and every margin observation a
// node publishes is signed, and under a burst (200 sub-accounts liquidatable at once: a claim each,
// plus the observations of the blocks that follow) ethers' signing was ~10 % of a node's CPU.
//
// The bytes are the same as ethers' Wallet.signMessage: both use RFC 6979 deterministic nonces and
// a low s, and the 65-byte form is r ‖ s ‖ v with v = 27 + recovery id (a unit test holds the two
// equal). Any local wallet (Wallet, HDNodeWallet) signs here; another signer (no private key in this
// process) signs through ethers.

import {
  BaseWallet,
  getBytes,
  hashMessage,
  hexlify,
  keccak256,
  Signature,
  type Signer,
  Transaction,
  type TransactionLike,
} from 'ethers';
import type { Hex } from '../config/types.ts';
import { signRecoverable } from './secp256k1.ts';

/** Private keys as bytes, per wallet, so a signature does not parse the hex key again. */
const keyBytes = new WeakMap<BaseWallet, Uint8Array>();

function keyOf(wallet: BaseWallet): Uint8Array {
  let key = keyBytes.get(wallet);
  if (key === undefined) {
    key = getBytes(wallet.privateKey);
    keyBytes.set(wallet, key);
  }
  return key;
}

/** The EIP-191 signature (0x r ‖ s ‖ v, 65 bytes) of `message` by `signer`. */
export async function personalSign(signer: Signer, message: Uint8Array): Promise<Hex> {
  if (!(signer instanceof BaseWallet)) return (await signer.signMessage(message)) as Hex;
  const { signature, recoveryId } = signRecoverable(getBytes(hashMessage(message)), keyOf(signer));
  const out = new Uint8Array(65);
  out.set(signature, 0);
  // Recovery ids 2 and 3 (r ≥ n) have probability ~2^-127; v carries only the parity, as in ethers.
  out[64] = 27 + (recoveryId & 1);
  return hexlify(out) as Hex;
}

/**
 * The signed, serialized transaction: the bytes ethers' Wallet.signTransaction gives for a fully
 * populated request (addresses, not names; nonce, gas and fees set), signed by libsecp256k1. The
 * liquidation sender signs every transaction of a burst here.
 */
export async function signTransaction(signer: Signer, request: TransactionLike<string>): Promise<string> {
  if (!(signer instanceof BaseWallet)) return signer.signTransaction(request);
  const tx = Transaction.from(request);
  // Hashed from bytes: for a liquidateBatch's ~20 KB of calldata, ethers' hex-to-bytes conversion
  // (which its unsignedHash does twice) costs more than the hash and the signature together.
  const digest = getBytes(keccak256(Buffer.from(tx.unsignedSerialized.slice(2), 'hex')));
  const { signature, recoveryId } = signRecoverable(digest, keyOf(signer));
  tx.signature = Signature.from({
    r: hexlify(signature.subarray(0, 32)),
    s: hexlify(signature.subarray(32, 64)),
    yParity: (recoveryId & 1) as 0 | 1,
  });
  return tx.serialized;
}
