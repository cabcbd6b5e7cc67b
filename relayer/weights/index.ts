// The weight proposer of one node: its governed assets per served engine chain (from the chain
// config), its options (from the node config's `weights` section) and its journal (bucket 50).

import type { Wallet } from 'ethers';
import { parseWad } from '../config/schemas.ts';
import type { Address, ChainConfig, DvnConfig, WeightsConfig } from '../config/types.ts';
import type { GossipNetwork } from '../p2p/types.ts';
import type { Store } from '../store/controller.ts';
import { levelRecords, memoryRecords } from '../store/journal.ts';
import type { WeightRecord } from './journal.ts';
import {
  type WeightChain,
  WeightProposer,
  type WeightProposerModules,
  type WeightProposerOptions,
} from './proposer.ts';

export type { WeightRecord, WeightStatus } from './journal.ts';
export type { LatestProposal } from './proposer.ts';
export { WeightProposer } from './proposer.ts';

export function weightProposerOptions(c: WeightsConfig = {}): Partial<WeightProposerOptions> {
  return {
    ...(c.intervalSec === undefined ? {} : { intervalMs: c.intervalSec * 1000 }),
    ...(c.threshold === undefined ? {} : { thresholdWad: parseWad(c.threshold) }),
    ...(c.grid === undefined ? {} : { gridWad: parseWad(c.grid) }),
    ...(c.horizonSec === undefined ? {} : { horizonSec: c.horizonSec }),
    ...(c.epochSec === undefined ? {} : { epochSec: c.epochSec }),
    ...(c.deadlineMs === undefined ? {} : { deadlineMs: c.deadlineMs }),
  };
}

/**
 * The engine chains among `chains` that have a WeightGovernor, each with its risk assets (one per
 * asset id) and the price key the risk tracker keys each one's series by (`eid:feed`, or the
 * adapter for a derived price: relayer/margin/view.ts `prices`).
 */
export function governedChains(
  chains: ChainConfig[],
  rpcFor: (eid: number) => WeightChain['rpc'] | undefined,
  senderFor: (eid: number) => WeightChain['sender'] | undefined,
): WeightChain[] {
  const out: WeightChain[] = [];
  for (const c of chains) {
    const { engine, weightGovernor } = c.xmargin;
    const rpc = rpcFor(c.eid);
    const sender = senderFor(c.eid);
    if (engine === undefined || weightGovernor === undefined || rpc === undefined || sender === undefined)
      continue;
    const assets = new Map<number, WeightChain['assets'][number]>();
    for (const t of c.tokens) {
      const source = t.feed ?? t.priceAdapter;
      if (t.assetId === undefined || source === undefined || assets.has(t.assetId)) continue;
      assets.set(t.assetId, {
        assetId: t.assetId,
        symbol: t.symbol,
        priceKey: `${c.eid}:${source.toLowerCase()}`,
      });
    }
    out.push({
      eid: c.eid,
      name: c.name,
      chainId: c.chainId,
      engine,
      governor: weightGovernor,
      rpc,
      sender,
      assets: [...assets.values()],
    });
  }
  return out;
}

export interface WeightProposerParams extends Omit<WeightProposerModules, 'journal' | 'chains'> {
  chains: ChainConfig[];
  wallet: Wallet;
  gossip: GossipNetwork;
  dvn: DvnConfig;
  store?: Store;
  rpcFor: (eid: number) => WeightChain['rpc'] | undefined;
  senderFor: (eid: number) => WeightChain['sender'] | undefined;
  liveSigners: () => Address[];
  options?: Partial<WeightProposerOptions>;
}

/** The proposer, or undefined when this node serves no engine chain with a WeightGovernor. */
export function createWeightProposer(p: WeightProposerParams): WeightProposer | undefined {
  const chains = governedChains(p.chains, p.rpcFor, p.senderFor);
  if (chains.length === 0) return undefined;
  const journal =
    p.store === undefined
      ? memoryRecords<WeightRecord>()
      : levelRecords<WeightRecord>(p.store, 'weightJournal');
  const { options, store: _store, rpcFor: _rpc, senderFor: _sender, ...modules } = p;
  return new WeightProposer(options ?? {}, { ...modules, chains, journal });
}
