// An HTTP JSON-RPC proxy in front of one anvil with switchable faults, for the fault suite's chain-edge
// scenarios (rpc.test.ts, poison.test.ts): pass; timeout (requests held unanswered); error (HTTP 500
// and JSON-RPC errors); lag (the latest block served N blocks behind); rewrite (the upstream's answers
// passed through a function: a lying RPC, e.g. one that fabricates logs).

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Mode = 'pass' | 'timeout' | 'error' | 'lag' | 'rewrite';

export interface Rpcreq {
  jsonrpc?: string;
  id?: unknown;
  method?: string;
  params?: unknown[];
}

/** An HTTP JSON-RPC proxy in front of one anvil, with switchable faults. */
export class FaultProxy {
  mode: Mode = 'pass';
  /** Blocks behind the real head in `lag` mode. */
  lagBlocks = 5;
  /** Requests received (any mode). */
  requests = 0;
  /** `rewrite` mode: what the proxy answers instead of the upstream's `result` (return it unchanged to pass). */
  rewrite: (request: Rpcreq, result: unknown) => unknown = (_, result) => result;
  readonly #upstream: string;
  readonly #server: Server;
  readonly #held = new Set<ServerResponse>();
  #errors = 0;

  constructor(upstream: string) {
    this.#upstream = upstream;
    this.#server = createServer((req, res) => {
      void this.#handle(req, res).catch(() => {
        if (!res.headersSent) res.writeHead(502);
        res.end();
      });
    });
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  set(mode: Mode): void {
    this.mode = mode;
    if (mode !== 'timeout') {
      // Held requests were given up by their clients long ago; drop the sockets.
      for (const res of this.#held) res.destroy();
      this.#held.clear();
    }
  }

  async close(): Promise<void> {
    this.set('pass');
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  async #upstreamCall(body: string): Promise<string> {
    const r = await fetch(this.#upstream, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    return r.text();
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    this.requests++;
    const reply = (status: number, text: string) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(text);
    };
    switch (this.mode) {
      case 'timeout':
        this.#held.add(res);
        res.once('close', () => this.#held.delete(res));
        return;
      case 'error': {
        // Alternately an HTTP 500 and a JSON-RPC error (HTTP 200).
        const id = (JSON.parse(body) as Rpcreq).id ?? null;
        if (this.#errors++ % 2 === 0) reply(500, JSON.stringify({ error: 'upstream unavailable' }));
        else
          reply(
            200,
            JSON.stringify({
              jsonrpc: '2.0',
              id,
              error: { code: -32603, message: 'internal error (proxy)' },
            }),
          );
        return;
      }
      case 'lag': {
        const parsed = JSON.parse(body) as Rpcreq | Rpcreq[];
        const one = async (r: Rpcreq): Promise<unknown> => {
          const head = Number(
            (
              JSON.parse(await this.#upstreamCall('{"jsonrpc":"2.0","id":0,"method":"eth_blockNumber"}')) as {
                result: string;
              }
            ).result,
          );
          const behind = `0x${Math.max(0, head - this.lagBlocks).toString(16)}`;
          if (r.method === 'eth_blockNumber') return { jsonrpc: '2.0', id: r.id, result: behind };
          const params =
            r.method === 'eth_getBlockByNumber' && r.params?.[0] === 'latest'
              ? [behind, ...(r.params?.slice(1) ?? [])]
              : r.params;
          return JSON.parse(await this.#upstreamCall(JSON.stringify({ ...r, params })));
        };
        const out = Array.isArray(parsed) ? await Promise.all(parsed.map(one)) : await one(parsed);
        reply(200, JSON.stringify(out));
        return;
      }
      case 'rewrite': {
        const parsed = JSON.parse(body) as Rpcreq | Rpcreq[];
        const one = async (r: Rpcreq): Promise<unknown> => {
          const answer = JSON.parse(await this.#upstreamCall(JSON.stringify(r))) as { result?: unknown };
          return 'result' in answer ? { ...answer, result: this.rewrite(r, answer.result) } : answer;
        };
        const out = Array.isArray(parsed) ? await Promise.all(parsed.map(one)) : await one(parsed);
        reply(200, JSON.stringify(out));
        return;
      }
      default:
        reply(200, await this.#upstreamCall(body));
    }
  }
}
