// LzChain stand-ins for unit tests of the attestor and executor: a source chain whose agreed logs a
// test scripts (answer, transient failure, disagreement), and a destination whose receive config
// lists our DVN. Only what the attestor's queue-and-sign path and the executor's intake touch.

import type { LzChain } from '../../attestor/lz.ts';
import type { ChainLog, LogFilter } from '../../relayer/chain/rpc.ts';
import type { Address } from '../../relayer/config/types.ts';
import { DST_EID, LZ_A, SRC_EID } from './packet-logs.ts';

export const RECEIVE_ULN_B = '0x00000000000000000000000000000000000000b2' as Address;
export const DVN_B = '0x00000000000000000000000000000000000000b4' as Address;

export interface FakeSource {
  chain: LzChain;
  /** What getLogsAgreed does on its next calls, in order; the last one repeats. */
  answers: (() => ChainLog[])[];
  calls: number;
}

export function fakeSource(): FakeSource {
  const fake: FakeSource = { chain: undefined as unknown as LzChain, answers: [], calls: 0 };
  fake.chain = {
    config: { name: 'a', eid: SRC_EID, layerZero: { ...LZ_A, receiveUln302: LZ_A.sendUln302 } },
    rpc: {
      getLogsAgreed: async (_filter: LogFilter) => {
        const answer = fake.answers[Math.min(fake.calls, fake.answers.length - 1)];
        fake.calls++;
        if (answer === undefined) throw new Error('no scripted answer');
        return answer();
      },
    },
  } as unknown as LzChain;
  return fake;
}

/** The destination: its receive config asks `confirmations` and lists our DVN. */
export function fakeDestination(confirmations: bigint): LzChain {
  return {
    config: {
      name: 'b',
      eid: DST_EID,
      layerZero: { receiveUln302: RECEIVE_ULN_B, dvn: DVN_B, endpointV2: DVN_B },
    },
    vid: async () => 10102,
    ulnConfig: async () => ({ confirmations, requiredDVNs: [DVN_B], optionalDVNs: [] }),
    listsOurDvn: () => true,
    committed: async () => false,
  } as unknown as LzChain;
}
