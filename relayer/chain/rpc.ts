// Every provider call of the node goes through this module, so timeouts, retries, the chain-id check
// and the multi-RPC agreement rule live in one place, and tests can fake one small surface.
//
// One `ChainRpc` per chain. Single reads use the first URL that answers (in order); the reads an
// attestor signs on (`getLogsAgreed`, `getBlockAgreed`) ask every configured URL and refuse when
// they differ: a single poisoned RPC must not be able to make the node sign a packet that never
// happened.

import {
  FetchRequest,
  JsonRpcProvider,
  Network,
  type TransactionReceipt,
  type TransactionRequest,
  type Wallet,
} from 'ethers';
import type { Address, Hex } from '../config/types.ts';

/** The part of a chain's config this module needs (a ChainConfig fits). */
export interface RpcChain {
  name: string;
  chainId: number;
  rpcUrls: string[];
}

export interface RpcOptions {
  /** Per request. Default 10 s (the node passes its own, configurable, default: rpcSettings). */
  timeoutMs?: number;
  /** Extra attempts after the first, for retryable errors only. Default 4. */
  retries?: number;
  /** First backoff; doubles each attempt, with jitter. Default 200 ms. */
  backoffMs?: number;
  /** How often a sent transaction's receipt is polled. Default 250 ms. */
  pollingIntervalMs?: number;
}

/** A block as the follower and the attestor need it. */
export interface BlockHeader {
  number: number;
  hash: Hex;
  parentHash: Hex;
  timestamp: number;
}

/** A log, normalised (plain data, lower-case address) so two RPCs' answers compare by value. */
export interface ChainLog {
  address: Address;
  topics: Hex[];
  data: Hex;
  blockNumber: number;
  blockHash: Hex;
  transactionHash: Hex;
  transactionIndex: number;
  logIndex: number;
}

export interface LogFilter {
  address?: Address | Address[];
  topics?: (Hex | Hex[] | null)[];
  fromBlock?: number;
  toBlock?: number;
  blockHash?: Hex;
}

/** Bounded error codes (usable as metric labels). */
export const RPC_ERROR = {
  timeout: 'timeout',
  network: 'network',
  server: 'server',
  rateLimited: 'rate_limited',
  reverted: 'reverted',
  badResponse: 'bad_response',
  chainMismatch: 'chain_mismatch',
  disagreement: 'disagreement',
} as const;
export type RpcErrorCode = (typeof RPC_ERROR)[keyof typeof RPC_ERROR];

export class RpcError extends Error {
  readonly code: RpcErrorCode;
  readonly chain: string;
  readonly url: string | undefined;
  constructor(code: RpcErrorCode, chain: string, message: string, url?: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'RpcError';
    this.code = code;
    this.chain = chain;
    this.url = url;
  }
}

/** The configured RPCs of one chain gave different answers to the same question. */
export class RpcDisagreement extends RpcError {
  readonly what: string;
  readonly answers: { url: string; answer: string }[];
  constructor(chain: string, what: string, answers: { url: string; answer: string }[]) {
    super(
      RPC_ERROR.disagreement,
      chain,
      `RPCs of chain ${chain} disagree on ${what}: ${answers.map((a) => `${a.url} -> ${a.answer.slice(0, 120)}`).join(' | ')}`,
    );
    this.name = 'RpcDisagreement';
    this.what = what;
    this.answers = answers;
  }
}

/**
 * The one retry rule: transport failures, timeouts, rate limits and 5xx are retried; reverts,
 * bad arguments, chain mismatches and disagreements are not (asking again cannot change them).
 */
export function shouldRetry(err: unknown): boolean {
  const code = err instanceof RpcError ? err.code : classify(err);
  return code !== undefined && RETRYABLE.has(code);
}

const RETRYABLE: ReadonlySet<RpcErrorCode> = new Set([
  RPC_ERROR.timeout,
  RPC_ERROR.network,
  RPC_ERROR.server,
  RPC_ERROR.rateLimited,
]);

/**
 * Maps an ethers / fetch error to a code; undefined when it is not an RPC failure we know. Codes and
 * HTTP statuses first; text only from the short message (the long one embeds request and response
 * bodies, where any word may appear).
 */
