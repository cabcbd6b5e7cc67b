// The peer deny-list: the file format (one peer id a line, comments, blank lines; a bad line is
// refused with its number), the gater's verdicts, and which peers a new list newly denies.

import { peerIdFromString } from '@libp2p/peer-id';
import { describe, expect, it } from 'vitest';
import { PeerDenyList, parseDenyList } from '../../relayer/p2p/deny.ts';

const P1 = '12D3KooWB913iStCjk1yiimQkTtAChEbdxp8B6jKHMqASqunxV25';
const P2 = '12D3KooWJvKtoW8AJsio1YkGsXEmLi1otuYUN6fjQ2PhJ33jMSMh';
const isPeerId = (s: string) => s.startsWith('12D3KooW');

describe('peer deny-list', () => {
  it('parses one peer id a line, skipping comments and blank lines', () => {
    expect(parseDenyList(`# maintenance\n${P1}\n\n  ${P2}  # node 3\n`, isPeerId)).toEqual([P1, P2]);
    expect(parseDenyList('', isPeerId)).toEqual([]);
    expect(() => parseDenyList(`${P1}\nnode-3\n`, isPeerId)).toThrow(
      'line 2: "node-3" is not a libp2p peer id',
    );
  });

  it('gates dials and encrypted connections of denied peers only, and reports the newly denied', async () => {
    const list = new PeerDenyList();
    expect(list.set([P1])).toEqual([P1]);
    expect(list.set([P1, P2])).toEqual([P2]);
    const gater = list.gater();
    expect(await gater.denyDialPeer?.(peerIdFromString(P1))).toBe(true);
    const maConn = {} as Parameters<NonNullable<typeof gater.denyInboundEncryptedConnection>>[1];
    expect(await gater.denyInboundEncryptedConnection?.(peerIdFromString(P2), maConn)).toBe(true);
    expect(list.set([])).toEqual([]);
    expect(await gater.denyOutboundEncryptedConnection?.(peerIdFromString(P1), maConn)).toBe(false);
    expect(list.list()).toEqual([]);
  });

  it('bans a peer until a time, beside the operator list, and forgets it after', async () => {
    let now = 1_000;
    const list = new PeerDenyList(() => now);
    list.set([P1]);
    list.ban(P2, 5_000);
    const gater = list.gater();
    expect(await gater.denyDialPeer?.(peerIdFromString(P2))).toBe(true);
    expect(list.bans()).toEqual([{ peerId: P2, until: 5_000 }]);
    // The operator replacing its list does not lift the node's own ban.
    list.set([]);
    expect(list.has(P2)).toBe(true);
    expect(list.list()).toEqual([]);
    now = 5_000;
    expect(await gater.denyDialPeer?.(peerIdFromString(P2))).toBe(false);
    expect(list.bans()).toEqual([]);
  });
});
