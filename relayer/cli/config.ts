// `xmargin config check <file>`: validates a node config, a networks file or a devnet manifest the
// way the node will read it, and (unless --offline) asks every RPC URL the node would use whether it
// serves the configured chain id, and each chain's EndpointV2 whether it has the configured eid. One
// line per problem found: the first one fails the check.

import { access } from 'node:fs/promises';
import path from 'node:path';
import { Command } from 'commander';
import { checkEndpointEid } from '../chain/endpoint-eid.ts';
import { ChainRpc } from '../chain/rpc.ts';
import { loadDevnetManifest, loadNetworks, loadNodeConfig, readJsonFile } from '../config/load.ts';
import type { ChainConfig } from '../config/types.ts';
import { requiredDvns } from '../deploy/wire.ts';
import { loadNetworkView } from '../node/node.ts';
import { withOwnRpcUrls } from '../node/rpc-limits.ts';

interface CheckFlags {
  offline?: boolean;
  json?: boolean;
}

/** What `config check` found (its --json document). */
export interface ConfigReport {
  ok: true;
  kind: Kind;
  file: string;
  chains: { name: string; chainId: number; eid: number }[];
  /** False with --offline: the RPC URLs were not asked. */
  rpcChecked: boolean;
}

type Kind = 'node config' | 'devnet manifest' | 'networks file';

function kindOf(data: unknown): Kind {
  if (typeof data === 'object' && data !== null) {
    if ('roles' in data) return 'node config';
    if ('accounts' in data) return 'devnet manifest';
  }
  return 'networks file';
}

/** Checks `file`; returns a one-line summary, throws a one-line error. */
export async function checkConfig(file: string, options: { offline?: boolean } = {}): Promise<string> {
  return describeReport(await checkConfigReport(file, options));
}

export function describeReport(r: ConfigReport): string {
  const rpcNote = r.rpcChecked
    ? 'every RPC serves its chain id, every endpoint has its eid'
    : 'RPCs not contacted (--offline)';
  return `ok: ${r.kind} ${r.file}: ${r.chains.length} chain(s) (${r.chains.map((c) => c.name).join(', ')}); ${rpcNote}`;
}

/** Checks `file`; returns what it found, throws a one-line error. */
export async function checkConfigReport(
  file: string,
  options: { offline?: boolean } = {},
): Promise<ConfigReport> {
  const kind = kindOf(readJsonFile(file));
  let chains: ChainConfig[];
  if (kind === 'node config') {
    const config = loadNodeConfig(file);
    const base = path.dirname(path.resolve(file));
    const view = loadNetworkView(path.resolve(base, config.networksFile));
    const served = config.chains.map((name) => {
      const chain = view.chains.find((c) => c.name === name);
      if (chain === undefined) {
        throw new Error(
          `${file}: chains: no chain named "${name}" in ${config.networksFile} — use one of ${view.chains.map((c) => c.name).join(', ')}`,
        );
      }
      return chain;
    });
    // The RPCs the node will use: its own where rpc.chains.<name>.urls gives them.
    chains = withOwnRpcUrls(served, config);
    try {
      await access(path.resolve(base, config.evmKeyFile));
    } catch {
      throw new Error(
        `${file}: evmKeyFile: ${config.evmKeyFile} does not exist — create it with "xmargin keys create --dir <dir>"`,
      );
    }
  } else if (kind === 'devnet manifest') {
    chains = loadDevnetManifest(file).chains;
  } else {
    chains = loadNetworks(file).chains as ChainConfig[];
  }
  for (const chain of chains) {
    if (chain.isPublic && requiredDvns(chain).length < 2) {
      throw new Error(
        `${file}: ${chain.name}: a public network needs at least 2 independent verifiers — add e.g. LayerZero Labs' DVN to layerZero.extraDvns`,
      );
    }
  }
  if (options.offline !== true) {
    for (const chain of chains) {
      const rpc = new ChainRpc(chain, { timeoutMs: 3_000, retries: 1, backoffMs: 200 });
      try {
        await rpc.checkChainIds();
        await checkEndpointEid(chain, rpc);
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        throw new Error(`${file}: ${chain.name}: ${reason.split('\n')[0]}`);
      } finally {
        rpc.destroy();
      }
    }
  }
  return {
    ok: true,
    kind,
    file,
    chains: chains.map((c) => ({ name: c.name, chainId: c.chainId, eid: c.eid })),
    rpcChecked: options.offline !== true,
  };
}

export function configCommand(): Command {
  const config = new Command('config')
    .description('configuration files')
    .addHelpText('after', '\nExample:\n  xmargin config check config/devnet/node-1.json\n');
  config
    .command('check')
    .description('validate a node config, networks file or devnet manifest, and reach its RPCs')
    .argument('<file>', 'the file to check')
    .option('--offline', 'do not contact the RPC URLs')
    .option('--json', 'print what was found as one JSON object')
    .addHelpText(
      'after',
      '\nExamples (config/devnet/ is written by `xmargin devnet up`):\n  xmargin config check config/devnet/node-1.json\n  xmargin config check config/networks.example.json --offline --json\n',
    )
    .action(async (file: string, flags: CheckFlags) => {
      const report = await checkConfigReport(file, flags);
      process.stdout.write(`${flags.json === true ? JSON.stringify(report) : describeReport(report)}\n`);
    });
  return config;
}
