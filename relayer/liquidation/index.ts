// The liquidator role: wires a candidate source, the planner, the rendezvous coordinator, one
// transaction queue per engine chain and the level journal. See ./coordinator.ts for the protocol.
//
//   const liq = createLiquidator({ chains, wallet, gossip, store, candidates, liveLiquidators, rpcFor });
//   await liq.start(); … await liq.stop();

import { MaxUint256, type Wallet } from 'ethers';
import type { Address, ChainConfig, Hex } from '../config/types.ts';
import type { GossipNetwork } from '../p2p/types.ts';
import type { Store } from '../store/controller.ts';
import { ENGINE, ERC20 } from './abi.ts';
import {
  Coordinator,
  type CoordinatorOptions,
  type EngineChain,
  type LiquidatorStats,
} from './coordinator.ts';
import { type LiquidationJournal, levelJournal, memoryJournal } from './journal.ts';
import type { LiqRpc } from './rpc.ts';
import { TxQueue } from './sender.ts';
import { type CandidateSource, LIQ_STATUS, type LiquidationRecord, type LogFn } from './types.ts';

export { PollingCandidates } from './candidates.ts';
export type { LiquidatorStats } from './coordinator.ts';
export { Coordinator, landingLatencyMs, rankKey } from './coordinator.ts';
export { attemptId, type LiquidationJournal, levelJournal, memoryJournal } from './journal.ts';
export { type Plan, planLiquidation } from './planner.ts';
export { bumpFees, TxQueue } from './sender.ts';
export type * from './types.ts';

export interface LiquidatorOptions extends CoordinatorOptions {
  /** How often unhealthy sub-accounts are reconsidered (the candidate source's changes also wake it). Default 1 s. */
  tickMs?: number;
  /** Blocks without a receipt before a liquidation is re-sent with +12.5% fees. Default 3. */
  bumpAfterBlocks?: number;
  /** Receipt polling of the transaction queues. Default 250 ms. */
  txPollMs?: number;
  txTimeoutMs?: number;
}

export interface LiquidatorParams {
  /** The chains this node serves; the ones with an engine are liquidated on. */
  chains: ChainConfig[];
  wallet: Wallet;
  gossip: GossipNetwork;
  /** The node's level store; without one the journal lives in memory. */
  store?: Store;
  candidates: CandidateSource;
  /** EVM signers of the liquidator nodes seen alive (heartbeats) that serve this engine chain. */
  liveLiquidators: (engineEid: number) => Address[];
  rpcFor: (eid: number) => LiqRpc | undefined;
  /** The node's transaction queue of a chain, when other roles send from the same key (a new one otherwise). */
  senderFor?: (chain: ChainConfig) => TxQueue | undefined;
  /** Each liquidation of ours that landed: seconds from first seen unhealthy to our receipt (the node's metric). */
  onLanded?: (seconds: number) => void;
  log?: LogFn;
  options?: LiquidatorOptions;
}

export interface Liquidator {
  start(): Promise<void>;
  stop(): Promise<void>;
  journal(): Promise<LiquidationRecord[]>;
  stats(): LiquidatorStats;
}

