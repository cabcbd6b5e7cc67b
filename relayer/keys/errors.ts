// One error type for everything that can go wrong with a key file. The message is a single line that
// names the file and the fix, because it is what an operator sees when the node refuses to start.
// It never contains key material.

export const KEY_ERROR = {
  /** The file does not exist (and the caller did not ask to create it). */
  MISSING: 'MISSING',
  /** The file exists but cannot be read (permissions of the directory or the file's owner). */
  UNREADABLE: 'UNREADABLE',
  /** Group or others may read or write the file: a private key must be 0600. */
  PERMISSIONS: 'PERMISSIONS',
  /** The file holds something that is not a key of the expected kind. */
  INVALID: 'INVALID',
  /** The file could not be written (create). */
  UNWRITABLE: 'UNWRITABLE',
  /** create was asked to write over an existing file. */
  EXISTS: 'EXISTS',
} as const;
export type KeyErrorCode = keyof typeof KEY_ERROR;

export class KeyFileError extends Error {
  readonly code: KeyErrorCode;
  readonly file: string;

  constructor(code: KeyErrorCode, file: string, message: string) {
    super(`${file}: ${message}`);
    this.name = 'KeyFileError';
    this.code = code;
    this.file = file;
  }
}
