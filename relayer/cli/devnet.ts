// `xmargin devnet up`: compiles the contracts when their artifacts are missing or stale (forge build,
// as `npm start` does), boots the local devnet (relayer/devnet), writes config/devnet/manifest.json
// and keeps the chains running until SIGINT/SIGTERM, then stops every process it started.
// Exports a commander Command for the project's CLI (relayer/cli/main.ts mounts it) and runs on its
// own when it is the entry module: `node relayer/cli/devnet.ts up` (`npm run devnet`).

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError, Option } from 'commander';
import { ensureArtifacts } from '../chain/artifacts.ts';
import { DEFAULT_MANIFEST_PATH, DEVNET_ARTIFACTS, type DevnetOptions, startDevnet } from '../devnet/index.ts';

export interface DevnetUpOptions extends DevnetOptions {
  /** Stop as soon as the devnet is up (CI, boot-time measurement). */
  exitAfterBoot?: boolean;
  /** Where progress and the summary go (default: stdout). */
  print?: (line: string) => void;
  /** Brings the forge artifacts up to date (default: ensureArtifacts, i.e. `forge build`). */
  build?: () => Promise<void>;
}

/** Starts the devnet and resolves once it has been stopped again (by a signal, or at once with exitAfterBoot). */
export async function devnetUp(opts: DevnetUpOptions = {}): Promise<void> {
  const print = opts.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  // A fresh clone has no artifacts and an edited contract has stale ones: forge build is a ~1 s no-op
  // when nothing changed, so it always runs.
  print('compiling the contracts (forge build; the first time about 1-2 minutes, then about a second)');
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
  if (devnet.manifestPath !== null) print(`manifest: ${path.relative(process.cwd(), devnet.manifestPath)}`);
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
  devnet
    .command('up')
    .description('start the devnet, write its manifest, run until Ctrl-C')
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
      new Option('--manifest <file>', 'where to write the manifest').default(
        path.relative(process.cwd(), DEFAULT_MANIFEST_PATH),
      ),
    )
    .option('--exit-after-boot', 'stop again once the devnet is up (prints the boot time)')
    .action(async (flags: UpFlags) => {
      if (flags.quorum > flags.attestors) {
        devnet.error(`error: --quorum (${flags.quorum}) cannot exceed --attestors (${flags.attestors})`);
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
  devnetCommand()
    .name('devnet')
    .parseAsync(process.argv)
    .catch((err: unknown) => {
      process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    });
}
