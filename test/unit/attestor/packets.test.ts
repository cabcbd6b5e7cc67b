// PacketSent parsing from constructed logs: layout, guid check, fee-log pairing within a transaction.

import { concat, getAddress, keccak256, solidityPacked, solidityPackedKeccak256, zeroPadValue } from 'ethers';
import { describe, expect, it } from 'vitest';
import { ENDPOINT, SEND_ULN } from '../../../attestor/abi.ts';
import { decodePacket, PacketDecodeError, parsePacketJobs } from '../../../attestor/packets.ts';
import type { ChainLog } from '../../../relayer/chain/rpc.ts';
import type { Address, Hex } from '../../../relayer/config/types.ts';

const ENDPOINT_ADDR = '0x00000000000000000000000000000000000000e1' as Address;
const SEND_LIB = '0x00000000000000000000000000000000000000a1' as Address;
const OTHER_LIB = '0x00000000000000000000000000000000000000a2' as Address;
const OUR_DVN = '0x00000000000000000000000000000000000000d1' as Address;
const OTHER_DVN = '0x00000000000000000000000000000000000000d2' as Address;
const OUR_EXEC = '0x00000000000000000000000000000000000000c1' as Address;
const SENDER = '0x1111111111111111111111111111111111111111';
const RECEIVER = '0x2222222222222222222222222222222222222222';

function encodePacket(nonce: bigint, message: Hex, guidOverride?: Hex): Hex {
  const sender = zeroPadValue(SENDER, 32);
  const receiver = zeroPadValue(RECEIVER, 32);
  const guid =
    guidOverride ??
    solidityPackedKeccak256(
      ['uint64', 'uint32', 'bytes32', 'uint32', 'bytes32'],
      [nonce, 40101, sender, 40102, receiver],
    );
  return solidityPacked(
    ['uint8', 'uint64', 'uint32', 'bytes32', 'uint32', 'bytes32', 'bytes32', 'bytes'],
    [1, nonce, 40101, sender, 40102, receiver, guid, message],
  ) as Hex;
}

let logIndex = 0;
function log(address: Address, encoded: { data: string; topics: string[] }, tx = '0xaa'): ChainLog {
  return {
    address: address.toLowerCase() as Address,
    topics: encoded.topics as Hex[],
    data: encoded.data as Hex,
    blockNumber: 7,
    blockHash: `0x${'bb'.repeat(32)}`,
    transactionHash: zeroPadValue(tx, 32) as Hex,
    transactionIndex: 0,
    logIndex: logIndex++,
  };
}
const execFee = (executor: Address, lib = SEND_LIB, tx?: string) =>
  log(lib, SEND_ULN.encodeEventLog('ExecutorFeePaid', [executor, 5n]), tx);
const dvnFee = (required: Address[], optional: Address[] = [], lib = SEND_LIB, tx?: string) =>
  log(
    lib,
    SEND_ULN.encodeEventLog('DVNFeePaid', [required, optional, [...required, ...optional].map(() => 1n)]),
    tx,
  );
const packetSent = (nonce: bigint, lib = SEND_LIB, tx?: string, message: Hex = '0x01abcd') =>
  log(
    ENDPOINT_ADDR,
    ENDPOINT.encodeEventLog('PacketSent', [encodePacket(nonce, message), '0x0003', lib]),
    tx,
  );

const contracts = { endpointV2: ENDPOINT_ADDR, dvn: OUR_DVN, executor: OUR_EXEC };

describe('decodePacket', () => {
  it('splits header and payload and hashes guid‖message', () => {
    const p = decodePacket(encodePacket(9n, '0xdeadbeef'));
    expect(p.nonce).toBe(9n);
    expect(p.srcEid).toBe(40101);
    expect(p.dstEid).toBe(40102);
    expect(p.sender).toBe(zeroPadValue(SENDER, 32));
    expect(p.receiver).toBe(getAddress(RECEIVER));
    expect((p.header.length - 2) / 2).toBe(81);
    expect(p.message).toBe('0xdeadbeef');
    expect(p.payload).toBe(concat([p.guid, '0xdeadbeef']));
    expect(p.payloadHash).toBe(keccak256(p.payload));
  });

  it('rejects a guid that does not match the header, a bad version and a short packet', () => {
    expect(() => decodePacket(encodePacket(1n, '0x', `0x${'11'.repeat(32)}`))).toThrow(PacketDecodeError);
    const bad = `0x02${encodePacket(1n, '0x').slice(4)}` as Hex;
    expect(() => decodePacket(bad)).toThrow(/version/);
    expect(() => decodePacket('0x01')).toThrow(/short/);
  });
});

describe('parsePacketJobs', () => {
  it('pairs a PacketSent with the fee logs before it and sees our DVN and executor', () => {
    const { jobs, errors } = parsePacketJobs(
      [execFee(OUR_EXEC), dvnFee([OTHER_DVN], [OUR_DVN]), packetSent(1n)],
      contracts,
    );
    expect(errors).toEqual([]);
    expect(jobs).toHaveLength(1);
    const job = jobs[0];
    expect(job?.dvnAssigned).toBe(true);
    expect(job?.executorAssigned).toBe(true);
    expect(job?.requiredDVNs).toEqual([getAddress(OTHER_DVN)]);
    expect(job?.optionalDVNs).toEqual([getAddress(OUR_DVN)]);
    expect(job?.packet.nonce).toBe(1n);
  });

  it('does not let a second send in the same transaction reuse the first one’s fee logs', () => {
    const { jobs } = parsePacketJobs(
      [execFee(OUR_EXEC), dvnFee([OUR_DVN]), packetSent(1n), dvnFee([OTHER_DVN]), packetSent(2n)],
      contracts,
    );
    expect(jobs.map((j) => [j.packet.nonce, j.dvnAssigned, j.executorAssigned])).toEqual([
      [1n, true, true],
      [2n, false, false],
    ]);
  });

  it('ignores fee logs of another library and of another transaction', () => {
    const { jobs } = parsePacketJobs(
      [dvnFee([OUR_DVN], [], OTHER_LIB), dvnFee([OUR_DVN], [], SEND_LIB, '0xbb'), packetSent(1n)],
      contracts,
    );
    expect(jobs[0]?.dvnAssigned).toBe(false);
  });

  it('ignores a PacketSent from a contract that is not the endpoint and reports undecodable packets', () => {
    const fake = { ...packetSent(1n), address: OTHER_LIB };
    const broken = log(
      ENDPOINT_ADDR,
      ENDPOINT.encodeEventLog('PacketSent', [
        encodePacket(3n, '0x', `0x${'11'.repeat(32)}`),
        '0x0003',
        SEND_LIB,
      ]),
    );
    const { jobs, errors } = parsePacketJobs([fake, broken], contracts);
    expect(jobs).toEqual([]);
    expect(errors).toHaveLength(1);
    expect(errors[0]?.error).toBeInstanceOf(PacketDecodeError);
  });
});
