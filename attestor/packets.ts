// Turns a source chain's logs into jobs for the xmargin DVN and Executor.
//
// One `send` emits, in this order and from these contracts: ExecutorFeePaid (send library),
// DVNFeePaid (send library), PacketSent (endpoint). A transaction may hold several sends, so the
// fee logs that belong to a PacketSent are the nearest ones *before* it in the same transaction,
// emitted by the library PacketSent names, and after the previous PacketSent of that transaction.

import { dataSlice, getAddress, getBytes, hexlify, keccak256, solidityPackedKeccak256 } from 'ethers';
import type { ChainLog } from '../relayer/chain/rpc.ts';
import type { Address, Hex } from '../relayer/config/types.ts';
import { ENDPOINT, SEND_ULN, TOPIC } from './abi.ts';

/** A decoded PacketV1 (lz-evm-protocol-v2 PacketV1Codec). */
export interface Packet {
  nonce: bigint;
  srcEid: number;
  /** bytes32, left-padded address. */
  sender: Hex;
  dstEid: number;
  /** The receiver as an address (bytes32 on the wire). */
  receiver: Address;
  guid: Hex;
  message: Hex;
  /** bytes[0..81): what ReceiveUln302.verify takes. */
  header: Hex;
  /** guid ‖ message. */
  payload: Hex;
  payloadHash: Hex;
}

/** A PacketSent with its job assignment, as found in a block. */
export interface PacketJob {
  packet: Packet;
  options: Hex;
  sendLibrary: Address;
  requiredDVNs: Address[];
  optionalDVNs: Address[];
  executor: Address | undefined;
  /** Whether our DVN / Executor (source-chain addresses) is among those paid for this packet. */
  dvnAssigned: boolean;
  executorAssigned: boolean;
  blockNumber: number;
  blockHash: Hex;
  transactionHash: Hex;
  logIndex: number;
}

export const HEADER_LENGTH = 81;
const PACKET_VERSION = 1;

export class PacketDecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PacketDecodeError';
  }
}

/** Decodes PacketSent.encodedPayload and checks the guid, so a malformed packet never gets signed. */
export function decodePacket(encoded: Hex): Packet {
  const bytes = getBytes(encoded);
  if (bytes.length < HEADER_LENGTH + 32)
    throw new PacketDecodeError(`packet too short: ${bytes.length} bytes`);
  if (bytes[0] !== PACKET_VERSION) throw new PacketDecodeError(`unknown packet version ${bytes[0]}`);
  const nonce = BigInt(dataSlice(bytes, 1, 9));
  const srcEid = Number(dataSlice(bytes, 9, 13));
  const sender = dataSlice(bytes, 13, 45) as Hex;
  const dstEid = Number(dataSlice(bytes, 45, 49));
  const receiver32 = dataSlice(bytes, 49, 81);
  const guid = dataSlice(bytes, 81, 113) as Hex;
  const expectedGuid = solidityPackedKeccak256(
    ['uint64', 'uint32', 'bytes32', 'uint32', 'bytes32'],
    [nonce, srcEid, sender, dstEid, receiver32],
  );
  if (guid !== expectedGuid) throw new PacketDecodeError(`guid ${guid} does not match the header`);
  const payload = hexlify(bytes.subarray(HEADER_LENGTH)) as Hex;
  return {
    nonce,
    srcEid,
    sender,
    dstEid,
    receiver: getAddress(dataSlice(receiver32, 12)) as Address,
    guid,
    message: hexlify(bytes.subarray(HEADER_LENGTH + 32)) as Hex,
    header: hexlify(bytes.subarray(0, HEADER_LENGTH)) as Hex,
    payload,
    payloadHash: keccak256(payload) as Hex,
  };
}

/** Source-chain addresses the parser trusts and looks for. */
export interface SourceContracts {
  endpointV2: Address;
  dvn: Address;
  executor: Address;
}

const same = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();

/**
 * Finds every PacketSent of `contracts.endpointV2` in `logs` (one block's or one receipt's) and
 * attaches the fee logs of its send library. Packets that fail to decode are reported in `errors`
 * rather than thrown, so one bad packet does not hide the others.
 */
export function parsePacketJobs(
  logs: readonly ChainLog[],
  contracts: SourceContracts,
): { jobs: PacketJob[]; errors: { log: ChainLog; error: Error }[] } {
  const jobs: PacketJob[] = [];
  const errors: { log: ChainLog; error: Error }[] = [];
  const byTx = new Map<string, ChainLog[]>();
  for (const log of logs) byTx.set(log.transactionHash, [...(byTx.get(log.transactionHash) ?? []), log]);
  for (const txLogs of byTx.values()) {
    txLogs.sort((a, b) => a.logIndex - b.logIndex);
    let windowStart = 0; // fee logs after the previous PacketSent only
    txLogs.forEach((log, i) => {
      if (log.topics[0] !== TOPIC.PacketSent || !same(log.address, contracts.endpointV2)) return;
      const window = txLogs.slice(windowStart, i);
      windowStart = i + 1;
      try {
        jobs.push(toJob(log, window, contracts));
      } catch (error) {
        errors.push({ log, error: error instanceof Error ? error : new Error(String(error)) });
      }
    });
  }
  return { jobs, errors };
}

function toJob(log: ChainLog, before: ChainLog[], contracts: SourceContracts): PacketJob {
  const sent = ENDPOINT.decodeEventLog('PacketSent', log.data, log.topics);
  const sendLibrary = getAddress(sent.sendLibrary as string) as Address;
  const fromLib = before.filter((l) => same(l.address, sendLibrary));
  const dvnLog = fromLib.findLast((l) => l.topics[0] === TOPIC.DVNFeePaid);
  const execLog = fromLib.findLast((l) => l.topics[0] === TOPIC.ExecutorFeePaid);
  const dvnFee =
    dvnLog === undefined ? undefined : SEND_ULN.decodeEventLog('DVNFeePaid', dvnLog.data, dvnLog.topics);
  const execFee =
    execLog === undefined
      ? undefined
      : SEND_ULN.decodeEventLog('ExecutorFeePaid', execLog.data, execLog.topics);
  const requiredDVNs = ((dvnFee?.requiredDVNs as string[] | undefined) ?? []).map(
    (a) => getAddress(a) as Address,
  );
  const optionalDVNs = ((dvnFee?.optionalDVNs as string[] | undefined) ?? []).map(
    (a) => getAddress(a) as Address,
  );
  const executor = execFee === undefined ? undefined : (getAddress(execFee.executor as string) as Address);
  return {
    packet: decodePacket(sent.encodedPayload as Hex),
    options: sent.options as Hex,
    sendLibrary,
    requiredDVNs,
    optionalDVNs,
    executor,
    dvnAssigned: [...requiredDVNs, ...optionalDVNs].some((a) => same(a, contracts.dvn)),
    executorAssigned: executor !== undefined && same(executor, contracts.executor),
    blockNumber: log.blockNumber,
    blockHash: log.blockHash,
    transactionHash: log.transactionHash,
    logIndex: log.logIndex,
  };
}
