// Entry of the keys leaf: the node's two private keys (libp2p identity, EVM signer) on disk.

export { KEY_ERROR, type KeyErrorCode, KeyFileError } from './errors.ts';
export { createEvmKey, loadEvmKey } from './evm-key.ts';
export { createP2pKey, loadOrCreateP2pKey, loadP2pKey } from './p2p-identity.ts';
