// The node's HTTP surface (fastify): GET /status (NodeStatus as JSON), GET /metrics (Prometheus
// text), GET / (the dashboard), GET /healthz. It binds to 127.0.0.1 by default: the status names
// signers, peers and accounts, so exposing it is an operator's explicit choice (a reverse proxy).

import { readFileSync } from 'node:fs';
import path from 'node:path';
import Fastify from 'fastify';
import type { Registry } from 'prom-client';
import type { Logger } from '../log.ts';
import type { NodeStatus } from './types.ts';

export interface ApiServerOptions {
  host?: string;
  /** 0 picks a free port. */
  port: number;
  status: () => NodeStatus | Promise<NodeStatus>;
  metrics: Registry;
  log: Logger;
}

export interface ApiServer {
  /** http://host:port once started; throws before. */
  readonly url: string;
  start(): Promise<string>;
  stop(): Promise<void>;
}

// Read once: the page is static and small; no build step, nothing fetched from outside.
const ASSETS_DIR = import.meta.dirname;
const DASHBOARD_HTML = readFileSync(path.join(ASSETS_DIR, 'dashboard.html'), 'utf8');
const DASHBOARD_JS = readFileSync(path.join(ASSETS_DIR, 'dashboard.js'), 'utf8');

// The page loads only its own script and fetches only /status: nothing else may run in it.
const CSP =
  "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:";

/** JSON has no bigint: amounts from the chain go out as decimal strings. */
function toJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
}

export function createApiServer(options: ApiServerOptions): ApiServer {
  const host = options.host ?? '127.0.0.1';
  const log = options.log;
  // Fastify's own request log would print a line per dashboard poll (every second): off.
  const app = Fastify({ logger: false });
  let url: string | undefined;

  app.get('/healthz', async () => ({ ok: true }));

  app.get('/status', async (_request, reply) => {
    try {
      const status = await options.status();
      return reply.header('cache-control', 'no-store').type('application/json').send(toJson(status));
    } catch (error) {
      log.warn({ err: error instanceof Error ? error.message : String(error) }, 'status failed');
      return reply.code(500).send({ error: 'status unavailable' });
    }
  });

  app.get('/metrics', async (_request, reply) => {
    const body = await options.metrics.metrics();
    return reply.type(options.metrics.contentType).send(body);
  });

  app.get('/', async (_request, reply) =>
    reply.header('content-security-policy', CSP).type('text/html; charset=utf-8').send(DASHBOARD_HTML),
  );
  app.get('/dashboard.js', async (_request, reply) =>
    reply.type('text/javascript; charset=utf-8').send(DASHBOARD_JS),
  );

  return {
    get url() {
      if (url === undefined) throw new Error('API server not started');
      return url;
    },
    async start() {
      await app.listen({ host, port: options.port });
      const address = app.server.address();
      const port = typeof address === 'object' && address !== null ? address.port : options.port;
      url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
      log.info({ url }, 'API listening');
      return url;
    },
    async stop() {
      await app.close();
    },
  };
}
