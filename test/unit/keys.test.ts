// Key files: created private, reloaded to the same identity, and every failure a one-line error that
// names the file (never the key).

import { chmod, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createEvmKey,
  createP2pKey,
  type KeyErrorCode,
  KeyFileError,
  loadEvmKey,
  loadOrCreateP2pKey,
  loadP2pKey,
} from '../../relayer/keys/index.ts';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'xmargin-keys-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function expectKeyError(
  promise: Promise<unknown>,
  code: KeyErrorCode,
  file: string,
): Promise<KeyFileError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(KeyFileError);
  const keyErr = err as KeyFileError;
  expect(keyErr.code).toBe(code);
  expect(keyErr.message.startsWith(`${file}:`)).toBe(true);
  expect(keyErr.message).not.toContain('\n');
  return keyErr;
}

describe('libp2p identity', () => {
  it('is created 0600 on first start and reloaded to the same peer id', async () => {
    const file = join(dir, 'sub', 'p2p.key');
    const created = await loadOrCreateP2pKey(file);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const loaded = await loadOrCreateP2pKey(file);
    expect(loaded.type).toBe('Ed25519');
    expect(peerIdFromPrivateKey(loaded).toString()).toBe(peerIdFromPrivateKey(created).toString());
  });

  it('refuses a missing, world-readable or garbage file, and never overwrites', async () => {
    const file = join(dir, 'p2p.key');
    await expectKeyError(loadP2pKey(file), 'MISSING', file);
    await createP2pKey(file);
    await expectKeyError(createP2pKey(file), 'EXISTS', file);
    await chmod(file, 0o644);
    const err = await expectKeyError(loadP2pKey(file), 'PERMISSIONS', file);
    expect(err.message).toContain(`chmod 600 ${file}`);
    await writeFile(file, 'not a key', { mode: 0o600 });
    await chmod(file, 0o600);
    await expectKeyError(loadP2pKey(file), 'INVALID', file);
  });
});

describe('EVM key', () => {
  it('is created 0600 and reloaded to the same address', async () => {
    const file = join(dir, 'evm.key');
    const created = await createEvmKey(file);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await loadEvmKey(file)).address).toBe(created.address);
  });

  it('accepts a bare hex key with a trailing newline', async () => {
    const file = join(dir, 'evm.key');
    await writeFile(file, `${'11'.repeat(32)}\n`, { mode: 0o600 });
    expect((await loadEvmKey(file)).address).toMatch(/^0x[0-9a-fA-F]{40}$/);
  });

  it('refuses missing, wrong-permission and invalid files without echoing the content', async () => {
    const file = join(dir, 'evm.key');
    await expectKeyError(loadEvmKey(file), 'MISSING', file);
    const secret = `0x${'22'.repeat(32)}`;
    await writeFile(file, secret, { mode: 0o640 });
    await chmod(file, 0o640);
    await expectKeyError(loadEvmKey(file), 'PERMISSIONS', file);
    await chmod(file, 0o600);
    await writeFile(file, `${secret}ff`);
    const invalid = await expectKeyError(loadEvmKey(file), 'INVALID', file);
    expect(invalid.message).not.toContain('2222');
    // Right length, but zero is not a secp256k1 private key.
    await writeFile(file, `0x${'00'.repeat(32)}`);
    await expectKeyError(loadEvmKey(file), 'INVALID', file);
  });
});
