// Typed reads and writes of the LayerZero contracts on one chain, over the chain's ChainRpc. The
// attestor and the executor ask questions ("has this packet landed?") rather than encode calls.

import { getAddress, keccak256, type TransactionReceipt, type Wallet } from 'ethers';
import type { ChainRpc } from '../relayer/chain/rpc.ts';
import type { Address, ChainConfig, Hex } from '../relayer/config/types.ts';
import { DVN, ENDPOINT, RECEIVE_ULN, RECEIVE_ULN_VIEW, TOPIC } from './abi.ts';
import { commitCallData, type ExecuteParam, executeCallData } from './dvn.ts';

export interface UlnConfig {
  confirmations: bigint;
  requiredDVNs: Address[];
  optionalDVNs: Address[];
  optionalDVNThreshold: number;
  requiredDVNCount: number;
  optionalDVNCount: number;
}

/** Where a packet stands on its destination, as far as verification goes. */
export const DEST_STATE = { pending: 'pending', verifiedByUs: 'verified', committed: 'committed' } as const;
export type DestState = (typeof DEST_STATE)[keyof typeof DEST_STATE];

export interface PacketRef {
  srcEid: number;
  sender: Hex;
  nonce: bigint;
  receiver: Address;
  header: Hex;
  payloadHash: Hex;
}

export type ExecuteOutcome =
  | { ok: true; txHash: Hex }
  | {
      ok: false;
      txHash: Hex;
      reason: 'VerifySignaturesFailed' | 'ExecuteFailed' | 'NoEffect';
      detail?: string;
    };

const same = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();

export class LzChain {
  readonly config: ChainConfig;
  readonly rpc: ChainRpc;
  private vidCache: number | undefined;

  constructor(config: ChainConfig, rpc: ChainRpc) {
    this.config = config;
    this.rpc = rpc;
  }

  private get lz() {
    return this.config.layerZero;
  }

  async vid(): Promise<number> {
    if (this.vidCache === undefined) {
      const out = await this.rpc.call({ to: this.lz.dvn, data: DVN.encodeFunctionData('vid', []) as Hex });
      this.vidCache = Number(DVN.decodeFunctionResult('vid', out)[0]);
    }
    return this.vidCache;
  }

  /** The receive-side ULN config of `receiver` for packets from `srcEid` (defaults merged). */
  async ulnConfig(receiver: Address, srcEid: number): Promise<UlnConfig> {
    const data = RECEIVE_ULN.encodeFunctionData('getUlnConfig', [receiver, srcEid]) as Hex;
    const [c] = RECEIVE_ULN.decodeFunctionResult(
      'getUlnConfig',
      await this.rpc.call({ to: this.lz.receiveUln302, data }),
    );
    return {
      confirmations: c.confirmations as bigint,
      requiredDVNCount: Number(c.requiredDVNCount),
      optionalDVNCount: Number(c.optionalDVNCount),
      optionalDVNThreshold: Number(c.optionalDVNThreshold),
      requiredDVNs: (c.requiredDVNs as string[]).map((a) => getAddress(a) as Address),
      optionalDVNs: (c.optionalDVNs as string[]).map((a) => getAddress(a) as Address),
    };
  }

  /** Whether our DVN on this chain is one of the verifiers the config asks for. */
  listsOurDvn(config: UlnConfig): boolean {
    return [...config.requiredDVNs, ...config.optionalDVNs].some((a) => same(a, this.lz.dvn));
  }

  /** Committed (or already delivered) / verified by our DVN but not committed / nothing yet. */
  async state(p: PacketRef): Promise<DestState> {
    if (await this.committed(p)) return DEST_STATE.committed;
    const data = RECEIVE_ULN.encodeFunctionData('hashLookup', [
      keccak256(p.header),
      p.payloadHash,
      this.lz.dvn,
    ]) as Hex;
    const [submitted] = RECEIVE_ULN.decodeFunctionResult(
      'hashLookup',
      await this.rpc.call({ to: this.lz.receiveUln302, data }),
    );
    return submitted === true ? DEST_STATE.verifiedByUs : DEST_STATE.pending;
  }

  /** The endpoint holds the payload hash, or has already delivered that nonce. */
  async committed(p: PacketRef): Promise<boolean> {
    const args = [p.receiver, p.srcEid, p.sender];
    const hashData = ENDPOINT.encodeFunctionData('inboundPayloadHash', [...args, p.nonce]) as Hex;
    const stored = ENDPOINT.decodeFunctionResult(
      'inboundPayloadHash',
      await this.rpc.call({ to: this.lz.endpointV2, data: hashData }),
    )[0] as string;
    if (same(stored, p.payloadHash)) return true;
    return (await this.lazyInboundNonce(p)) >= p.nonce;
  }

