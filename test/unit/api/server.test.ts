// The API server against a fake status: the JSON shape of /status, valid Prometheus text on
// /metrics with every documented metric, the dashboard and its script served from the node itself.

import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ApiServer,
  createApiServer,
  createNodeMetrics,
  METRIC_NAMES,
  type NodeMetrics,
} from '../../../relayer/api/index.ts';
import type { NodeStatus } from '../../../relayer/api/types.ts';
import { fakeStatus, TRADER } from '../../support/status.ts';

const log = pino({ level: 'silent' });

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A strict reader of the Prometheus text format (v0.0.4): throws on any line it cannot read. */
function parsePrometheus(text: string): { samples: Sample[]; types: Map<string, string> } {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const meta = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (meta !== null) {
      if (meta[1] === 'TYPE') types.set(meta[2] as string, meta[3] as string);
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (-?[0-9.eE+-]+|NaN|\+Inf|-Inf)$/.exec(line);
    if (m === null) throw new Error(`not a Prometheus sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const pair of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[pair[1] as string] = pair[2] as string;
    }
    samples.push({ name: m[1] as string, labels, value: Number(m[3]) });
  }
  return { samples, types };
}

describe('API server', () => {
  const fake = fakeStatus(1.8);
  let metrics: NodeMetrics;
  let server: ApiServer;
  let failStatus = false;

  beforeAll(async () => {
    metrics = createNodeMetrics();
    metrics.bindSources({
      chains: () => [
        { chain: 'devnet-a', head: 120, lag: 0 },
        { chain: 'devnet-b', head: null, lag: null },
      ],
      peers: () => 3,
      storeSizeBytes: async () => 4096,
    });
    server = createApiServer({
      port: 0,
      status: async () => {
        if (failStatus) throw new Error('store closed');
        return fake.status();
      },
      metrics: metrics.registry,
      log,
    });
    await server.start();
  });

  afterAll(async () => {
    await server.stop();
  });

  it('binds to 127.0.0.1 on a free port', () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('GET /healthz answers ok', async () => {
    const res = await fetch(`${server.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true });
  });

  it('GET /status returns the NodeStatus as JSON', async () => {
    const res = await fetch(`${server.url}/status`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const body = (await res.json()) as NodeStatus;
    expect(Object.keys(body).sort()).toEqual([
      'accounts',
      'chains',
      'liquidations',
      'node',
      'packets',
      'peers',
      'rebalances',
    ]);
    expect(body.node).toMatchObject({ version: '0.1.0', roles: ['attestor', 'executor'] });
    expect(typeof body.node.uptimeS).toBe('number');
    expect(body.peers[0]).toMatchObject({
      score: 12.5,
      addrs: [expect.stringMatching(/^\/ip4\/127\.0\.0\.1\/tcp\/40211\//)],
    });
    expect(body.chains.map((c) => c.name)).toEqual(['devnet-a', 'devnet-b', 'devnet-c']);
    expect(body.chains[2]).toMatchObject({ rpcOk: false, lastError: 'connect ECONNREFUSED' });
    const account = body.accounts?.[0];
    expect(account).toMatchObject({ account: TRADER, subaccount: 0 });
    expect(account?.engines.map((e) => e.health)).toEqual([1.8, null]);
    expect(account?.engines[0]?.liquidationDistancePct).toBeCloseTo(44.4, 1);
    expect(account?.collateral.map((c) => c.chain)).toEqual(['devnet-a', 'devnet-b', 'devnet-c']);
    expect(body.packets).toMatchObject({ inFlight: 2, verified: 14, delivered: 13 });
    expect(body.packets.failed[0]?.reason).toContain('reverted');
    expect(body.liquidations[0]).toMatchObject({ state: 'landed', engineEid: 40102 });
  });

  it('GET /status follows the provider (health after a price move)', async () => {
    fake.setHealth(0.9);
    const body = (await (await fetch(`${server.url}/status`)).json()) as NodeStatus;
    expect(body.accounts?.[0]?.engines[0]?.health).toBe(0.9);
    fake.setHealth(1.8);
  });

  it('GET /status answers 500 with a short error when the provider fails', async () => {
    failStatus = true;
    try {
      const res = await fetch(`${server.url}/status`);
      expect(res.status).toBe(500);
      expect(await res.json()).toEqual({ error: 'status unavailable' });
    } finally {
      failStatus = false;
    }
  });

  it('GET /metrics is valid Prometheus text with every documented metric', async () => {
    metrics.gossip('claim', 'in');
    metrics.gossipSink.onValidation('dvnSignature', 'UNBOUND_PEER');
    metrics.gossipSink.onValidation('dvnSignature', 'BAD_SIGNATURE');
    metrics.gossipSink.onPublish?.('heartbeat', 120);
    metrics.attestorRefusal('rpc_disagreement');
    metrics.packetVerified(4.2);
    metrics.packetDelivered(6.1);
    metrics.liquidation(1.3);

    const res = await fetch(`${server.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const { samples, types } = parsePrometheus(await res.text());

    for (const name of Object.values(METRIC_NAMES)) expect(types.has(name), name).toBe(true);
    expect(types.get(METRIC_NAMES.gossipMessages)).toBe('counter');
    expect(types.get(METRIC_NAMES.packetVerification)).toBe('histogram');
    expect(types.get(METRIC_NAMES.packetDelivery)).toBe('histogram');
    expect(types.get(METRIC_NAMES.liquidation)).toBe('histogram');
    expect(types.get(METRIC_NAMES.peers)).toBe('gauge');

    const value = (name: string, labels: Record<string, string> = {}) =>
      samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
        ?.value;
    expect(value(METRIC_NAMES.gossipMessages, { topic: 'claim', direction: 'in' })).toBe(1);
    expect(value(METRIC_NAMES.gossipMessages, { topic: 'dvnSignature', direction: 'ignored' })).toBe(1);
    expect(value(METRIC_NAMES.gossipMessages, { topic: 'dvnSignature', direction: 'rejected' })).toBe(1);
    expect(value(METRIC_NAMES.gossipMessages, { topic: 'heartbeat', direction: 'out' })).toBe(1);
    // Every (topic, direction) exists from the start, at zero.
    expect(value(METRIC_NAMES.gossipMessages, { topic: 'observation', direction: 'rejected' })).toBe(0);
    // Rejections per code; the ignored UNBOUND_PEER counts there too, nothing else did.
    expect(value(METRIC_NAMES.gossipRejections, { topic: 'dvnSignature', code: 'BAD_SIGNATURE' })).toBe(1);
    expect(value(METRIC_NAMES.gossipRejections, { topic: 'dvnSignature', code: 'UNBOUND_PEER' })).toBe(1);
    expect(value(METRIC_NAMES.gossipRejections, { topic: 'dvnSignature', code: 'UNKNOWN_SIGNER' })).toBe(0);
    expect(value(METRIC_NAMES.attestorRefusals, { reason: 'rpc_disagreement' })).toBe(1);
    expect(value(METRIC_NAMES.attestorRefusals, { reason: 'not_confirmed' })).toBe(0);
    expect(value(`${METRIC_NAMES.packetVerification}_count`)).toBe(1);
    expect(value(`${METRIC_NAMES.packetVerification}_sum`)).toBeCloseTo(4.2);
    expect(value(`${METRIC_NAMES.packetDelivery}_bucket`, { le: '8' })).toBe(1);
    expect(value(`${METRIC_NAMES.liquidation}_bucket`, { le: '+Inf' })).toBe(1);
    expect(value(METRIC_NAMES.chainHead, { chain: 'devnet-a' })).toBe(120);
    expect(value(METRIC_NAMES.chainLag, { chain: 'devnet-a' })).toBe(0);
    // A chain whose head is not known yet is absent, not reported as block 0.
    expect(value(METRIC_NAMES.chainHead, { chain: 'devnet-b' })).toBeUndefined();
    expect(value(METRIC_NAMES.storeSize)).toBe(4096);
    expect(value(METRIC_NAMES.peers)).toBe(3);
    // Default process metrics carry the prefix.
    expect(types.has('xmargin_process_cpu_user_seconds_total')).toBe(true);
    expect(samples.every((s) => s.name.startsWith('xmargin_'))).toBe(true);
  });

  it('keeps one registry per node', async () => {
    const other = createNodeMetrics({ defaultMetrics: false });
    other.gossip('claim', 'in');
    other.gossip('claim', 'in');
    const text = await other.registry.metrics();
    expect(text).toContain('xmargin_gossip_messages_total{topic="claim",direction="in"} 2');
    expect(text).not.toContain('process_cpu');
  });

  it('GET / serves the dashboard and its script, with nothing from outside', async () => {
    const page = await fetch(`${server.url}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
    const html = await page.text();
    expect(html).toContain('<script src="/dashboard.js"></script>');
    expect(html).not.toMatch(/https?:\/\//);
    const script = await fetch(`${server.url}/dashboard.js`);
    expect(script.headers.get('content-type')).toMatch(/^text\/javascript/);
    const js = await script.text();
    expect(js).toContain("fetch('/status'");
    expect(js).not.toMatch(/https?:\/\//);
  });
});
