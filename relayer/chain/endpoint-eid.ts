// Start-up check that a chain's configured eid is the one its LayerZero endpoint has. The schema
// only checks the eid's range: a plausible but wrong eid (another network's, a typo) would make the
// node look for packets to and from the wrong pathway and never see its own.

import { Interface } from 'ethers';
import type { ChainConfig, Hex } from '../config/types.ts';
import type { ChainRpc } from './rpc.ts';

const ENDPOINT_EID = new Interface(['function eid() view returns (uint32)']);

/** Reads `EndpointV2.eid()` at the chain's configured endpoint; throws one line when it differs. */
export async function checkEndpointEid(
  chain: Pick<ChainConfig, 'name' | 'eid' | 'layerZero'>,
  rpc: Pick<ChainRpc, 'call'>,
): Promise<void> {
  const endpoint = chain.layerZero.endpointV2;
  const out = await rpc.call({ to: endpoint, data: ENDPOINT_EID.encodeFunctionData('eid', []) as Hex });
  let actual: number;
  try {
    actual = Number(ENDPOINT_EID.decodeFunctionResult('eid', out)[0]);
  } catch {
    throw new Error(
      `chain ${chain.name}: no EndpointV2 at ${endpoint} (eid() returned ${out.slice(0, 20)}) — fix layerZero.endpointV2 (or lzDeployment) for ${chain.name}`,
    );
  }
  if (actual !== chain.eid) {
    throw new Error(
      `chain ${chain.name}: eid ${chain.eid} in the config, but its EndpointV2 at ${endpoint} has eid ${actual} — set "eid": ${actual} for ${chain.name} (or fix layerZero.endpointV2)`,
    );
  }
}
