// The yamux patch (patches/@libp2p+yamux+*.patch, patches/README.md): a receiver acknowledges its
// window once half of it is used, not after every data frame. Two muxers over an in-memory
// connection pair: what the receiving side sends back while 1 KB messages stream in.

import { multiaddrConnectionPair } from '@libp2p/utils';
import { yamux } from '@libp2p/yamux';
import { describe, expect, it } from 'vitest';

const MESSAGE = new Uint8Array(1024).fill(7);

async function stream(count: number): Promise<{ received: number; framesBack: number }> {
  const [outbound, inbound] = multiaddrConnectionPair();
  // Everything the receiving muxer writes to its connection (its frames back to the sender).
  let framesBack = 0;
  const send = inbound.send.bind(inbound);
  inbound.send = (data) => {
    framesBack += 1;
    return send(data);
  };
  const client = yamux()().createStreamMuxer(outbound);
  const server = yamux()().createStreamMuxer(inbound);
  let received = 0;
  const all = new Promise<void>((resolve) => {
    server.addEventListener('stream', (event) => {
      event.detail.addEventListener('message', (message) => {
        received += message.data.byteLength;
        if (received >= count * MESSAGE.byteLength) resolve();
      });
    });
  });
  const out = await client.createStream();
  for (let i = 0; i < count; i++) {
    if (!out.send(MESSAGE))
      await new Promise((resolve) => out.addEventListener('drain', resolve, { once: true }));
  }
  await all;
  // Counted before closing: the close adds frames of its own.
  const result = { received, framesBack };
  await Promise.all([client.close(), server.close()]);
  return result;
}

describe('yamux window updates (patched)', () => {
  it('does not answer every data frame with a window update', async () => {
    const { received, framesBack } = await stream(200);
    expect(received).toBe(200 * 1024);
    // The stream's ACK, a keep-alive answer, and one update once 128 KB (half the initial 256 KB
    // window) were used; unpatched it was one per message (202).
    expect(framesBack).toBeLessThan(10);
  });

  it('still opens the window for a stream far larger than it (no stall)', async () => {
    // 4 MB through a 256 KB initial window: the sender would stall for good without updates.
    const { received, framesBack } = await stream(4096);
    expect(received).toBe(4096 * 1024);
    // One update per half window at most (the window may also grow), not one per frame (4,096).
    expect(framesBack).toBeGreaterThan(1);
    expect(framesBack).toBeLessThan(4096 / 64);
  });
});
