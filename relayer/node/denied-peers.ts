// The node's peer deny-list file, `<dataDir>/denied-peers.txt` (one libp2p peer id per line, `#`
// comments): read at start and again on SIGHUP (`kill -HUP <pid>`), so an operator can cut off a peer,
// or let it back, without restarting the node. A missing file is an empty list; a malformed one
// leaves the list as it was and is reported.

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { peerIdFromString } from '@libp2p/peer-id';
import type { Logger } from '../log.ts';
import { parseDenyList } from '../p2p/deny.ts';
import type { Libp2pGossipNetwork } from '../p2p/index.ts';

export const DENIED_PEERS_FILE = 'denied-peers.txt';

const isPeerId = (s: string): boolean => {
  try {
    peerIdFromString(s);
    return true;
  } catch {
    return false;
  }
};

/** Reads the file and applies it; returns how many peers are denied now. */
export async function applyDeniedPeers(
  dataDir: string,
  gossip: Pick<Libp2pGossipNetwork, 'setDeniedPeers'>,
  log: Logger,
): Promise<number> {
  const file = path.join(dataDir, DENIED_PEERS_FILE);
  let text = '';
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  let peers: string[];
  try {
    peers = parseDenyList(text, isPeerId);
  } catch (err) {
    throw new Error(`${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
  await gossip.setDeniedPeers(peers);
  log.info({ file, denied: peers.length }, 'peer deny-list applied');
  return peers.length;
}
