// The operator's EVM signer: a hex private key in a 0600 file. It signs gossip envelopes, DVN
// attestations and transactions, so loading it is strict (exact format, permissions) and its value
// never reaches a log or an error message.

import { Wallet } from 'ethers';
import { KeyFileError } from './errors.ts';
import { readSecretFile, writeSecretFile } from './file.ts';

const WHAT = 'EVM key file';
/** 32 bytes of hex, optional 0x prefix; surrounding whitespace (a trailing newline) is tolerated. */
const HEX_KEY = /^(0x)?[0-9a-fA-F]{64}$/;

/** Creates a fresh random EVM key in `file` (which must not exist) and returns its wallet. */
export async function createEvmKey(file: string): Promise<Wallet> {
  const wallet = Wallet.createRandom();
  await writeSecretFile(file, new TextEncoder().encode(`${wallet.privateKey}\n`), WHAT);
  return new Wallet(wallet.privateKey);
}

/** Loads the EVM key from `file`; errors name the file and the fix, never the key. */
export async function loadEvmKey(file: string): Promise<Wallet> {
  const text = new TextDecoder().decode(await readSecretFile(file, WHAT)).trim();
  if (!HEX_KEY.test(text)) {
    throw new KeyFileError(
      'INVALID',
      file,
      `${WHAT} must hold one 32-byte hex private key (0x + 64 hex digits)`,
    );
  }
  try {
    return new Wallet(text.startsWith('0x') ? text : `0x${text}`);
  } catch {
    // Zero or above the curve order: the right length but not a usable secp256k1 key.
    throw new KeyFileError(
      'INVALID',
      file,
      `${WHAT} holds a value that is not a valid secp256k1 private key`,
    );
  }
}
