// `xmargin deploy` and `xmargin wire`, for chain integrators: deploy xmargin's contracts on one
// network, then wire every pathway (peers, enforced options, ULN and executor configs). The devnet
// runs the same library code (relayer/deploy).

import { readFile } from 'node:fs/promises';
import { Command, InvalidArgumentError } from 'commander';
import { JsonRpcProvider, Wallet } from 'ethers';
import { TxSender } from '../chain/tx.ts';
import { loadNetworks } from '../config/load.ts';
import type { ChainConfig } from '../config/types.ts';
import { canaryPathways, DEFAULT_CANARY_TIMEOUT_MS, runCanary } from '../deploy/canary.ts';
import { describePlan, executePlan, planDeploy } from '../deploy/network.ts';
import { wire } from '../deploy/wire.ts';

interface CommonFlags {
  networks: string;
  key: string;
}

async function signerFor(chain: { name: string; rpcUrls: string[] }, keyFile: string): Promise<Wallet> {
  const key = (await readFile(keyFile, 'utf8')).trim();
  const url = chain.rpcUrls[0];
  if (url === undefined) throw new Error(`${chain.name}: no rpcUrls in the networks file`);
  // No request cache: ethers shares identical requests for 250 ms, so a transaction sent right after
  // one that was mined within that window got the same `pending` nonce back ("nonce too low").
  return new Wallet(key, new JsonRpcProvider(url, undefined, { staticNetwork: true, cacheTimeout: -1 }));
}

export function deployCommand(): Command {
  return new Command('deploy')
    .description(
      'deploy xmargin\'s contracts on one network: xmargin\'s DVN if "layerZero.dvn" is the zero address, the vault with the chain\'s tokens at the low default caps, and, when the chain has an "engine" section, price adapters, MarginEngine, PerpMarket, Rebalancer, WeightGovernor and their risk parameters',
    )
    .requiredOption('--network <name>', 'chain name in the networks file')
    .requiredOption(
      '--networks <file>',
      'networks file (see README "Adding a network")',
      'config/networks.json',
    )
    .option('--key <file>', "deployer's private key file (hex); not needed with --dry-run")
    .option('--dry-run', 'print what would be deployed and configured, send nothing (no RPC, no key)')
    .addHelpText(
      'after',
      '\nExample:\n  xmargin deploy --network arbitrum-sepolia --networks config/networks.json --key ~/.xmargin/deployer.key\n' +
        'Then paste the printed object as "xmargin" of that chain (and the DVN, if one was deployed, as\n' +
        '"layerZero.dvn") and run `xmargin wire`.\n',
    )
    .action(async (flags: { networks: string; network: string; key?: string; dryRun?: boolean }) => {
      const networks = loadNetworks(flags.networks);
      const plan = planDeploy(networks, flags.network, flags.networks);
      const lines = describePlan(plan);
      const chain = plan.chain;
      if (flags.dryRun === true) {
        for (const l of lines) process.stdout.write(`${l}\n`);
        process.stdout.write(`${lines.length} transaction(s) planned (dry run) on ${chain.name}\n`);
        return;
      }
      if (flags.key === undefined) {
        throw new Error(
          "deploy: missing --key <file> (the deployer's private key file) — add it, or pass --dry-run",
        );
      }
      const signer = await signerFor(chain, flags.key);
      try {
        const tx = new TxSender(signer, { label: chain.name });
        const { xmargin, adapters, dvn } = await executePlan(plan, tx);
        process.stdout.write(`${chain.name}: ${tx.sent} transaction(s) sent\n`);
        plan.adapters.forEach((a, i) => {
          process.stdout.write(
            `${chain.name}: ChainlinkPriceAdapter ${adapters[i]} (feed ${a.feed}, maxAge ${a.maxAge} s) for ${a.usedBy.join(', ')}\n`,
          );
        });
        if (dvn !== undefined) {
          process.stdout.write(
            `${chain.name}: xmargin's DVN ${dvn}: set it as "layerZero.dvn" of chain "${chain.name}" in ${flags.networks}\n`,
          );
        }
        process.stdout.write(
          `Paste under "xmargin" of chain "${chain.name}" in ${flags.networks}:\n${JSON.stringify(xmargin, null, 2)}\n`,
        );
      } finally {
        signer.provider?.destroy();
      }
    });
}

interface WireFlags extends CommonFlags {
  dryRun?: boolean;
  /** true: --canary, false: --no-canary, undefined: neither (canary on the pathways this run changed). */
  canary?: boolean;
  canaryTimeout: number;
}

function seconds(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1)
    throw new InvalidArgumentError(`expected a whole number of seconds >= 1, got "${value}"`);
  return n;
}

export function wireCommand(): Command {
  return new Command('wire')
    .description(
      'set peers and DVN/executor configs across all configured networks; sends only what is missing, then runs a canary round trip on each pathway it changed',
    )
    .requiredOption('--networks <file>', 'networks file', 'config/networks.json')
    .requiredOption('--key <file>', "owner's private key file (hex)")
    .option('--dry-run', 'print the plan, send nothing (and run no canary)')
    .option('--canary', 'run the canary on every pathway, even if wire sent nothing')
    .option('--no-canary', 'skip the canary')
    .option(
      '--canary-timeout <s>',
      'seconds to wait for each leg of the canary',
      seconds,
      DEFAULT_CANARY_TIMEOUT_MS / 1000,
    )
    .addHelpText(
      'after',
      '\nThe canary deposits 1 base unit of a token from every vault for every remote engine it wired,\n' +
        'waits for the credit (LOCK), withdraws it back (RELEASE) and prints both latencies. Relayer\n' +
        'nodes serving both chains must be running.\n' +
        '\nExample:\n  xmargin wire --networks config/networks.json --key ~/.xmargin/owner.key --dry-run\n',
    )
    .action(async (flags: WireFlags) => {
      const networks = loadNetworks(flags.networks);
      const chains = networks.chains.filter((c): c is ChainConfig => c.xmargin !== undefined);
      if (chains.length < 2)
        throw new Error(`${flags.networks}: fewer than 2 chains have "xmargin" addresses: nothing to wire`);
      const signers: Record<string, Wallet> = {};
      for (const chain of chains) signers[chain.name] = await signerFor(chain, flags.key);
      try {
        const dryRun = flags.dryRun === true;
        const plan = await wire(chains, signers, { dryRun });
        for (const item of plan) {
          process.stdout.write(`${item.chain}  ${item.contract}.${item.call}  — ${item.reason}\n`);
        }
        process.stdout.write(
          `${plan.length} transaction(s) ${dryRun ? 'planned (dry run)' : 'sent'} on ${chains.length} chain(s)\n`,
        );
        if (dryRun || flags.canary === false) return;
        // --canary: every pathway; by default: only the pathways this run changed.
        const pathways = canaryPathways(chains, flags.canary === true ? undefined : plan);
        if (pathways.length === 0) return;
        process.stdout.write(
          `canary: ${pathways.length} pathway(s), up to ${flags.canaryTimeout} s per leg\n`,
        );
        await runCanary(pathways, signers, {
          timeoutMs: flags.canaryTimeout * 1000,
          log: (line) => process.stdout.write(`${line}\n`),
        });
      } finally {
        for (const s of Object.values(signers)) s.provider?.destroy();
      }
    });
}
