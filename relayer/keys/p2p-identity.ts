// The node's libp2p identity: an Ed25519 private key stored protobuf-encoded (the format libp2p and
// its tools use), created on first start and reused after, so the peer id stays the same across
// restarts and other nodes' bootstrap lists keep working.

import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys';
import type { PrivateKey } from '@libp2p/interface';
import { KeyFileError } from './errors.ts';
import { fileExists, readSecretFile, writeSecretFile } from './file.ts';

const WHAT = 'libp2p identity key';

/** Creates a new Ed25519 identity in `file` (which must not exist) and returns it. */
export async function createP2pKey(file: string): Promise<PrivateKey> {
  const key = await generateKeyPair('Ed25519');
  await writeSecretFile(file, privateKeyToProtobuf(key), WHAT);
  return key;
}

/** Loads the identity from `file`; errors name the file and the fix. */
export async function loadP2pKey(file: string): Promise<PrivateKey> {
  const bytes = await readSecretFile(file, WHAT);
  let key: PrivateKey;
  try {
    key = privateKeyFromProtobuf(bytes);
  } catch {
    throw new KeyFileError(
      'INVALID',
      file,
      `not a protobuf-encoded libp2p private key; move it away and restart to create a new identity`,
    );
  }
  if (key.type !== 'Ed25519') {
    throw new KeyFileError(
      'INVALID',
      file,
      `${WHAT} is ${key.type}, expected Ed25519; move it away and restart to create a new one`,
    );
  }
  return key;
}

/** Loads the identity, creating it on first start. */
export async function loadOrCreateP2pKey(file: string): Promise<PrivateKey> {
  return (await fileExists(file)) ? loadP2pKey(file) : createP2pKey(file);
}
