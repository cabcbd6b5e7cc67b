// `xmargin devnet up`: compiles the contracts when their artifacts are missing or stale (forge build,
// as `npm start` does), boots the local devnet (relayer/devnet), writes config/devnet/manifest.json and,
// next to it, one node config per attestor key (node-1.json, … with keys in node-1/, …) that
// `xmargin node --config config/devnet/node-1.json` runs as is; keeps the chains running until
// SIGINT/SIGTERM, then stops every process it started.
// Exports a commander Command for the project's CLI (relayer/cli/main.ts mounts it) and runs on its
// own when it is the entry module: `node relayer/cli/devnet.ts up` (`npm run devnet`).

import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { Command, InvalidArgumentError, Option } from 'commander';
import { ensureArtifacts } from '../chain/artifacts.ts';
import type { DevnetManifest, NodeConfig } from '../config/types.ts';
import { DEFAULT_MANIFEST_PATH, DEVNET_ARTIFACTS, type DevnetOptions, startDevnet } from '../devnet/index.ts';
import { createP2pKey } from '../keys/index.ts';
import { oneLineUsageErrors } from './usage.ts';

export interface DevnetUpOptions extends DevnetOptions {
  /** Stop as soon as the devnet is up (CI, boot-time measurement). */
  exitAfterBoot?: boolean;
  /** Where progress and the summary go (default: stdout). */
  print?: (line: string) => void;
  /** Brings the forge artifacts up to date (default: ensureArtifacts, i.e. `forge build`). */
  build?: () => Promise<void>;
}

/** libp2p port of node-1 (node-N listens on FIRST_P2P_PORT + N - 1). */
const FIRST_P2P_PORT = 9101;
/** Status API port of node-1: `xmargin status`'s default URL is node-1's. */
const FIRST_API_PORT = 7400;

/**
 * Writes node-N.json next to the manifest for each attestor key of the devnet (its key is one of the
 * DVN signers), with node-N/evm.key and a fresh node-N/p2p.key (0600), bootstrapped to each other on
 * fixed loopback ports. node-N/ is replaced at every boot: a store left from an earlier devnet holds
 * block cursors of chains that no longer exist. Returns the config files.
 */
export async function writeDevnetNodeConfigs(
  manifest: DevnetManifest,
  manifestPath: string,
): Promise<string[]> {
  const base = path.dirname(manifestPath);
  const attestors = manifest.accounts.filter((a) => a.role === 'attestor');
  const peers: { port: number; peerId: string }[] = [];
  for (const [i, account] of attestors.entries()) {
    const dir = path.join(base, `node-${i + 1}`);
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'evm.key'), `${account.privateKey}\n`, { mode: 0o600 });
    const p2p = await createP2pKey(path.join(dir, 'p2p.key'));
    peers.push({ port: FIRST_P2P_PORT + i, peerId: peerIdFromPrivateKey(p2p).toString() });
  }
  const files: string[] = [];
  for (const [i, self] of peers.entries()) {
    const config: NodeConfig = {
      dataDir: `node-${i + 1}/data`,
      listen: [`/ip4/127.0.0.1/tcp/${self.port}`],
      bootstrap: peers.filter((p) => p !== self).map((p) => `/ip4/127.0.0.1/tcp/${p.port}/p2p/${p.peerId}`),
      evmKeyFile: `node-${i + 1}/evm.key`,
      p2pKeyFile: `node-${i + 1}/p2p.key`,
      roles: ['attestor', 'executor'],
      chains: manifest.chains.map((c) => c.name),
      networksFile: path.basename(manifestPath),
      apiPort: FIRST_API_PORT + i,
    };
    const file = path.join(base, `node-${i + 1}.json`);
    await writeFile(file, `${JSON.stringify(config, null, 2)}\n`);
    files.push(file);
  }
  return files;
}

