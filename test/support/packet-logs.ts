// Source-chain logs of LayerZero sends, built by hand for unit tests: a PacketSent with the send
// library's DVNFeePaid and ExecutorFeePaid before it, the way one `send` emits them.

import { solidityPacked, solidityPackedKeccak256, zeroPadValue } from 'ethers';
import { ENDPOINT, SEND_ULN } from '../../attestor/abi.ts';
import { encodeLzReceiveOption } from '../../attestor/options.ts';
import type { ChainLog } from '../../relayer/chain/rpc.ts';
import type { Address, Hex } from '../../relayer/config/types.ts';

export const SRC_EID = 40101;
export const DST_EID = 40102;
export const LZ_A = {
  endpointV2: '0x00000000000000000000000000000000000000e1' as Address,
  sendUln302: '0x00000000000000000000000000000000000000a1' as Address,
  dvn: '0x00000000000000000000000000000000000000d1' as Address,
  executor: '0x00000000000000000000000000000000000000c1' as Address,
};
const SENDER = zeroPadValue('0x1111111111111111111111111111111111111111', 32);
const RECEIVER = zeroPadValue('0x2222222222222222222222222222222222222222', 32);

export function packetGuid(nonce: bigint): Hex {
  return solidityPackedKeccak256(
    ['uint64', 'uint32', 'bytes32', 'uint32', 'bytes32'],
    [nonce, SRC_EID, SENDER, DST_EID, RECEIVER],
  ) as Hex;
}

function encodePacket(nonce: bigint, message: Hex): Hex {
  return solidityPacked(
    ['uint8', 'uint64', 'uint32', 'bytes32', 'uint32', 'bytes32', 'bytes32', 'bytes'],
    [1, nonce, SRC_EID, SENDER, DST_EID, RECEIVER, packetGuid(nonce), message],
  ) as Hex;
}

/** The three logs of one send of `nonce` A -> B paying our DVN and Executor, in block `block`. */
export function sendLogs(nonce: bigint, block: { number: number; hash: Hex }, firstLogIndex = 0): ChainLog[] {
  const tx = zeroPadValue(`0x${(0xf000 + Number(nonce)).toString(16)}`, 32) as Hex;
  const at = (
    address: Address,
    encoded: { data: string; topics: readonly string[] },
    i: number,
  ): ChainLog => ({
    address: address.toLowerCase() as Address,
    topics: [...encoded.topics] as Hex[],
    data: encoded.data as Hex,
    blockNumber: block.number,
    blockHash: block.hash,
    transactionHash: tx,
    transactionIndex: 0,
    logIndex: firstLogIndex + i,
  });
  return [
    at(LZ_A.sendUln302, SEND_ULN.encodeEventLog('ExecutorFeePaid', [LZ_A.executor, 5n]), 0),
    at(LZ_A.sendUln302, SEND_ULN.encodeEventLog('DVNFeePaid', [[LZ_A.dvn], [], [1n]]), 1),
    at(
      LZ_A.endpointV2,
      ENDPOINT.encodeEventLog('PacketSent', [
        encodePacket(nonce, '0x01abcd'),
        encodeLzReceiveOption(200_000n),
        LZ_A.sendUln302,
      ]),
      2,
    ),
  ];
}
