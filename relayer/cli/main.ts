// `xmargin`: the command line. A thin layer over the library: every command parses its flags,
// calls one library function and prints. Errors become one readable line and a non-zero exit; the
// stack trace only with --verbose.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { describeRevert } from '../chain/revert.ts';
import { configCommand } from './config.ts';
import { devnetCommand } from './devnet.ts';
import { keysCommand } from './keys.ts';
import { nodeCommand } from './node.ts';
import { startCommand } from './start.ts';
import { statusCommand } from './status.ts';
import { traderCommands } from './trader.ts';
import { oneLineUsageErrors } from './usage.ts';
import { deployCommand, wireCommand } from './wire.ts';

function packageVersion(): string {
  const file = path.resolve(import.meta.dirname, '../../package.json');
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
}

export function buildProgram(): Command {
  const program = new Command('xmargin')
    .description('cross-chain collateral relayer network: devnet, nodes, deployment and wiring')
    .version(packageVersion(), '-V, --version', 'print the version')
    .option('--verbose', 'print stack traces with errors')
    .addHelpText(
      'after',
      '\nExamples:\n  xmargin devnet up\n  xmargin node --config config/devnet/node-1.json\n  xmargin health --json\n',
    );
  program.addCommand(startCommand());
  for (const command of traderCommands()) program.addCommand(command);
  program.addCommand(devnetCommand());
  program.addCommand(nodeCommand());
  program.addCommand(statusCommand());
  program.addCommand(configCommand());
  program.addCommand(keysCommand());
  program.addCommand(deployCommand());
  program.addCommand(wireCommand());
  // After every subcommand is added: usage errors are one line, and the exit is runCli's to make.
  return oneLineUsageErrors(program, { exitOverride: true });
}

/** Runs the CLI; resolves with the exit code instead of exiting, so tests can call it. */
export async function runCli(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (error) {
    return reportError(error, argv.includes('--verbose'));
  }
}

function reportError(error: unknown, verbose: boolean): number {
  // commander has already printed its own usage errors (and --help/--version are not errors).
  if (isCommanderExit(error)) return error.exitCode;
  const message = describeRevert(error) ?? (error instanceof Error ? error.message : String(error));
  process.stderr.write(`xmargin: ${message.split('\n')[0]}\n`);
  if (verbose && error instanceof Error && error.stack !== undefined)
    process.stderr.write(`${error.stack}\n`);
  return 1;
}

function isCommanderExit(error: unknown): error is { exitCode: number; code: string } {
  return (
    typeof error === 'object' &&
    error !== null &&
    'code' in error &&
    'exitCode' in error &&
    typeof (error as { code: unknown }).code === 'string' &&
    (error as { code: string }).code.startsWith('commander.')
  );
}

const isEntry =
  process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isEntry) {
  const code = await runCli(process.argv.slice(2));
  // Commands that keep running (node, devnet up) resolve only after they have stopped.
  process.exitCode = code;
}
