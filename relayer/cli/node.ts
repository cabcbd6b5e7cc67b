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
  rpcTimeout?: number;
  rpcAttempts?: number;
}

function milliseconds(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 10)
    throw new InvalidArgumentError(`expected a number of milliseconds >= 10, got "${value}"`);
  return n;
}

function attempts(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 20)
    throw new InvalidArgumentError(`expected a number of attempts from 1 to 20, got "${value}"`);
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
    .option(
      '--liquidation-deadline <ms>',
      'how long the first-ranked liquidator has before the next-ranked takes over (default 15000)',
      milliseconds,
    )
    .option(
      '--rpc-timeout <ms>',
      'per-request RPC timeout on every chain (default: the config\'s "rpc", else 5000)',
      milliseconds,
    )
    .option(
      '--rpc-attempts <n>',
      'attempts of an RPC read on every chain, the first included (default: the config\'s "rpc", else 3)',
      attempts,
    )
    .addHelpText(
      'after',
      '\nPeers listed in <dataDir>/denied-peers.txt (one peer id a line) are refused; SIGHUP re-reads it.\n' +
        '\nExample (`xmargin devnet up` writes config/devnet/node-1.json, … for its chains):\n  xmargin node --config config/devnet/node-1.json --pretty\n',
    )
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
        rpc: {
          ...(flags.rpcTimeout === undefined ? {} : { timeoutMs: flags.rpcTimeout }),
          ...(flags.rpcAttempts === undefined ? {} : { attempts: flags.rpcAttempts }),
        },
        ...(flags.liquidationDeadline === undefined
          ? {}
          : { liquidationDeadlineMs: flags.liquidationDeadline }),
        ...(flags.heartbeatInterval === undefined
          ? {}
          : { heartbeatMs: flags.heartbeatInterval, gossipHeartbeatMs: 200 }),
      });
      // SIGHUP: re-read the peer deny-list (<dataDir>/denied-peers.txt) without a restart.
      const onHangup = (): void => {
        node.reloadDeniedPeers().catch((err: unknown) => {
          log.error({ err: err instanceof Error ? err.message : String(err) }, 'deny-list not applied');
        });
      };
      process.on('SIGHUP', onHangup);
      await new Promise<void>((resolve) => {
        const onSignal = (signal: NodeJS.Signals): void => {
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
          process.off('SIGHUP', onHangup);
          log.info({ signal }, 'stopping');
          node.stop().then(resolve, resolve);
        };
        process.on('SIGINT', onSignal);
        process.on('SIGTERM', onSignal);
      });
    });
}