function classify(err: unknown): RpcErrorCode | undefined {
  const e = err as {
    code?: unknown;
    shortMessage?: unknown;
    message?: unknown;
    error?: { code?: unknown; message?: unknown };
    info?: { responseStatus?: unknown };
    cause?: { code?: unknown };
  };
  if (e === null || typeof e !== 'object') return undefined;
  const code = e.code ?? e.cause?.code;
  const status = Number(String(e.info?.responseStatus ?? '').split(' ')[0]);
  const msg = `${String(e.shortMessage ?? e.message ?? '')} ${String(e.error?.message ?? '')}`.toLowerCase();
  if (code === 'TIMEOUT' || msg.includes('timeout')) return RPC_ERROR.timeout;
  if (code === 'CALL_EXCEPTION' || msg.includes('revert')) return RPC_ERROR.reverted;
  if (code === 'INVALID_ARGUMENT' || code === 'BAD_DATA') return RPC_ERROR.badResponse;
  if (status === 429 || msg.includes('rate limit') || e.error?.code === -32005) return RPC_ERROR.rateLimited;
  if (status >= 500 && status <= 599) return RPC_ERROR.server;
  if (
    code === 'NETWORK_ERROR' ||
    code === 'ECONNREFUSED' ||
    code === 'ECONNRESET' ||
    msg.includes('fetch failed') ||
    msg.includes('socket hang up')
  ) {
    return RPC_ERROR.network;
  }
  if (code === 'SERVER_ERROR' || code === 'UNKNOWN_ERROR') return RPC_ERROR.server;
  return undefined;
}

