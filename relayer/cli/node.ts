// `xmargin node --config <file>`: runs one relayer node until SIGINT/SIGTERM.

import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { loadNodeConfig } from '../config/load.ts';
import { createLogger } from '../log.ts';
import { startNode } from '../node/node.ts';

interface NodeFlags {
  config: string;
  logLevel?: string;
  pretty?: boolean;
  pollInterval?: number;
  heartbeatInterval?: number;
  liquidationDeadline?: number;
}

function milliseconds(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 10)
    throw new InvalidArgumentError(`expected a number of milliseconds >= 10, got "${value}"`);
  return n;
}

export function nodeCommand(): Command {
  return new Command('node')
    .description('run a relayer node (p2p, chain followers, attestor / executor roles) until Ctrl-C')
    .requiredOption('-c, --config <file>', 'node config file (JSON; see README "Running a node")')
    .option('--log-level <level>', 'trace, debug, info, warn or error', 'info')
    .option('--pretty', 'human-readable logs (default when stdout is a terminal)')
    .option('--poll-interval <ms>', 'how often chains are polled for new blocks (default 1000)', milliseconds)
    .option(
      '--heartbeat-interval <ms>',
      'how often the node gossips its signed heartbeat (default 3000)',
      milliseconds,
    )
    .addHelpText('after', '\nExample:\n  xmargin node --config config/devnet/node-1.json --pretty\n')
    .action(async (flags: NodeFlags) => {
      const config = loadNodeConfig(flags.config);
      const log = createLogger({
        ...(flags.logLevel === undefined ? {} : { level: flags.logLevel }),
        ...(flags.pretty === undefined ? {} : { pretty: flags.pretty }),
      });
      const node = await startNode({
        config,
        baseDir: path.dirname(path.resolve(flags.config)),
        log,
        ...(flags.pollInterval === undefined ? {} : { pollIntervalMs: flags.pollInterval }),
        ...(flags.liquidationDeadline === undefined
          ? {}
          : { liquidationDeadlineMs: flags.liquidationDeadline }),
        ...(flags.heartbeatInterval === undefined
          ? {}
          : { heartbeatMs: flags.heartbeatInterval, gossipHeartbeatMs: 200 }),
      });
      await new Promise<void>((resolve) => {
        const onSignal = (signal: NodeJS.Signals): void => {
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
          log.info({ signal }, 'stopping');
          node.stop().then(resolve, resolve);
        };
        process.on('SIGINT', onSignal);
        process.on('SIGTERM', onSignal);
      });
    });
}
