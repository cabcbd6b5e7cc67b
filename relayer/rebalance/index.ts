// The rebalancer role: opt-in automated MOVEs of surplus credit to the engine that needs it, within
// the limits each trader authorised on the source engine's Rebalancer. Wires the authorisation index,
// the valuations, the coordinator (./coordinator.ts for the protocol) and the journal; transactions go
// through the node's per-chain queue (relayer/liquidation/sender.ts), the one the liquidator uses, so
// the two roles never race for a nonce.
//
//   const rb = createRebalancer({ chains, wallet, gossip, store, view, risk, liveRebalancers, rpcFor, senderFor });
//   await rb.start(); … await rb.stop();

import type { Wallet } from 'ethers';
import { parseWad } from '../config/schemas.ts';
import type { Address, ChainConfig, RebalanceConfig } from '../config/types.ts';
import type { LiqRpc } from '../liquidation/rpc.ts';
import type { SendHooks, SendResult, TxRequest } from '../liquidation/sender.ts';
import { createTicker } from '../liquidation/ticker.ts';
import type { GossipNetwork } from '../p2p/types.ts';
import type { Store } from '../store/controller.ts';
import { levelRecords, memoryRecords } from '../store/journal.ts';
import { type AuthIndex, createAuthIndex } from './authorisations.ts';
import {
  type RebalanceChain,
  RebalanceCoordinator,
  type RebalanceCoordinatorOptions,
  type RebalanceModules,
  type RebalancerStats,
} from './coordinator.ts';
import type { RebalanceJournal } from './journal.ts';
import { type LogFn, RB_STATUS, type RebalanceRecord } from './types.ts';
import { createValuations } from './valuation.ts';

export type { RebalancerStats } from './coordinator.ts';
export { DEFAULT_REBALANCE, decideRescues, wantsRescue } from './decide.ts';
export type * from './types.ts';

export interface RebalancerOptions extends RebalanceCoordinatorOptions {
  /** How often the view is screened (its changes also wake the rebalancer). Default 1 s. */
  tickMs?: number;
  /** Override of every chain's confirmations for the authorisation index (0 on an automine devnet). */
  confirmations?: number;
}

/** The node config's `rebalance` section (decimal strings, validated) as the rebalancer's options. */
export function rebalancerOptions(c: RebalanceConfig = {}): RebalancerOptions {
  return {
    policy: {
      ...(c.triggerHealth === undefined ? {} : { triggerHealth: parseWad(c.triggerHealth) }),
      ...(c.targetHealth === undefined ? {} : { targetHealth: parseWad(c.targetHealth) }),
      ...(c.maxBreachProbability === undefined ? {} : { maxBreachProbability: c.maxBreachProbability }),
    },
    ...(c.deadlineMs === undefined ? {} : { deadlineMs: c.deadlineMs }),
  };
}

export interface RebalancerParams {
  /** The chains this node serves; the ones with an engine and a Rebalancer are moved from. */
  chains: ChainConfig[];
  wallet: Wallet;
  gossip: GossipNetwork;
  store?: Store;
  view: RebalanceModules['view'] & { onChange(cb: () => void): unknown };
  risk?: RebalanceModules['risk'];
  /** EVM signers of the rebalancer nodes seen alive that serve this engine chain. */
  liveRebalancers: (engineEid: number) => Address[];
  rpcFor: (eid: number) => LiqRpc | undefined;
  /** The node's transaction queue of a chain (shared with the liquidator). */
  senderFor: (eid: number) => { send(tx: TxRequest, hooks?: SendHooks): Promise<SendResult> } | undefined;
  onRescued?: (seconds: number) => void;
  log?: LogFn;
  options?: RebalancerOptions;
}

export interface Rebalancer {
  start(): Promise<void>;
  stop(): Promise<void>;
  journal(): Promise<RebalanceRecord[]>;
  stats(): RebalancerStats & { authorisations: number };
}

export function createRebalancer(p: RebalancerParams): Rebalancer {
  const o = p.options ?? {};
  const log: LogFn = p.log ?? (() => {});
  const journal: RebalanceJournal =
    p.store === undefined ? memoryRecords<RebalanceRecord>() : levelRecords(p.store, 'rebalanceJournal');
  const byEid = new Map(p.chains.map((c) => [c.eid, c]));

  const sources = new Map<number, RebalanceChain>();
  for (const c of p.chains) {
    const { engine, rebalancer } = c.xmargin;
    const rpc = p.rpcFor(c.eid);
    const sender = p.senderFor(c.eid);
    if (engine === undefined || rebalancer === undefined || rpc === undefined || sender === undefined)
      continue;
    sources.set(c.eid, { eid: c.eid, engine, rebalancer, rpc, sender });
  }
  const engineOf = (eid: number) => {
    const engine = byEid.get(eid)?.xmargin.engine;
    const rpc = p.rpcFor(eid);
    return engine === undefined || rpc === undefined ? undefined : { engine, rpc };
  };
  const vaultOf = (eid: number) => {
    const vault = byEid.get(eid)?.xmargin.vault;
    const rpc = p.rpcFor(eid);
    return vault === undefined || rpc === undefined ? undefined : { vault, rpc };
  };
  const auth: AuthIndex | undefined =
    p.store === undefined
      ? undefined
      : createAuthIndex(
          p.store,
          [...sources.values()].map((s) => ({
            eid: s.eid,
            rebalancer: s.rebalancer,
            rpc: s.rpc,
            confirmations: o.confirmations ?? (byEid.get(s.eid) as ChainConfig).confirmations,
          })),
          log,
        );
  if (auth === undefined) throw new Error('the rebalancer needs the node store (its authorisation index)');
  const coordinator = new RebalanceCoordinator(o, {
    self: p.wallet.address as Address,
    gossip: p.gossip,
    journal,
    view: p.view,
    ...(p.risk === undefined ? {} : { risk: p.risk }),
    auth,
    valuations: createValuations({ engineOf }),
    sources,
    liveRebalancers: p.liveRebalancers,
    vaultOf,
    engineOf,
    ...(p.onRescued === undefined ? {} : { onRescued: p.onRescued }),
    log,
  });

  // New authorisations first, then the decisions that may use them.
  const ticker = createTicker(async () => {
    await auth.sync();
    await coordinator.tick().catch((err: unknown) => log('rebalancer tick failed', { err: String(err) }));
  }, o.tickMs ?? 1_000);

  return {
    async start() {
      await auth.load();
      await coordinator.resume();
      p.view.onChange(() => {
        void ticker.wake();
      });
      log('rebalancer started', { sources: [...sources.keys()] });
      ticker.start();
    },
    async stop() {
      await ticker.stop();
      await coordinator.stop();
    },
    journal: () => journal.list(),
    stats: () => ({
      ...coordinator.counters,
      blocked: coordinator.blocked,
      byStatus: Object.fromEntries(
        RB_STATUS.map((s) => [s, coordinator.byStatus[s]]),
      ) as RebalancerStats['byStatus'],
      authorisations: auth.size(),
    }),
  };
}
