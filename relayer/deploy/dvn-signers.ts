// Removing a stolen (or retired) attestor key from the xmargin DVN on one chain. The DVN's signer set
// and quorum change only through the DVN's own multisig: `setSigner` / `setQuorum` are onlySelf, so
// they go through `DVN.execute`, signed by a quorum of the signers that stay; the key's ADMIN_ROLE
// (whoever submits `execute`) is revoked by an admin that stays, so the thief cannot revoke the
// honest admins in turn. Every step is checked on chain afterwards. The nodes' side of the same
// change is their networks file's `dvn.signers` / `dvn.quorum` (they read it at start).

import { id, type Wallet } from 'ethers';
import { DVN, TOPIC } from '../../attestor/abi.ts';
import { combineSignatures, dvnHash, signDvnHash } from '../../attestor/dvn.ts';
import { TxSender } from '../chain/tx.ts';
import type { Address, Hex } from '../config/types.ts';

/** keccak256("ADMIN_ROLE"), the DVN's (Worker's) admin role. */
export const DVN_ADMIN_ROLE = id('ADMIN_ROLE') as Hex;
/** How long the signed instructions stay valid (DVN.execute skips expired ones). */
const INSTRUCTION_TTL_S = 600;

export interface RemoveSignerOptions {
  /** The DVN contract. */
  dvn: Address;
  /** An admin of the DVN that stays (submits `execute` and the revoke), with a provider. */
  submitter: Wallet;
  /** Keys of signers that stay: at least the DVN's current quorum of them. */
  signers: readonly Wallet[];
  /** The key to remove. */
  remove: Address;
  /** The quorum to set after the removal (default: unchanged). */
  quorum?: number;
  /** Label in errors, e.g. the chain name. */
  label: string;
}

export interface RemoveSignerResult {
  signerSize: number;
  quorum: number;
  /** Whether the removed key still had ADMIN_ROLE (then it was revoked). */
  adminRevoked: boolean;
  txHashes: Hex[];
}

export async function removeDvnSigner(o: RemoveSignerOptions): Promise<RemoveSignerResult> {
  if (o.signers.some((w) => w.address.toLowerCase() === o.remove.toLowerCase())) {
    throw new Error(`${o.label}: the key being removed (${o.remove}) cannot sign its own removal`);
  }
  const provider = o.submitter.provider;
  if (provider === null) throw new Error(`${o.label}: the submitter has no provider`);
  const tx = new TxSender(o.submitter, { label: o.label });
  const read = async <T>(fn: string, args: unknown[] = []): Promise<T> =>
    DVN.decodeFunctionResult(
      fn,
      await provider.call({ to: o.dvn, data: DVN.encodeFunctionData(fn, args) }),
    )[0] as T;
  const vid = Number(await read<bigint>('vid'));
  const quorumBefore = Number(await read<bigint>('quorum'));
  const txHashes: Hex[] = [];

  if (await read<boolean>('isSigner', [o.remove])) {
    const latest = await provider.getBlock('latest');
    const expiration = BigInt((latest?.timestamp ?? Math.floor(Date.now() / 1000)) + INSTRUCTION_TTL_S);
    const calls: Hex[] = [DVN.encodeFunctionData('setSigner', [o.remove, false]) as Hex];
    if (o.quorum !== undefined && o.quorum !== quorumBefore) {
      calls.push(DVN.encodeFunctionData('setQuorum', [o.quorum]) as Hex);
    }
    const staying = o.signers.map((w) => w.address as Address);
    const params = await Promise.all(
      calls.map(async (callData) => {
        const hash = dvnHash(vid, o.dvn, expiration, callData);
        const sigs = await Promise.all(o.signers.map((w) => signDvnHash(w, hash)));
        // Signatures are checked against the quorum in force when each instruction runs: the
        // removal keeps it, so every instruction carries `quorumBefore` signatures.
        return [vid, o.dvn, callData, expiration, combineSignatures(hash, sigs, quorumBefore, staying)];
      }),
    );
    const sent = await tx.call('DVN.execute(setSigner)', o.dvn, DVN, 'execute', [params]);
    const [receipt] = await tx.flush();
    txHashes.push(sent.hash as Hex);
    // execute does not revert on a bad instruction: it emits an event and moves on.
    const failed = (receipt?.logs ?? []).filter(
      (l) => l.topics[0] === TOPIC.VerifySignaturesFailed || l.topics[0] === TOPIC.ExecuteFailed,
    );
    if (failed.length > 0) {
      const what = failed.map((l) =>
        l.topics[0] === TOPIC.ExecuteFailed ? 'ExecuteFailed' : 'VerifySignaturesFailed',
      );
      throw new Error(`${o.label}: DVN.execute ${sent.hash} refused the signer change (${what.join(', ')})`);
    }
  }

  const adminRevoked = await read<boolean>('hasRole', [DVN_ADMIN_ROLE, o.remove]);
  if (adminRevoked) {
    const sent = await tx.call('DVN.revokeRole(ADMIN_ROLE)', o.dvn, DVN, 'revokeRole', [
      DVN_ADMIN_ROLE,
      o.remove,
    ]);
    await tx.flush();
    txHashes.push(sent.hash as Hex);
  }

  const [still, admin, size, quorum] = await Promise.all([
    read<boolean>('isSigner', [o.remove]),
    read<boolean>('hasRole', [DVN_ADMIN_ROLE, o.remove]),
    read<bigint>('signerSize'),
    read<bigint>('quorum'),
  ]);
  if (still || admin) {
    throw new Error(`${o.label}: ${o.remove} is still a DVN ${still ? 'signer' : 'admin'} after the change`);
  }
  return { signerSize: Number(size), quorum: Number(quorum), adminRevoked, txHashes };
}
