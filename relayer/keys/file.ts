// Reading and writing secret files, with the checks both key kinds share: the file must exist, be
// readable, and be private to its owner (0600), the way ssh treats its identity files. Writing goes
// through a temporary file and a rename so a crash never leaves a half-written key behind.

import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { KeyFileError } from './errors.ts';

/** Mode bits that must be clear on a key file: any access for group or others. */
const GROUP_OTHER_BITS = 0o077;

/** Reads a key file after checking it exists and is private (0600 or stricter). */
export async function readSecretFile(file: string, what: string): Promise<Uint8Array> {
  let mode: number;
  try {
    mode = (await stat(file)).mode;
  } catch (err) {
    if (errCode(err) === 'ENOENT') {
      throw new KeyFileError(
        'MISSING',
        file,
        `${what} not found; create it (the node does on first start) or fix the path in the node config`,
      );
    }
    throw new KeyFileError(
      'UNREADABLE',
      file,
      `cannot stat ${what} (${errCode(err)}); check the path and its directory permissions`,
    );
  }
  // POSIX only: on Windows the mode bits do not describe access, so the check would always fail.
  if (process.platform !== 'win32' && (mode & GROUP_OTHER_BITS) !== 0) {
    const octal = (mode & 0o777).toString(8).padStart(3, '0');
    throw new KeyFileError(
      'PERMISSIONS',
      file,
      `${what} has mode ${octal}, readable by others; run: chmod 600 ${file}`,
    );
  }
  try {
    return new Uint8Array(await readFile(file));
  } catch (err) {
    throw new KeyFileError(
      'UNREADABLE',
      file,
      `cannot read ${what} (${errCode(err)}); check that the node's user owns it`,
    );
  }
}

/**
 * Writes a new key file with mode 0600, atomically (temporary file then rename), refusing to replace
 * an existing one: overwriting a key silently changes the node's identity.
 */
export async function writeSecretFile(file: string, bytes: Uint8Array, what: string): Promise<void> {
  try {
    await stat(file);
    throw new KeyFileError(
      'EXISTS',
      file,
      `${what} already exists; load it, or move it away to create a new one`,
    );
  } catch (err) {
    if (err instanceof KeyFileError) throw err;
    if (errCode(err) !== 'ENOENT') {
      throw new KeyFileError('UNREADABLE', file, `cannot stat ${what} (${errCode(err)}); check the path`);
    }
  }
  const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    // 'wx' + mode: the file is created private, never briefly world-readable.
    const handle = await open(tmp, 'wx', 0o600);
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    // The umask cannot widen 0600, but chmod makes the intent explicit and survives odd filesystems.
    await chmod(tmp, 0o600);
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw new KeyFileError(
      'UNWRITABLE',
      file,
      `cannot write ${what} (${errCode(err)}); check that the directory is writable`,
    );
  }
}

/** Whether a file exists (any error other than ENOENT is left for the reader to report). */
export async function fileExists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch (err) {
    return errCode(err) !== 'ENOENT';
  }
}

function errCode(err: unknown): string {
  return typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : 'unknown error';
}
