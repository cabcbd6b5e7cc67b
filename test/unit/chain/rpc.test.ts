// ChainRpc against scripted local JSON-RPC servers: the chain-id check, retry on transport errors
// only, timeouts, and the multi-RPC agreement rule.

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { ChainRpc, RPC_ERROR, RpcDisagreement, RpcError, shouldRetry } from '../../../relayer/chain/rpc.ts';

type Answer = (
  method: string,
  params: unknown[],
) => { status?: number; result?: unknown; error?: unknown; delayMs?: number };

const servers: Server[] = [];
async function serve(answer: Answer): Promise<{ url: string; calls: string[] }> {
  const calls: string[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const { id, method, params } = JSON.parse(body) as { id: number; method: string; params: unknown[] };
      calls.push(method);
      const a = answer(method, params);
      setTimeout(() => {
        res.writeHead(a.status ?? 200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify(
            a.error === undefined
              ? { jsonrpc: '2.0', id, result: a.result }
              : { jsonrpc: '2.0', id, error: a.error },
          ),
        );
      }, a.delayMs ?? 0);
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, calls };
}
afterAll(() => {
  for (const s of servers) s.close();
});

const chain = (urls: string[]) => ({ name: 'test', chainId: 5, rpcUrls: urls });
const block = (hash: string) => ({
  number: '0x10',
  hash,
  parentHash: `0x${'00'.repeat(32)}`,
  timestamp: '0x1',
});
const log = (data: string) => ({
  address: '0x0000000000000000000000000000000000000001',
  topics: [],
  data,
  blockNumber: '0x10',
  blockHash: `0x${'aa'.repeat(32)}`,
  transactionHash: `0x${'bb'.repeat(32)}`,
  transactionIndex: '0x0',
  logIndex: '0x0',
});

describe('ChainRpc', () => {
  it('names the chain, the URL, and both ids on a chain-id mismatch', async () => {
    const { url } = await serve(() => ({ result: '0x6' }));
    const rpc = new ChainRpc(chain([url]), { retries: 0 });
    const err = (await rpc.checkChainIds().catch((e: unknown) => e)) as RpcError;
    rpc.destroy();
    expect(err.code).toBe(RPC_ERROR.chainMismatch);
    expect(err.message).toContain('chain test');
    expect(err.message).toContain(url);
    expect(err.message).toMatch(/serves chain id 6, expected 5/);
  });

  it('retries a 503 and then answers', async () => {
    let n = 0;
    const { url, calls } = await serve(() => (n++ < 2 ? { status: 503, result: null } : { result: '0x2a' }));
    const rpc = new ChainRpc(chain([url]), { retries: 3, backoffMs: 5 });
    expect(await rpc.blockNumber()).toBe(42);
    rpc.destroy();
    expect(calls.length).toBe(3);
  });

  it('does not retry a revert', async () => {
    const { url, calls } = await serve(() => ({
      error: { code: 3, message: 'execution reverted', data: '0x' },
    }));
    const rpc = new ChainRpc(chain([url]), { retries: 3, backoffMs: 5 });
    const err = await rpc
      .call({ to: '0x0000000000000000000000000000000000000001', data: '0x' })
      .catch((e: unknown) => e);
    rpc.destroy();
    expect(err).toBeInstanceOf(RpcError);
    expect((err as RpcError).code).toBe(RPC_ERROR.reverted);
    expect(calls.length).toBe(1);
  });

  it('times out a slow RPC', async () => {
    const { url } = await serve(() => ({ result: '0x1', delayMs: 500 }));
    const rpc = new ChainRpc(chain([url]), { retries: 0, timeoutMs: 50 });
    const err = await rpc.blockNumber().catch((e: unknown) => e);
    rpc.destroy();
    expect((err as RpcError).code).toBe(RPC_ERROR.timeout);
  });

  it('reports a timed-out attempt as trouble while it retries, and clears it on the next answer', async () => {
    let slow = true;
    const { url } = await serve(() => ({ result: '0x2', delayMs: slow ? 500 : 0 }));
    const rpc = new ChainRpc(chain([url]), { retries: 3, timeoutMs: 50, backoffMs: 100 });
    const read = rpc.blockNumber();
    await new Promise((r) => setTimeout(r, 80));
    // The read has not given up yet (3 retries left), but the hung RPC already shows.
    expect(rpc.trouble()?.code).toBe(RPC_ERROR.timeout);
    slow = false;
    expect(await read).toBe(2);
    expect(rpc.trouble()).toBeUndefined();
    rpc.destroy();
  });

  it('falls over to the next URL for a single read', async () => {
    const { url: dead } = await serve(() => ({ status: 502, result: null }));
    const { url: good } = await serve(() => ({ result: '0x7' }));
    const rpc = new ChainRpc(chain([dead, good]), { retries: 1, backoffMs: 5 });
    expect(await rpc.blockNumber()).toBe(7);
    rpc.destroy();
  });

  it('throws RpcDisagreement when two RPCs return different logs or blocks, and agrees when equal', async () => {
    const { url: a } = await serve((m) =>
      m === 'eth_getLogs' ? { result: [log('0x01')] } : { result: block(`0x${'11'.repeat(32)}`) },
    );
    const { url: b } = await serve((m) =>
      m === 'eth_getLogs' ? { result: [log('0x02')] } : { result: block(`0x${'22'.repeat(32)}`) },
    );
    const { url: c } = await serve((m) =>
      m === 'eth_getLogs' ? { result: [log('0x01')] } : { result: block(`0x${'11'.repeat(32)}`) },
    );
    const split = new ChainRpc(chain([a, b]), { retries: 0 });
    await expect(split.getLogsAgreed({ fromBlock: 1, toBlock: 2 })).rejects.toBeInstanceOf(RpcDisagreement);
    await expect(split.getBlockAgreed(16)).rejects.toThrow(/disagree on block 16/);
    split.destroy();
    const agree = new ChainRpc(chain([a, c]), { retries: 0 });
    expect((await agree.getLogsAgreed({ fromBlock: 1, toBlock: 2 }))[0]?.data).toBe('0x01');
    expect((await agree.getBlockAgreed(16))?.number).toBe(16);
    agree.destroy();
  });

  it('shouldRetry: transport yes, revert / disagreement no', () => {
    expect(shouldRetry(new RpcError(RPC_ERROR.timeout, 'x', 't'))).toBe(true);
    expect(shouldRetry(new RpcError(RPC_ERROR.rateLimited, 'x', 't'))).toBe(true);
    expect(shouldRetry(new RpcError(RPC_ERROR.reverted, 'x', 't'))).toBe(false);
    expect(shouldRetry(new RpcDisagreement('x', 'logs', []))).toBe(false);
    expect(shouldRetry({ code: 'ECONNREFUSED', message: 'connect ECONNREFUSED' })).toBe(true);
    expect(shouldRetry({ code: 'CALL_EXCEPTION', message: 'execution reverted' })).toBe(false);
  });
});
