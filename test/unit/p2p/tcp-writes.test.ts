// The @libp2p/tcp patch (patches/README.md): a send leaves in one socket write. Over a real libp2p
// connection (TCP on 127.0.0.1, noise, yamux), every write once the connection is up must be one
// whole noise frame: its 2-byte length, then that many bytes. Unpatched, the length went alone.

import { Socket } from 'node:net';
import { noise } from '@libp2p/noise';
import { ping } from '@libp2p/ping';
import { tcp } from '@libp2p/tcp';
import { yamux } from '@libp2p/yamux';
import { createLibp2p } from 'libp2p';
import { afterEach, describe, expect, it, vi } from 'vitest';

const node = () =>
  createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { ping: ping() },
  });

describe('libp2p TCP writes (patched)', () => {
  const stops: Array<() => void | Promise<void>> = [];
  afterEach(async () => {
    vi.restoreAllMocks();
    await Promise.all(stops.splice(0).map((stop) => stop()));
  });

  it('writes each noise frame whole, its length prefix with it', async () => {
    const [a, b] = await Promise.all([node(), node()]);
    stops.push(
      () => a.stop(),
      () => b.stop(),
    );
    await a.dial(b.getMultiaddrs());
    const writes: Uint8Array[] = [];
    const write = Socket.prototype.write;
    vi.spyOn(Socket.prototype, 'write').mockImplementation(function (this: Socket, ...args: unknown[]) {
      if (args[0] instanceof Uint8Array) writes.push(args[0]);
      return (write as (...a: unknown[]) => boolean).apply(this, args);
    });
    for (let i = 0; i < 10; i++) await a.services.ping.ping(b.peerId);
    expect(writes.length).toBeGreaterThan(20);
    const frames = writes.map((w) => ({ length: w.byteLength, framed: Buffer.from(w).readUInt16BE(0) + 2 }));
    expect(frames.filter((f) => f.length !== f.framed)).toEqual([]);
  });
});