function toRpcError(err: unknown, chain: string, url: string): RpcError {
  if (err instanceof RpcError) return err;
  const code = classify(err) ?? RPC_ERROR.server;
  const message = err instanceof Error ? err.message : String(err);
  return new RpcError(code, chain, `${chain} (${url}): ${message}`, url, err);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class ChainRpc {
  readonly chain: RpcChain;
  private readonly providers: { url: string; provider: JsonRpcProvider }[];
  private readonly timeoutMs: number;
  private readonly pollingIntervalMs: number;
  private readonly retries: number;
  private readonly backoffMs: number;
  /** Per-sender queue: one transaction at a time per key, so nonces never collide. */
  private readonly sendQueues = new Map<string, Promise<unknown>>();
  private readonly nextNonce = new Map<string, number>();
  /** The last failed attempt since the last answer (see `trouble`). */
  private failing: RpcError | undefined;

  constructor(chain: RpcChain, options: RpcOptions = {}) {
    if (chain.rpcUrls.length === 0) {
      throw new Error(`chain ${chain.name} has no rpcUrls: add at least one URL to its config`);
    }
    this.chain = chain;
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.pollingIntervalMs = options.pollingIntervalMs ?? 250;
    this.retries = options.retries ?? 4;
    this.backoffMs = options.backoffMs ?? 200;
    // staticNetwork: ethers never re-detects the network behind our back; `checkChainIds` does it once.
    const network = Network.from(chain.chainId);
    this.providers = chain.rpcUrls.map((url) => {
      const req = new FetchRequest(url);
      req.timeout = this.timeoutMs;
      return {
        url,
        // pollingInterval: how often tx.wait() asks for a receipt. ethers' default of 4 s cost every
        // verify / commit / deliver step up to 4 s on 1-second chains; 250 ms keeps a step to ~a block.
        provider: new JsonRpcProvider(req, network, {
          staticNetwork: network,
          batchMaxCount: 1,
          pollingInterval: this.pollingIntervalMs,
        }),
      };
    });
  }

  /** The first provider: what transactions are sent through. */
  get primary(): JsonRpcProvider {
    return (this.providers[0] as { provider: JsonRpcProvider }).provider;
  }

  /** Startup check: every URL must serve the configured chain id. */
  async checkChainIds(): Promise<void> {
    for (const { url, provider } of this.providers) {
      const got = Number(await this.attempt(url, () => provider.send('eth_chainId', []) as Promise<string>));
      if (got !== this.chain.chainId) {
        throw new RpcError(
          RPC_ERROR.chainMismatch,
          this.chain.name,
          `chain ${this.chain.name}: RPC ${url} serves chain id ${got}, expected ${this.chain.chainId} ` +
            '(fix the URL or the chainId in the network config)',
          url,
        );
      }
    }
  }

  async blockNumber(): Promise<number> {
    // Raw request: ethers' getBlockNumber caches its promise (a rejection too) for 250 ms, which
    // would turn our retries into replays of the same failure.
    return this.read('blockNumber', async (p) => Number(await p.send('eth_blockNumber', [])));
  }

  /** A block header by number, 'latest' or hash; null when the node does not have it (yet). */
  async getBlock(tag: number | 'latest' | Hex): Promise<BlockHeader | null> {
    return this.read(`block ${tag}`, (p) => fetchBlock(p, tag));
  }

  async getLogs(filter: LogFilter): Promise<ChainLog[]> {
    return this.read('logs', (p) => fetchLogs(p, filter));
  }

  /** Logs from every configured URL; throws RpcDisagreement unless all answers are identical. */
  async getLogsAgreed(filter: LogFilter): Promise<ChainLog[]> {
    return this.agreed(`logs ${JSON.stringify(filter)}`, (p) => fetchLogs(p, filter));
  }

  /** A block from every configured URL; throws RpcDisagreement unless all answers are identical. */
  async getBlockAgreed(tag: number | Hex): Promise<BlockHeader | null> {
    return this.agreed(`block ${tag}`, (p) => fetchBlock(p, tag));
  }

  async getReceipt(txHash: Hex): Promise<TransactionReceipt | null> {
    return this.read(`receipt ${txHash}`, (p) => p.getTransactionReceipt(txHash));
  }

  /** eth_call; a revert is thrown as RpcError('reverted') carrying the revert data in `cause`. */
  async call(tx: { to: Address; data: Hex; from?: Address; value?: bigint }): Promise<Hex> {
    return this.read(`call ${tx.to}`, (p) => p.call(tx) as Promise<Hex>);
  }

  /** A raw JSON-RPC request (test helpers, anvil methods). */
  async send<T>(method: string, params: unknown[]): Promise<T> {
    return this.read(method, (p) => p.send(method, params) as Promise<T>);
  }

  /**
   * Sends a transaction from `wallet` and waits for its receipt. Transactions of one sender are
   * queued, because ethers picks the nonce from the pending count and two concurrent sends would
   * get the same one. Not retried here: a resend may double-spend an action, callers decide.
   */
  async sendTransaction(wallet: Wallet, tx: TransactionRequest): Promise<TransactionReceipt> {
    // Only the broadcast is queued per signer (it takes the pending nonce); receipts are awaited
    // concurrently, so several transactions of one node can land in the same block.
    const key = wallet.address.toLowerCase();
    const previous = this.sendQueues.get(key) ?? Promise.resolve();
    const broadcast = previous
      .catch(() => undefined)
      .then(async () => {
        const signer = wallet.connect(this.primary);
        // The nonce is tracked here: the provider caches eth_getTransactionCount for 250 ms, so two
        // back-to-back sends would otherwise get the same one.
        const pending = Number(
          await this.primary.send('eth_getTransactionCount', [wallet.address, 'pending']),
        );
        const nonce = Math.max(pending, this.nextNonce.get(key) ?? 0);
        try {
          const sent = await this.withTimeout(
            this.chain.rpcUrls[0] ?? '',
            signer.sendTransaction({ ...tx, nonce }),
          );
          this.nextNonce.set(key, nonce + 1);
          return sent;
        } catch (err) {
          this.nextNonce.delete(key); // nothing went out: re-read the chain's count next time
          throw err;
        }
      });
    this.sendQueues.set(key, broadcast);
    try {
      const sent = await broadcast;
      const receipt = await sent.wait(1, this.timeoutMs * 6);
      if (receipt === null)
        throw new RpcError(RPC_ERROR.timeout, this.chain.name, `no receipt for ${sent.hash}`);
      return receipt;
    } catch (err) {
      throw toRpcError(err, this.chain.name, this.chain.rpcUrls[0] ?? '');
    }
  }

  destroy(): void {
    for (const { provider } of this.providers) provider.destroy();
  }

  /**
   * The last attempt that failed (timed out, transport or server error) with no answer since, while
   * its read may still be retrying. A hung RPC shows here after one `timeoutMs`, not after every
   * attempt of the read has run out; the status reports it (relayer/node/status.ts).
   */
  trouble(): RpcError | undefined {
    return this.failing;
  }

  /** Tries the URLs in order; each one with retries. The last error wins. */
  private async read<T>(what: string, fn: (p: JsonRpcProvider) => Promise<T>): Promise<T> {
    let last: unknown;
    for (const { url, provider } of this.providers) {
      try {
        return await this.attempt(url, () => fn(provider));
      } catch (err) {
        last = err;
        // A revert is an answer, not an outage: another URL would say the same.
        if (!shouldRetry(err)) throw err;
      }
    }
    throw last instanceof Error ? last : new RpcError(RPC_ERROR.server, this.chain.name, `${what} failed`);
  }

  private async agreed<T>(what: string, fn: (p: JsonRpcProvider) => Promise<T>): Promise<T> {
    const answers = await Promise.all(
      this.providers.map(async ({ url, provider }) => ({
        url,
        value: await this.attempt(url, () => fn(provider)),
      })),
    );
    const rendered = answers.map((a) => ({ url: a.url, answer: JSON.stringify(a.value) }));
    const first = rendered[0] as { answer: string };
    if (rendered.some((r) => r.answer !== first.answer)) {
      throw new RpcDisagreement(this.chain.name, what, rendered);
    }
    return (answers[0] as { value: T }).value;
  }

  private async attempt<T>(url: string, fn: () => Promise<T>): Promise<T> {
    for (let i = 0; ; i++) {
      try {
        const answer = await this.withTimeout(url, fn());
        this.failing = undefined;
        return answer;
      } catch (raw) {
        const err = toRpcError(raw, this.chain.name, url);
        // A revert or a bad argument is an answer: the RPC itself is fine.
        this.failing = shouldRetry(err) ? err : undefined;
        if (i >= this.retries || !shouldRetry(err)) throw err;
        const delay = this.backoffMs * 2 ** i;
        await sleep(delay / 2 + Math.random() * (delay / 2));
      }
    }
  }

  private async withTimeout<T>(url: string, promise: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new RpcError(RPC_ERROR.timeout, this.chain.name, `${this.chain.name} (${url}): timed out`, url),
          ),
        this.timeoutMs,
      );
    });
    try {
      return await Promise.race([promise, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}

async function fetchBlock(p: JsonRpcProvider, tag: number | 'latest' | Hex): Promise<BlockHeader | null> {
  const param = typeof tag === 'number' ? `0x${tag.toString(16)}` : tag;
  const method = typeof tag === 'string' && tag.length === 66 ? 'eth_getBlockByHash' : 'eth_getBlockByNumber';
  const raw = (await p.send(method, [param, false])) as {
    number: string;
    hash: string;
    parentHash: string;
    timestamp: string;
  } | null;
  if (raw === null) return null;
  return {
    number: Number(raw.number),
    hash: raw.hash.toLowerCase() as Hex,
    parentHash: raw.parentHash.toLowerCase() as Hex,
    timestamp: Number(raw.timestamp),
  };
}

async function fetchLogs(p: JsonRpcProvider, filter: LogFilter): Promise<ChainLog[]> {
  const param: Record<string, unknown> = {};
  if (filter.address !== undefined) param.address = filter.address;
  if (filter.topics !== undefined) param.topics = filter.topics;
  if (filter.blockHash !== undefined) param.blockHash = filter.blockHash;
  else {
    if (filter.fromBlock !== undefined) param.fromBlock = `0x${filter.fromBlock.toString(16)}`;
    if (filter.toBlock !== undefined) param.toBlock = `0x${filter.toBlock.toString(16)}`;
  }
  const raw = (await p.send('eth_getLogs', [param])) as {
    address: string;
    topics: string[];
    data: string;
    blockNumber: string;
    blockHash: string;
    transactionHash: string;
    transactionIndex: string;
    logIndex: string;
    removed?: boolean;
  }[];
  return raw
    .filter((l) => l.removed !== true)
    .map((l) => ({
      address: l.address.toLowerCase() as Address,
      topics: l.topics.map((t) => t.toLowerCase() as Hex),
      data: l.data.toLowerCase() as Hex,
      blockNumber: Number(l.blockNumber),
      blockHash: l.blockHash.toLowerCase() as Hex,
      transactionHash: l.transactionHash.toLowerCase() as Hex,
      transactionIndex: Number(l.transactionIndex),
      logIndex: Number(l.logIndex),
    }));
}
