// What an attacker forges in the fault suite: a LOCK from vault A crediting itself on engine B that
// was never sent on A, its DVN verification signed with whatever keys it holds and submitted by
// whoever it can, and the on-chain checks that nothing came of it.

import { AbiCoder, Contract, concat, keccak256, solidityPacked, type Wallet, zeroPadValue } from 'ethers';
import { DVN, RECEIVE_ULN, TOPIC } from '../../attestor/abi.ts';
import { dvnHash, expirationFor, signDvnHash, verifyCallData } from '../../attestor/dvn.ts';
import type { Address, ChainConfig, Hex } from '../../relayer/config/types.ts';
import { encodeMessage, MSG_TYPE } from '../../relayer/protocol/index.ts';
import { type Net, tokenOf } from './harness.ts';

export interface ForgedPacket {
  nonce: bigint;
  guid: Hex;
  header: Hex;
  message: Hex;
  payloadHash: Hex;
}

/** The packet header and guid of vault A -> engine B at `nonce` (LayerZero PacketV1Codec). */
export function packetRoute(A: ChainConfig, B: ChainConfig, nonce: bigint): { guid: Hex; header: Hex } {
  const sender = zeroPadValue(A.xmargin.vault, 32);
  const receiver = zeroPadValue(B.xmargin.engine as string, 32);
  const route = [nonce, A.eid, sender, B.eid, receiver];
  const guid = keccak256(solidityPacked(['uint64', 'uint32', 'bytes32', 'uint32', 'bytes32'], route)) as Hex;
  const header = solidityPacked(
    ['uint8', 'uint64', 'uint32', 'bytes32', 'uint32', 'bytes32'],
    [1, ...route],
  ) as Hex;
  return { guid, header };
}

/** A LOCK of `amount` WETH of A for `account` on engine B, as vault A would send it at `nonce`. */
export function forgedLock(
  A: ChainConfig,
  B: ChainConfig,
  nonce: bigint,
  account: Address,
  amount: bigint,
): ForgedPacket {
  const { guid, header } = packetRoute(A, B, nonce);
  const sender = zeroPadValue(A.xmargin.vault, 32);
  const message = encodeMessage({
    type: MSG_TYPE.LOCK,
    body: {
      id: keccak256(
        AbiCoder.defaultAbiCoder().encode(['uint32', 'bytes32', 'uint64'], [A.eid, sender, nonce]),
      ) as Hex,
      account,
      subaccount: 0n,
      token: tokenOf(A, 'WETH'),
      amount,
    },
  });
  return { nonce, guid, header, message, payloadHash: keccak256(concat([guid, message])) as Hex };
}

/** The DVN hash B's attestors sign to verify `packet` (1 confirmation, expiring 3 days after `at`). */
export async function verifyHash(
  net: Net,
  B: ChainConfig,
  packet: Pick<ForgedPacket, 'header' | 'payloadHash'>,
  atSeconds: number,
): Promise<{ vid: number; expiration: bigint; callData: Hex; hash: Hex }> {
  const vid = Number(await new Contract(B.layerZero.dvn, DVN, net.rpc(B)).getFunction('vid')());
  const expiration = expirationFor(atSeconds);
  const callData = verifyCallData(packet.header, packet.payloadHash, 1n);
  return { vid, expiration, callData, hash: dvnHash(vid, B.layerZero.receiveUln302, expiration, callData) };
}

/**
 * Submits DVN.execute on B verifying `packet` with `signatures` (made by `signers` unless given), from
 * `submitter`. Returns what the DVN did: refused (VerifySignaturesFailed), verified (PayloadVerified),
 * reverted (the transaction itself, e.g. a submitter without ADMIN_ROLE) or other.
 */
export async function submitForged(
  net: Net,
  B: ChainConfig,
  submitter: Wallet,
  packet: ForgedPacket,
  signatures: (hash: Hex) => Promise<Hex>,
): Promise<'refused' | 'verified' | 'reverted' | 'other'> {
  const latest = await net.rpc(B).getBlock('latest');
  const v = await verifyHash(net, B, packet, latest?.timestamp ?? Math.floor(Date.now() / 1000));
  const dvn = new Contract(B.layerZero.dvn, DVN, submitter.connect(net.rpc(B)));
  let receipt: { logs: readonly { topics: readonly string[] }[] } | null;
  try {
    const tx = await dvn.getFunction('execute')([
      [v.vid, B.layerZero.receiveUln302, v.callData, v.expiration, await signatures(v.hash)],
    ]);
    receipt = await tx.wait();
  } catch {
    return 'reverted';
  }
  const has = (topic: string) => receipt?.logs.some((l) => l.topics[0] === topic) === true;
  if (has(TOPIC.PayloadVerified)) return 'verified';
  return has(TOPIC.VerifySignaturesFailed) ? 'refused' : 'other';
}

/** One key's signature of a DVN hash. */
export const signedBy =
  (wallet: Wallet) =>
  (hash: Hex): Promise<Hex> =>
    signDvnHash(wallet, hash);

/** Whether B's ReceiveUln302 holds a verification of (header, payloadHash) by xmargin's DVN. */
export async function verifiedOnB(net: Net, B: ChainConfig, header: Hex, payloadHash: Hex): Promise<boolean> {
  const uln = new Contract(B.layerZero.receiveUln302, RECEIVE_ULN, net.rpc(B));
  const [submitted] = (await uln.getFunction('hashLookup')(
    keccak256(header),
    payloadHash,
    B.layerZero.dvn,
  )) as [boolean, bigint];
  return submitted;
}

/** Engine B's WETH-of-A credit of `account` (subaccount 0). */
export async function wethCreditOnB(
  net: Net,
  A: ChainConfig,
  B: ChainConfig,
  account: Address,
): Promise<bigint> {
  const engine = new Contract(
    B.xmargin.engine as string,
    ['function creditOf(address,uint96,uint32,address) view returns (uint256)'],
    net.rpc(B),
  );
  return (await engine.getFunction('creditOf')(account, 0n, A.eid, tokenOf(A, 'WETH'))) as bigint;
}
