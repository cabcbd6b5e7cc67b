// config/networks.example.json is what the README's "Adding a network" starts from: it must stay a
// valid networks file, with every LayerZero address resolved from the sdk deployments.

import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkConfig } from '../../relayer/cli/config.ts';
import { loadNetworks, lzDeploymentAddress } from '../../relayer/config/load.ts';
import type { ChainConfig } from '../../relayer/config/types.ts';
import { describePlan, planDeploy } from '../../relayer/deploy/network.ts';
import { WireError, wire } from '../../relayer/deploy/wire.ts';

const FILE = path.resolve(import.meta.dirname, '../../config/networks.example.json');

describe('config/networks.example.json', () => {
  it('passes `xmargin config check --offline`', async () => {
    await expect(checkConfig(FILE, { offline: true })).resolves.toMatch(
      /^ok: networks file .*networks\.example\.json: 2 chain\(s\) \(arbitrum-sepolia, base-sepolia\)/,
    );
  });

  it('takes its LayerZero addresses from the sdk deployments, with LayerZero Labs DVN as 2nd verifier', () => {
    const [arb] = loadNetworks(FILE).chains;
    expect(arb?.layerZero.endpointV2).toBe(lzDeploymentAddress('arbsep-testnet', 'EndpointV2'));
    expect(arb?.layerZero.extraDvns).toEqual([lzDeploymentAddress('arbsep-testnet', 'DVN')]);
    expect(arb?.xmargin).toBeUndefined();
  });

  it('cannot be wired as it is: its xmargin DVN is a zero-address placeholder', async () => {
    const chains = loadNetworks(FILE).chains as ChainConfig[];
    const run = wire(chains, {}, { dryRun: true });
    await expect(run).rejects.toThrow(WireError);
    await expect(wire(chains, {}, { dryRun: true })).rejects.toThrow(
      "wire: arbitrum-sepolia: layerZero.dvn is the zero address — set it to xmargin's DVN on arbitrum-sepolia",
    );
  });

  it("declares arbitrum-sepolia's engine: USDC collateral from both chains, ETH-PERP, two adapters", () => {
    const plan = planDeploy(loadNetworks(FILE), 'arbitrum-sepolia', FILE);
    expect(plan.adapters.map((a) => a.usedBy)).toEqual([['USDC'], ['ETH-PERP']]);
    expect(plan.engine?.sources.map((s) => `${s.chain} ${s.symbol}`)).toEqual([
      'arbitrum-sepolia USDC',
      'base-sepolia USDC',
    ]);
    // xmargin's DVN + its fee lib (the example's layerZero.dvn is the zero placeholder); 17 for vault,
    // adapters, engine and market; Rebalancer + 3 executors + link; WeightGovernor + signers + bounds of
    // USDC + link.
    expect(plan.dvn).toEqual({
      signers: loadNetworks(FILE).dvn.signers,
      quorum: loadNetworks(FILE).dvn.quorum,
    });
    expect(describePlan(plan)).toHaveLength(2 + 17 + 5 + 4);
    expect(plan.engine?.rebalancerExecutors).toHaveLength(3);
    expect(plan.engine?.weightGovernor.quorum).toBe(loadNetworks(FILE).dvn.quorum);
    expect(planDeploy(loadNetworks(FILE), 'base-sepolia', FILE).engine).toBeUndefined();
  });
});
