// Usage errors of the CLI as one readable line. commander prints its error message (and, with a typo, a
// "(Did you mean …?)" suggestion) on lines of their own; an operator's script or a log keeps only the
// first line, so every command folds them into one line that ends with where to get help:
//   error: unknown command 'bogus' (run xmargin --help for usage)

import type { Command } from 'commander';

/** The command and every subcommand below it, depth first. */
export function allCommands(command: Command): Command[] {
  return [command, ...command.commands.flatMap((c) => allCommands(c))];
}

/** "xmargin devnet up": the names from the root down to `command`. */
export function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c !== null; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** One line: the message's lines joined, then the help hint of the command that refused the input. */
export function usageLine(message: string, command: Command): string {
  const text = message
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .join(' ');
  return `${text} (run ${commandPath(command)} --help for usage)`;
}

/**
 * Makes every usage error of `root` and its subcommands one line, and (with `exitOverride`) hands the
 * exit to the caller instead of exiting the process. Call it once every subcommand has been added.
 */
export function oneLineUsageErrors(root: Command, options: { exitOverride?: boolean } = {}): Command {
  for (const command of allCommands(root)) {
    command.showHelpAfterError(false);
    command.configureOutput({
      outputError: (message, write) => write(`${usageLine(message, command)}\n`),
    });
    if (options.exitOverride === true) command.exitOverride();
  }
  return root;
}
