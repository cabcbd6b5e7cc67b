// `xmargin keys create|show`: the node's two keys — the libp2p identity and the EVM signer — as
// 0600 files. Private keys are never printed unless asked for with --reveal.

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { Command } from 'commander';
import { createEvmKey, createP2pKey, loadEvmKey, loadP2pKey } from '../keys/index.ts';

const EVM_FILE = 'evm.key';
const P2P_FILE = 'p2p.key';

interface KeyFlags {
  dir: string;
  reveal?: boolean;
  json?: boolean;
}

export function keysCommand(): Command {
  const keys = new Command('keys')
    .description("create or show a node's libp2p identity and EVM signer")
    .addHelpText(
      'after',
      '\nExamples:\n  xmargin keys create --dir ~/.xmargin/node-1\n  xmargin keys show --dir ~/.xmargin/node-1\n',
    );
  keys
    .command('create')
    .description(`write ${EVM_FILE} and ${P2P_FILE} (mode 0600) into --dir; refuses to overwrite`)
    .requiredOption('-d, --dir <dir>', 'directory for the key files')
    .addHelpText('after', '\nExample:\n  xmargin keys create --dir ~/.xmargin/node-1\n')
    .action(async (flags: KeyFlags) => {
      const wallet = await createEvmKey(path.join(flags.dir, EVM_FILE));
      const p2p = await createP2pKey(path.join(flags.dir, P2P_FILE));
      process.stdout.write(`evm signer  ${wallet.address}  (${path.join(flags.dir, EVM_FILE)})\n`);
      process.stdout.write(
        `libp2p id   ${peerIdFromPrivateKey(p2p).toString()}  (${path.join(flags.dir, P2P_FILE)})\n`,
      );
    });
  keys
    .command('show')
    .description('print the signer address and peer id of the keys in --dir')
    .requiredOption('-d, --dir <dir>', 'directory with the key files')
    .option('--reveal', 'also print the EVM private key (careful: anyone who sees it controls the signer)')
    .option('--json', 'one JSON object: signer, peerId, the files (and privateKey with --reveal)')
    .addHelpText(
      'after',
      '\nExamples:\n  xmargin keys show --dir ~/.xmargin/node-1\n  xmargin keys show --dir ~/.xmargin/node-1 --json\n',
    )
    .action(async (flags: KeyFlags) => {
      const evmFile = path.join(flags.dir, EVM_FILE);
      const p2pFile = path.join(flags.dir, P2P_FILE);
      const wallet = await loadEvmKey(evmFile);
      const p2p = await loadP2pKey(p2pFile);
      if (flags.json === true) {
        const shown = {
          signer: wallet.address,
          peerId: peerIdFromPrivateKey(p2p).toString(),
          evmKeyFile: evmFile,
          p2pKeyFile: p2pFile,
          ...(flags.reveal === true ? { privateKey: (await readFile(evmFile, 'utf8')).trim() } : {}),
        };
        process.stdout.write(`${JSON.stringify(shown)}\n`);
        return;
      }
      process.stdout.write(`evm signer  ${wallet.address}\n`);
      process.stdout.write(`libp2p id   ${peerIdFromPrivateKey(p2p).toString()}\n`);
      if (flags.reveal === true)
        process.stdout.write(`evm key     ${(await readFile(evmFile, 'utf8')).trim()}\n`);
    });
  return keys;
}
