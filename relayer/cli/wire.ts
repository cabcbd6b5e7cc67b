// `xmargin deploy` and `xmargin wire`, for chain integrators: deploy xmargin's contracts on one
// network, then wire every pathway (peers, enforced options, ULN and executor configs). The devnet
// runs the same library code (relayer/deploy).

import { readFile } from 'node:fs/promises';
import { Command } from 'commander';
import { JsonRpcProvider, Wallet } from 'ethers';
import { TxSender } from '../chain/tx.ts';
import { loadNetworks } from '../config/load.ts';
import type { ChainConfig } from '../config/types.ts';
import { wire } from '../deploy/wire.ts';
import { deployXmargin } from '../deploy/xmargin.ts';

interface CommonFlags {
  networks: string;
  key: string;
}

async function signerFor(chain: { name: string; rpcUrls: string[] }, keyFile: string): Promise<Wallet> {
  const key = (await readFile(keyFile, 'utf8')).trim();
  const url = chain.rpcUrls[0];
  if (url === undefined) throw new Error(`${chain.name}: no rpcUrls in the networks file`);
  return new Wallet(key, new JsonRpcProvider(url, undefined, { staticNetwork: true }));
}

export function deployCommand(): Command {
  return new Command('deploy')
    .description("deploy xmargin's vault on one network, with the network's tokens at the low default caps")
    .requiredOption('--network <name>', 'chain name in the networks file')
    .requiredOption(
      '--networks <file>',
      'networks file (see README "Adding a network")',
      'config/networks.json',
    )
    .requiredOption('--key <file>', "deployer's private key file (hex)")
    .addHelpText(
      'after',
      '\nExample:\n  xmargin deploy --network arbsep-testnet --networks config/networks.json --key ~/.xmargin/deployer.key\n' +
        'Then add the printed addresses under "xmargin" for that chain and run `xmargin wire`.\n',
    )
    .action(async (flags: CommonFlags & { network: string }) => {
      const networks = loadNetworks(flags.networks);
      const chain = networks.chains.find((c) => c.name === flags.network);
      if (chain === undefined) {
        throw new Error(
          `${flags.networks}: no chain named "${flags.network}" — use one of ${networks.chains.map((c) => c.name).join(', ')}`,
        );
      }
      const signer = await signerFor(chain, flags.key);
      const tx = new TxSender(signer, { label: chain.name });
      const contracts = await deployXmargin(chain, tx, {
        vaultAssets: chain.tokens.map((t) => ({ token: t.address, decimals: t.decimals })),
      });
      process.stdout.write(`${chain.name}: ${JSON.stringify(contracts)}\n`);
      signer.provider?.destroy();
    });
}

export function wireCommand(): Command {
  return new Command('wire')
    .description(
      'set peers and DVN/executor configs across all configured networks; sends only what is missing',
    )
    .requiredOption('--networks <file>', 'networks file', 'config/networks.json')
    .requiredOption('--key <file>', "owner's private key file (hex)")
    .option('--dry-run', 'print the plan, send nothing')
    .addHelpText(
      'after',
      '\nExample:\n  xmargin wire --networks config/networks.json --key ~/.xmargin/owner.key --dry-run\n',
    )
    .action(async (flags: CommonFlags & { dryRun?: boolean }) => {
      const networks = loadNetworks(flags.networks);
      const chains = networks.chains.filter((c): c is ChainConfig => c.xmargin !== undefined);
      if (chains.length < 2)
        throw new Error(`${flags.networks}: fewer than 2 chains have "xmargin" addresses: nothing to wire`);
      const signers: Record<string, Wallet> = {};
      for (const chain of chains) signers[chain.name] = await signerFor(chain, flags.key);
      const plan = await wire(chains, signers, { dryRun: flags.dryRun === true });
      for (const item of plan) {
        process.stdout.write(`${item.chain}  ${item.contract}.${item.call}  — ${item.reason}\n`);
      }
      process.stdout.write(
        `${plan.length} transaction(s) ${flags.dryRun === true ? 'planned (dry run)' : 'sent'} on ${chains.length} chain(s)\n`,
      );
      for (const s of Object.values(signers)) s.provider?.destroy();
    });
}
