// Bootstrap dialing: a plain dial of each configured multiaddr at start and again on a timer for
// those we are not connected to, so a node that starts before its peers, or loses them, reconnects
// without a restart. (libp2p's bootstrap module only tags peers for discovery; we want the dials.)

import type { Libp2p } from '@libp2p/interface';
import { multiaddr } from '@multiformats/multiaddr';
import type { Logger } from './log.ts';

const DIAL_TIMEOUT_MS = 5000;

export interface BootstrapDialer {
  /** Dials every bootstrap address we are not connected to; resolves when all attempts settled. */
  dialMissing(): Promise<void>;
  stop(): void;
}

export function startBootstrapDialer(options: {
  libp2p: Libp2p;
  addrs: readonly string[];
  retryMs: number;
  log: Logger;
}): BootstrapDialer {
  const { libp2p, log } = options;
  const self = libp2p.peerId.toString();
  const targets = options.addrs
    .map((addr) => {
      const ma = multiaddr(addr);
      const peerId = ma.getComponents().find((c) => c.name === 'p2p')?.value;
      if (peerId === undefined)
        throw new Error(`bootstrap address ${addr} has no /p2p/<peer id>; add the peer's id`);
      return { addr, ma, peerId };
    })
    .filter((t) => t.peerId !== self);

  let running: Promise<void> | undefined;
  let stopped = false;

  async function dialAll(): Promise<void> {
    const connected = new Set(libp2p.getConnections().map((c) => c.remotePeer.toString()));
    await Promise.all(
      targets
        .filter((t) => !connected.has(t.peerId))
        .map(async (t) => {
          try {
            await libp2p.dial(t.ma, { signal: AbortSignal.timeout(DIAL_TIMEOUT_MS) });
            log.debug({ peer: t.peerId }, 'bootstrap peer connected');
          } catch (err) {
            // Expected while peers are still starting: retried on the next tick.
            log.debug(
              { peer: t.addr, err: err instanceof Error ? err.message : String(err) },
              'bootstrap dial failed',
            );
          }
        }),
    );
  }

  const dialMissing = (): Promise<void> => {
    if (stopped) return Promise.resolve();
    // One round at a time: a slow dial must not stack up rounds.
    running ??= dialAll().finally(() => {
      running = undefined;
    });
    return running;
  };

  const timer = setInterval(() => void dialMissing(), options.retryMs);
  timer.unref();
  void dialMissing();

  return {
    dialMissing,
    stop() {
      stopped = true;
      clearInterval(timer);
    },
  };
}
