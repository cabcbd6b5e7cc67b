// A stand-in candidate source: polls engine.health (eth_call) for a fixed list of sub-accounts. The
// node's margin view replaces it; tests and a liquidator without a margin view use this one.

import type { Address, Hex } from '../config/types.ts';
import { ENGINE } from './abi.ts';
import type { LiqRpc } from './rpc.ts';
import type { Candidate, CandidateSource, LogFn } from './types.ts';

const WAD = 10n ** 18n;

export interface PollingCandidatesOptions {
  /** Engine address and RPC per engine eid. */
  engines: Map<number, { engine: Address; rpc: LiqRpc }>;
  /** Sub-accounts to watch, per engine eid. */
  accounts: (engineEid: number) => { account: Address; subaccount: bigint }[];
  intervalMs?: number;
  log?: LogFn;
}

export class PollingCandidates implements CandidateSource {
  private readonly o: PollingCandidatesOptions;
  private readonly current = new Map<number, Candidate[]>();
  private readonly listeners: (() => void)[] = [];
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(options: PollingCandidatesOptions) {
    this.o = options;
  }

  unhealthy(engineEid: number): Candidate[] {
    return this.current.get(engineEid) ?? [];
  }

  onChange(cb: () => void): void {
    this.listeners.push(cb);
  }

  /** One poll of every watched sub-account; listeners hear about it when the set changed. */
  async poll(): Promise<void> {
    let changed = false;
    for (const [eid, { engine, rpc }] of this.o.engines) {
      const next: Candidate[] = [];
      for (const { account, subaccount } of this.o.accounts(eid)) {
        try {
          const data = ENGINE.encodeFunctionData('health', [account, subaccount]) as Hex;
          const [h] = ENGINE.decodeFunctionResult('health', await rpc.call({ to: engine, data }));
          const health = h.health as bigint;
          if (health < WAD) next.push({ account, subaccount, health });
        } catch (err) {
          this.o.log?.('health poll failed', { eid, account, err: String(err) });
        }
      }
      const before = (this.current.get(eid) ?? [])
        .map((c) => `${c.account}:${c.subaccount}:${c.health}`)
        .join();
      if (before !== next.map((c) => `${c.account}:${c.subaccount}:${c.health}`).join()) changed = true;
      this.current.set(eid, next);
    }
    if (changed) for (const cb of this.listeners) cb();
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    const loop = async (): Promise<void> => {
      if (!this.running) return;
      await this.poll();
      if (this.running) this.timer = setTimeout(loop, this.o.intervalMs ?? 500);
    };
    void loop();
  }

  stop(): void {
    this.running = false;
    clearTimeout(this.timer);
  }
}