/** Starts the devnet and resolves once it has been stopped again (by a signal, or at once with exitAfterBoot). */
export async function devnetUp(opts: DevnetUpOptions = {}): Promise<void> {
  const print = opts.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  // A fresh clone has no artifacts and an edited contract has stale ones: forge build is a ~1 s no-op
  // when nothing changed, so it always runs.
  print('compiling the contracts (forge build; the first time under a minute, then about a second)');
  const compileStarted = Date.now();
  await (opts.build ?? (() => ensureArtifacts(DEVNET_ARTIFACTS)))();
  print(`contracts compiled in ${((Date.now() - compileStarted) / 1000).toFixed(1)} s`);
  const devnet = await startDevnet({ ...opts, log: opts.log ?? print });
  const m = devnet.manifest;
  print(
    `devnet up in ${(devnet.bootMs / 1000).toFixed(1)} s: ${m.chains.length} chain(s), DVN ${m.dvn.quorum}-of-${m.dvn.signers.length}`,
  );
  for (const c of m.chains) {
    const engine = c.xmargin.engine === undefined ? 'collateral only' : `engine ${c.xmargin.engine}`;
    print(
      `  ${c.name}  eid ${c.eid}  chain id ${c.chainId}  ${c.rpcUrls[0]}  vault ${c.xmargin.vault}  ${engine}`,
    );
  }
  if (devnet.manifestPath !== null) {
    print(`manifest: ${path.relative(process.cwd(), devnet.manifestPath)}`);
    const configs = await writeDevnetNodeConfigs(m, devnet.manifestPath).catch(async (error: unknown) => {
      await devnet.stop();
      throw error;
    });
    const shown = configs.map((f) => path.relative(process.cwd(), f));
    print(`node configs: ${shown.join(', ')} (run one each: xmargin node --config ${shown[0]})`);
  }
  if (opts.exitAfterBoot === true) {
    await devnet.stop();
    print('devnet stopped (--exit-after-boot)');
    return;
  }
  print('press Ctrl-C to stop');
  await new Promise<void>((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      print(`${signal}: stopping the devnet`);
      devnet.stop().then(resolve, resolve);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  print('devnet stopped');
}

function positiveInt(name: string, min = 1): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < min) {
      throw new InvalidArgumentError(`${name} must be a whole number >= ${min}, got "${value}"`);
    }
    return n;
  };
}

interface UpFlags {
  chains: number;
  blockTime: number;
  automine?: boolean;
  quorum: number;
  attestors: number;
  confirmations: number;
  manifest: string;
  exitAfterBoot?: boolean;
}

/** The `devnet` command with its `up` subcommand. */
export function devnetCommand(): Command {
  const devnet = new Command('devnet')
    .addHelpText('after', '\nExample:\n  xmargin devnet up --chains 3 --block-time 1\n')
    .description('a local xmargin network on anvil chains with the real LayerZero v2 stack');
  const up: Command = devnet
    .command('up')
    .description('start the devnet, write its manifest and one node config per attestor, run until Ctrl-C')
    .addHelpText(
      'after',
      '\nExamples:\n  xmargin devnet up\n  xmargin devnet up --chains 2 --automine --exit-after-boot\n',
    )
    .addOption(
      new Option('--chains <n>', 'number of chains (the first one holds collateral only)')
        .default(3)
        .argParser(positiveInt('--chains')),
    )
    .addOption(
      new Option('--block-time <seconds>', 'seconds per block')
        .default(1)
        .argParser(positiveInt('--block-time')),
    )
    .addOption(new Option('--automine', 'mine a block per transaction instead').conflicts('blockTime'))
    .addOption(
      new Option('--quorum <n>', 'DVN signatures needed').default(2).argParser(positiveInt('--quorum')),
    )
    .addOption(
      new Option('--attestors <n>', 'DVN signer keys').default(3).argParser(positiveInt('--attestors')),
    )
    .addOption(
      new Option('--confirmations <n>', 'block confirmations of every pathway')
        .default(1)
        .argParser(positiveInt('--confirmations')),
    )
    .addOption(
      new Option('--manifest <file>', 'where to write the manifest (node-N.json go next to it)').default(
        path.relative(process.cwd(), DEFAULT_MANIFEST_PATH),
      ),
    )
    .option('--exit-after-boot', 'stop again once the devnet is up (prints the boot time)')
    .action(async (flags: UpFlags) => {
      if (flags.quorum > flags.attestors) {
        up.error(`error: --quorum (${flags.quorum}) cannot exceed --attestors (${flags.attestors})`);
      }
      await devnetUp({
        chains: flags.chains,
        blockTime: flags.automine === true ? 'automine' : flags.blockTime,
        quorum: flags.quorum,
        attestors: flags.attestors,
        confirmations: flags.confirmations,
        manifestPath: path.resolve(flags.manifest),
        exitAfterBoot: flags.exitAfterBoot === true,
      });
    });
  return devnet;
}

// Standalone: `node relayer/cli/devnet.ts up [...]`.
if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  oneLineUsageErrors(devnetCommand().name('devnet'))
    .parseAsync(process.argv)
    .catch((err: unknown) => {
      process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    });
}
