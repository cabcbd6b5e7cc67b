// One shutdown registry per node: every resource registers how to stop itself when it starts, and
// `shutdown()` stops them in reverse order, once, logging (not throwing) individual failures so one
// stuck resource cannot keep the others running.

import type { Logger } from '../log.ts';

export interface ShutdownRegistry {
  /** Registers a resource; it will be stopped before everything registered earlier. */
  add(name: string, stop: () => Promise<void> | void): void;
  /** Stops everything in reverse order of registration. Idempotent. */
  shutdown(): Promise<void>;
}

export function createShutdownRegistry(log: Logger): ShutdownRegistry {
  const entries: { name: string; stop: () => Promise<void> | void }[] = [];
  let done: Promise<void> | undefined;
  return {
    add(name, stop) {
      entries.push({ name, stop });
    },
    shutdown() {
      done ??= (async () => {
        for (const entry of entries.reverse()) {
          try {
            await entry.stop();
            log.debug({ resource: entry.name }, 'stopped');
          } catch (error) {
            log.error({ resource: entry.name, err: error }, 'failed to stop cleanly');
          }
        }
      })();
      return done;
    },
  };
}