  /** The endpoint still holds this nonce's payload hash: verified and not yet delivered. */
  async holdsPayload(p: {
    receiver: Address;
    srcEid: number;
    sender: Hex;
    nonce: bigint;
    payloadHash: Hex;
  }): Promise<boolean> {
    const data = ENDPOINT.encodeFunctionData('inboundPayloadHash', [
      p.receiver,
      p.srcEid,
      p.sender,
      p.nonce,
    ]) as Hex;
    const stored = ENDPOINT.decodeFunctionResult(
      'inboundPayloadHash',
      await this.rpc.call({ to: this.lz.endpointV2, data }),
    )[0] as string;
    return same(stored, p.payloadHash);
  }

  async lazyInboundNonce(p: { receiver: Address; srcEid: number; sender: Hex }): Promise<bigint> {
    const data = ENDPOINT.encodeFunctionData('lazyInboundNonce', [p.receiver, p.srcEid, p.sender]) as Hex;
    return ENDPOINT.decodeFunctionResult(
      'lazyInboundNonce',
      await this.rpc.call({ to: this.lz.endpointV2, data }),
    )[0] as bigint;
  }

  /** Whether commitVerification would pass now (all required DVNs + the optional threshold). */
  async verifiable(p: PacketRef): Promise<boolean> {
    if (this.lz.receiveUln302View !== undefined) {
      const data = RECEIVE_ULN_VIEW.encodeFunctionData('verifiable', [p.header, p.payloadHash]) as Hex;
      const out = await this.rpc.call({ to: this.lz.receiveUln302View, data });
      return Number(RECEIVE_ULN_VIEW.decodeFunctionResult('verifiable', out)[0]) === 1;
    }
    const c = await this.ulnConfig(p.receiver, p.srcEid);
    const data = RECEIVE_ULN.encodeFunctionData('verifiable', [
      [
        c.confirmations,
        c.requiredDVNCount,
        c.optionalDVNCount,
        c.optionalDVNThreshold,
        c.requiredDVNs,
        c.optionalDVNs,
      ],
      keccak256(p.header),
      p.payloadHash,
    ]) as Hex;
    const out = await this.rpc.call({ to: this.lz.receiveUln302, data });
    return RECEIVE_ULN.decodeFunctionResult('verifiable', out)[0] === true;
  }

  /**
   * DVN.execute. It never reverts for a bad entry, so the outcome is read from the logs:
   * PayloadVerified from the ULN = success; VerifySignaturesFailed / ExecuteFailed = failure.
   */
  async execute(wallet: Wallet, params: ExecuteParam[]): Promise<ExecuteOutcome> {
    const receipt = await this.rpc.sendTransaction(wallet, {
      to: this.lz.dvn,
      data: executeCallData(params),
    });
    const txHash = receipt.hash as Hex;
    const logs = receipt.logs;
    const dvnLog = (name: string) => logs.find((l) => same(l.address, this.lz.dvn) && l.topics[0] === name);
    const failedSigs = dvnLog(TOPIC.VerifySignaturesFailed);
    if (failedSigs !== undefined) return { ok: false, txHash, reason: 'VerifySignaturesFailed' };
    const failedExec = dvnLog(TOPIC.ExecuteFailed);
    if (failedExec !== undefined) {
      const decoded = DVN.decodeEventLog('ExecuteFailed', failedExec.data, failedExec.topics);
      return { ok: false, txHash, reason: 'ExecuteFailed', detail: String(decoded._data) };
    }
    const verified = logs.some(
      (l) => same(l.address, this.lz.receiveUln302) && l.topics[0] === TOPIC.PayloadVerified,
    );
    // Neither: a wrong vid or an expired entry, which DVN.execute skips silently.
    return verified ? { ok: true, txHash } : { ok: false, txHash, reason: 'NoEffect' };
  }

  async commit(wallet: Wallet, p: PacketRef, gasLimit?: bigint): Promise<TransactionReceipt> {
    return this.rpc.sendTransaction(wallet, {
      to: this.lz.receiveUln302,
      data: commitCallData(p.header, p.payloadHash),
      ...(gasLimit === undefined ? {} : { gasLimit }),
    });
  }

  /** ABI for EndpointV2.lzReceive (the executor simulates it with eth_call, then sends it). */
  lzReceiveData(p: {
    srcEid: number;
    sender: Hex;
    nonce: bigint;
    receiver: Address;
    guid: Hex;
    message: Hex;
  }): Hex {
    return ENDPOINT.encodeFunctionData('lzReceive', [
      [p.srcEid, p.sender, p.nonce],
      p.receiver,
      p.guid,
      p.message,
      '0x',
    ]) as Hex;
  }

  hasPacketDelivered(receipt: TransactionReceipt): boolean {
    return receipt.logs.some(
      (l) => same(l.address, this.lz.endpointV2) && l.topics[0] === TOPIC.PacketDelivered,
    );
  }
}
