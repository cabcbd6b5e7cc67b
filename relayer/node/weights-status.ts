// The weight proposer's state as the `weights` section of /status: the latest proposal per governed
// asset and the update rounds (most recent first, at most MAX_LISTED), WAD values as decimal strings.

import type { WeightsStatus } from '../api/types.ts';
import type { WeightProposer } from '../weights/index.ts';

const MAX_LISTED = 50;

export async function weightsStatus(proposer: WeightProposer): Promise<WeightsStatus> {
  const chainName = new Map(proposer.proposals().map((p) => [p.eid, p.chain]));
  const records = (await proposer.updates()).sort((a, b) => b.updatedAt - a.updatedAt).slice(0, MAX_LISTED);
  return {
    proposals: proposer.proposals().map((p) => ({
      chain: p.chain,
      assetId: p.assetId,
      symbol: p.symbol,
      current: p.current.toString(),
      ...(p.target === undefined ? {} : { target: p.target }),
      ...(p.proposed === undefined ? {} : { proposed: p.proposed.toString() }),
      ...(p.reason === undefined ? {} : { reason: p.reason }),
      ...(p.sigmaHorizon === undefined ? {} : { sigmaHorizon: p.sigmaHorizon }),
      at: p.at,
    })),
    updates: records.map((r) => ({
      id: r.id,
      chain: chainName.get(r.eid) ?? String(r.eid),
      assetId: r.assetId,
      symbol: r.symbol,
      ...(r.previousWeight === undefined ? {} : { from: r.previousWeight.toString() }),
      to: r.weight.toString(),
      nonce: r.nonce.toString(),
      state: r.status,
      signers: r.signers,
      submittedByUs: r.submittedByUs === true,
      ...(r.txHash === undefined ? {} : { txHash: r.txHash }),
      ...(r.error === undefined ? {} : { detail: r.error }),
      at: r.updatedAt,
    })),
  };
}