export function createLiquidator(p: LiquidatorParams): Liquidator {
  const o = p.options ?? {};
  const self = p.wallet.address as Address;
  const log: LogFn = p.log ?? (() => {});
  const journal: LiquidationJournal = p.store === undefined ? memoryJournal() : levelJournal(p.store);

  const engines = new Map<number, EngineChain>();
  for (const chain of p.chains) {
    const engine = chain.xmargin.engine;
    const rpc = p.rpcFor(chain.eid);
    if (engine === undefined || rpc === undefined) continue;
    const sender =
      p.senderFor?.(chain) ??
      new TxQueue(p.wallet, rpc, {
        chainId: chain.chainId,
        label: `${chain.name}/liquidator`,
        confirmations: chain.confirmations,
        ...(o.bumpAfterBlocks === undefined ? {} : { bumpAfterBlocks: o.bumpAfterBlocks }),
        ...(o.txPollMs === undefined ? {} : { pollMs: o.txPollMs }),
        ...(o.txTimeoutMs === undefined ? {} : { timeoutMs: o.txTimeoutMs }),
      });
    engines.set(chain.eid, { eid: chain.eid, engine, rpc, sender });
  }
  const vaults = new Map(p.chains.map((c) => [c.eid, c.xmargin.vault]));
  const coordinator = new Coordinator(o, {
    self,
    gossip: p.gossip,
    journal,
    candidates: p.candidates,
    liveLiquidators: p.liveLiquidators,
    engines,
    vaultOf: (eid) => {
      const vault = vaults.get(eid);
      const rpc = p.rpcFor(eid);
      return vault === undefined || rpc === undefined ? undefined : { vault, rpc };
    },
    ...(p.onLanded === undefined ? {} : { onLanded: p.onLanded }),
    log,
  });

  // The engine pulls the repay in quote tokens from us: one max approval per engine, before any send.
  const approved = new Set<number>();
  const ensureAllowances = async (): Promise<void> => {
    for (const chain of engines.values()) {
      if (approved.has(chain.eid)) continue;
      try {
        const q = await chain.rpc.call({
          to: chain.engine,
          data: ENGINE.encodeFunctionData('quoteToken', []) as Hex,
        });
        const quote = ENGINE.decodeFunctionResult('quoteToken', q)[0] as Address;
        const a = await chain.rpc.call({
          to: quote,
          data: ERC20.encodeFunctionData('allowance', [self, chain.engine]) as Hex,
        });
        if ((ERC20.decodeFunctionResult('allowance', a)[0] as bigint) < MaxUint256 / 2n) {
          const r = await chain.sender.send({
            to: quote,
            data: ERC20.encodeFunctionData('approve', [chain.engine, MaxUint256]) as Hex,
          });
          if (r.receipt.status !== 1) throw new Error(`approve reverted (${r.hash})`);
          log('quote token approved', { engineEid: chain.eid, token: quote, tx: r.hash });
        }
        approved.add(chain.eid);
      } catch (err) {
        log('quote approval failed; retrying next tick', { engineEid: chain.eid, err: String(err) });
      }
    }
  };

  // Overlapping passes share one approval in flight.
  let allowing: Promise<void> | undefined;
  const allow = (): Promise<void> =>
    (allowing ??= ensureAllowances().finally(() => {
      allowing = undefined;
    }));

  let timer: NodeJS.Timeout | undefined;
  let scheduled = false;
  let started = false;
  let stopped = false;
  /** Passes still dispatching (a pass returns once its sends are out). */
  const passes = new Set<Promise<void>>();
  // A change starts a pass at once, even while an earlier one still waits for its broadcasts: the
  // coordinator keeps each sub-account in one pass at a time and bounds the work shared by passes.
  const runTick = (): void => {
    if (scheduled || stopped) return;
    scheduled = true;
    setImmediate(() => {
      scheduled = false;
      if (stopped) return;
      const p = (async () => {
        await allow();
        await coordinator.pass().catch((err: unknown) => log('liquidator tick failed', { err: String(err) }));
      })().finally(() => passes.delete(p));
      passes.add(p);
    });
  };
  const loop = (): void => {
    if (stopped) return;
    runTick();
    timer = setTimeout(loop, o.tickMs ?? 1_000);
  };

  return {
    async start() {
      if (started) return;
      started = true;
      coordinator.subscribe();
      p.candidates.onChange(runTick);
      // Sends a crash interrupted are closed from their receipts, never sent again.
      const reopened = await coordinator.recover();
      if (reopened > 0)
        log('liquidations open before a restart: awaiting their receipts or payouts', { reopened });
      await allow();
      timer = setTimeout(loop, 0);
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await Promise.allSettled([...passes]);
      await coordinator.stop();
    },
    journal: () => journal.list(),
    stats() {
      const byStatus = Object.fromEntries(
        LIQ_STATUS.map((s) => [s, coordinator.byStatus[s]]),
      ) as LiquidatorStats['byStatus'];
      return {
        ...coordinator.counters,
        byStatus,
        bumps: [...engines.values()].reduce((n, e) => n + ((e.sender as TxQueue).bumps ?? 0), 0),
      };
    },
  };
}
