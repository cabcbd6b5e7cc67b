// zod (v4) schemas of the config files. Each schema's output type is checked against the shapes in
// ./types.ts at the bottom of this file, so the two cannot drift apart. Messages of refinements are
// written as "<what was expected> — <how to fix it>"; ./load.ts prefixes the file and the field path.

import { isIP } from 'node:net';
import { getAddress } from 'ethers';
import { z } from 'zod';
import {
  type Address,
  type ChainConfig,
  type DevAccount,
  type DevnetManifest,
  type DvnConfig,
  type EngineConfig,
  type Hex,
  type LayerZeroContracts,
  type LiquidationRulesConfig,
  type MarketConfig,
  NODE_ROLES,
  type NodeConfig,
  type RiskAssetConfig,
  type TokenDeployment,
  type XmarginContracts,
} from './types.ts';

/** LayerZero treats eids below this as v1 (ExecutorFeeLib._isV1Eid). */
export const MIN_V2_EID = 30_000;

export const address = z
  .string({ error: 'expected an EVM address (0x followed by 40 hex digits)' })
  .refine((s) => /^0x[0-9a-fA-F]{40}$/.test(s), {
    error:
      'expected an EVM address (0x followed by 40 hex digits) — e.g. "0x5FbDB2315678afecb367f032d93F642f64180aa3"',
  })
  .refine((s) => s === s.toLowerCase() || s.slice(2) === s.slice(2).toUpperCase() || isChecksummed(s), {
    error: 'bad EIP-55 checksum — write the address in lower case or with its correct checksum',
  })
  .transform((s) => s as Address);

function isChecksummed(s: string): boolean {
  try {
    return getAddress(s) === s;
  } catch {
    return false;
  }
}

export const hex = z
  .string()
  .refine((s) => /^0x([0-9a-fA-F]{2})*$/.test(s), { error: 'expected 0x-prefixed hex bytes' })
  .transform((s) => s as Hex);

const privateKey = z
  .string()
  .refine((s) => /^0x[0-9a-fA-F]{64}$/.test(s), {
    error: 'expected a 32-byte private key (0x + 64 hex digits)',
  })
  .transform((s) => s as Hex);

const rpcUrl = z
  .string()
  .refine((s) => /^(https?|wss?):\/\/\S+$/.test(s), { error: 'expected an http(s):// or ws(s):// URL' });

export const layerZeroContractsSchema = z.object({
  endpointV2: address,
  sendUln302: address,
  receiveUln302: address,
  dvn: address,
  executor: address,
  priceFeed: address,
  dvnFeeLib: address,
  executorFeeLib: address,
  extraDvns: z.array(address).optional(),
  receiveUln302View: address.optional(),
  endpointV2View: address.optional(),
});

export const xmarginContractsSchema = z.object({
  vault: address,
  engine: address.optional(),
  rebalancer: address.optional(),
  weightGovernor: address.optional(),
  market: address.optional(),
});

/** A positive amount of whole tokens as a decimal string ("250000", "0.5"); the token's decimals are checked per chain. */
function tokenAmount(name: string, example: string, what: string) {
  return decimal(name, example, what, { min: ['0', 'excl'] });
}

/** Safety caps a configuration raises over time (`xmargin wire` applies them): see README "Adding a network". */
export const vaultCapsSchema = z.strictObject({
  supply: tokenAmount('supply', '250000', 'the most this vault may hold of the token, in whole tokens'),
  outflowPerDay: tokenAmount(
    'outflowPerDay',
    '25000',
    'the most the vault pays out (releases and seizures) per day before payouts queue, in whole tokens',
  ),
});

export const sourceCapsSchema = z.strictObject({
  credit: tokenAmount('credit', '50000', 'the most credit the engine holds from one source, in whole tokens'),
  bridgedPerDay: tokenAmount(
    'bridgedPerDay',
    '5000',
    'the most newly bridged collateral the engine credits per day from one source, in whole tokens',
  ),
});

export const tokenDeploymentSchema = z.object({
  symbol: z.string().min(1),
  address,
  decimals: z.int().min(0).max(36),
  feed: address.optional(),
  priceAdapter: address.optional(),
  assetId: z.int().min(1).max(65_535).optional(),
  caps: vaultCapsSchema.optional(),
});

const chainFields = {
  name: z.string().refine((s) => /^[a-z0-9][a-z0-9-]*$/.test(s), {
    error: 'expected a short lower-case name (letters, digits, dashes) — e.g. "arbitrum-sepolia"',
  }),
  chainId: z.int().min(1),
  eid: z.int().min(1),
  rpcUrls: z
    .array(rpcUrl)
    .min(1, { error: 'expected at least one RPC URL — e.g. ["http://127.0.0.1:8545"]' }),
  confirmations: z
    .int()
    .min(1, { error: 'expected at least 1 confirmation — set "confirmations" to e.g. 1' }),
  isPublic: z.boolean(),
};

export const chainConfigSchema = z.object({
  ...chainFields,
  layerZero: layerZeroContractsSchema,
  xmargin: xmarginContractsSchema,
  tokens: z.array(tokenDeploymentSchema),
});

export const dvnConfigSchema = z
  .object({
    signers: z.array(address).min(1, { error: 'expected at least one signer address' }),
    quorum: z.int().min(1, { error: 'expected a quorum of at least 1' }),
  })
  .superRefine((dvn, ctx) => {
    if (dvn.quorum > dvn.signers.length) {
      ctx.addIssue({
        code: 'custom',
        path: ['quorum'],
        message: `expected at most ${dvn.signers.length} (the number of signers) — lower "quorum" or add signers`,
      });
    }
    const seen = new Set<string>();
    dvn.signers.forEach((s, i) => {
      if (seen.has(s.toLowerCase())) {
        ctx.addIssue({
          code: 'custom',
          path: ['signers', i],
          message: 'duplicate signer — list each signer once',
        });
      }
      seen.add(s.toLowerCase());
    });
  });

export const devAccountSchema = z.object({
  role: z.enum(['deployer', 'attestor', 'trader', 'liquidator', 'lp', 'spare']),
  address,
  privateKey,
});

/** Rules across the chains of one file: eids >= 30000, names, chain ids and eids unique. */
function checkChains(
  chains: readonly { name: string; eid: number; chainId: number; isPublic: boolean }[],
  ctx: z.RefinementCtx,
) {
  const names = new Set<string>();
  const eids = new Set<number>();
  chains.forEach((c, i) => {
    if (c.eid < MIN_V2_EID) {
      ctx.addIssue({
        code: 'custom',
        path: ['chains', i, 'eid'],
        message:
          `expected an integer >= ${MIN_V2_EID} on ${c.isPublic ? 'public' : 'local'} chains (LayerZero treats ` +
          `lower eids as v1) — set "eid" to e.g. ${c.isPublic ? 40_161 : 40_101 + i}`,
      });
    }
    if (names.has(c.name)) {
      ctx.addIssue({
        code: 'custom',
        path: ['chains', i, 'name'],
        message: `duplicate chain name "${c.name}" — names must be unique`,
      });
    }
    if (eids.has(c.eid)) {
      ctx.addIssue({
        code: 'custom',
        path: ['chains', i, 'eid'],
        message: `duplicate eid ${c.eid} — each chain needs its own eid`,
      });
    }
    names.add(c.name);
    eids.add(c.eid);
  });
}

export const devnetManifestSchema = z
  .object({
    version: z.literal(1, {
      error: 'expected 1 — this manifest format is version 1; rerun `npm run devnet`',
    }),
    createdAt: z.string(),
    chains: z.array(chainConfigSchema).min(1),
    dvn: dvnConfigSchema,
    accounts: z.array(devAccountSchema),
  })
  .superRefine((m, ctx) => checkChains(m.chains, ctx));

// ---------------------------------------------------------------------------- engine section

/** Decimal strings of the engine section ("0.8", "1000000"): digits, an optional fraction of <= 18 digits. */
const DECIMAL = /^\d+(\.\d{1,18})?$/;
const WAD = 10n ** 18n;

/** "0.8" -> 0.8e18. Throws on anything DECIMAL refuses (the schema has checked it before). */
export function parseWad(s: string): bigint {
  if (!DECIMAL.test(s)) throw new Error(`not a decimal string: ${JSON.stringify(s)}`);
  const [whole = '0', frac = ''] = s.split('.');
  return BigInt(whole) * WAD + BigInt(frac.padEnd(18, '0'));
}

/** 0.8e18 -> "0.8". */
export function formatWad(v: bigint): string {
  const whole = v / WAD;
  const frac = (v % WAD).toString().padStart(18, '0').replace(/0+$/, '');
  return frac === '' ? whole.toString() : `${whole}.${frac}`;
}

interface Bounds {
  /** Lower bound and whether it is excluded. */
  min?: [string, 'incl' | 'excl'];
  max?: [string, 'incl' | 'excl'];
}

/**
 * A decimal string field, e.g. decimal('weight', '0.8', 'a collateral weight', { min: ['0', 'excl'],
 * max: ['1', 'incl'] }). Every message is one line ending in the fix.
 */
function decimal(name: string, example: string, what: string, bounds: Bounds = {}) {
  const range = (() => {
    const lo = bounds.min === undefined ? '' : `${bounds.min[1] === 'excl' ? '>' : '>='} ${bounds.min[0]}`;
    const hi = bounds.max === undefined ? '' : `${bounds.max[1] === 'excl' ? '<' : '<='} ${bounds.max[0]}`;
    return [lo, hi].filter((x) => x !== '').join(' and ');
  })();
  const fix = `set "${name}" to e.g. "${example}"`;
  return z
    .string({
      error: (iss) =>
        iss.input === undefined
          ? `missing — add "${name}": "${example}" (${what})`
          : `expected ${what} as a decimal string, got ${typeof iss.input} ${JSON.stringify(iss.input)} — write it in quotes, e.g. "${example}"`,
    })
    .superRefine((s, ctx) => {
      if (!DECIMAL.test(s)) {
        ctx.addIssue({
          code: 'custom',
          input: s,
          message: `expected ${what} as a decimal string (digits, "." and at most 18 decimals), got ${JSON.stringify(s)} — ${fix}`,
        });
        return;
      }
      const v = parseWad(s);
      const { min, max } = bounds;
      const low = min !== undefined && (min[1] === 'excl' ? v <= parseWad(min[0]) : v < parseWad(min[0]));
      const high = max !== undefined && (max[1] === 'excl' ? v >= parseWad(max[0]) : v > parseWad(max[0]));
      if (low || high) {
        ctx.addIssue({
          code: 'custom',
          input: s,
          message: `expected ${what} ${range}, got "${s}" — ${fix}`,
        });
      }
    });
}

/** feed (+ maxAge) or priceAdapter, checked on the object that holds them. */
const priceSourceFields = {
  feed: address.optional(),
  maxAge: z
    .int({ error: 'expected a whole number of seconds — set "maxAge" to e.g. 86400' })
    .min(1, { error: 'expected at least 1 second — set "maxAge" to e.g. 86400' })
    .optional(),
  priceAdapter: address.optional(),
};

function checkPriceSource(
  o: { feed?: string | undefined; maxAge?: number | undefined; priceAdapter?: string | undefined },
  ctx: z.RefinementCtx,
) {
  if (o.feed !== undefined && o.priceAdapter !== undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['priceAdapter'],
      message:
        'give either "feed" or "priceAdapter", not both — remove "priceAdapter" to deploy a new adapter over the feed, or "feed" to use the adapter',
    });
  } else if (o.feed === undefined && o.priceAdapter === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['feed'],
      message:
        'missing — add "feed" (a Chainlink feed; deploy wraps it in a ChainlinkPriceAdapter) or "priceAdapter" (an IPriceAdapter already deployed)',
    });
  } else if (o.priceAdapter !== undefined && o.maxAge !== undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['maxAge'],
      message:
        '"maxAge" applies to a "feed" only — remove it (the price adapter has its own staleness limit)',
    });
  }
}

export const riskAssetConfigSchema = z
  .strictObject({
    assetId: z.int().min(1).max(65_535).optional(),
    weight: decimal('weight', '0.8', 'a collateral weight (1 − haircut)', {
      min: ['0', 'excl'],
      max: ['1', 'incl'],
    }),
    /** Size-aware weight: the market depth in USD (whole thousands) past which one holding's weight falls. */
    depthUsd: z
      .int({ error: 'expected a whole number of USD, e.g. "depthUsd": 5000000' })
      .min(1_000, { error: 'expected at least 1000 (the engine keeps the depth in thousands of USD)' })
      .max(16_777_215_000, { error: 'expected at most 16777215000 (a uint24 of thousands of USD)' })
      .refine((d) => d % 1_000 === 0, {
        error:
          'expected whole thousands of USD (the engine keeps the depth in thousands) — round it, e.g. 5000000',
      })
      .optional(),
    sourceCaps: sourceCapsSchema.optional(),
    ...priceSourceFields,
  })
  .superRefine(checkPriceSource);

export const marketConfigSchema = z
  .strictObject({
    id: z.int().min(1).max(4_294_967_295),
    symbol: z.string().min(1),
    initialMargin: decimal('initialMargin', '0.1', 'an initial margin fraction', {
      min: ['0', 'excl'],
      max: ['1', 'incl'],
    }),
    maintenanceMargin: decimal('maintenanceMargin', '0.05', 'a maintenance margin fraction', {
      min: ['0', 'excl'],
      max: ['1', 'incl'],
    }),
    openInterestCap: decimal('openInterestCap', '1000000', 'an open-interest cap in USD', {
      min: ['0', 'excl'],
    }),
    tradingFee: decimal('tradingFee', '0.0005', 'a trading fee fraction', { max: ['0.01', 'incl'] }),
    borrowRatePerSecond: decimal('borrowRatePerSecond', '0', 'a borrow rate per second', {
      max: ['0.0000001', 'incl'],
    }),
    ...priceSourceFields,
  })
  .superRefine((m, ctx) => {
    checkPriceSource(m, ctx);
    if (DECIMAL.test(m.initialMargin) && DECIMAL.test(m.maintenanceMargin)) {
      if (parseWad(m.maintenanceMargin) >= parseWad(m.initialMargin)) {
        ctx.addIssue({
          code: 'custom',
          path: ['maintenanceMargin'],
          message: `expected less than initialMargin ("${m.initialMargin}"), got "${m.maintenanceMargin}" — lower "maintenanceMargin" (e.g. half the initial margin) or raise "initialMargin"`,
        });
      }
    }
  });

export const liquidationRulesSchema = z.strictObject({
  bonus: decimal('bonus', '0.05', "a liquidator's bonus", { max: ['0.5', 'incl'] }).optional(),
  targetHealth: decimal('targetHealth', '1.25', 'a target health', { min: ['1', 'excl'] }).optional(),
  fullCloseHealth: decimal('fullCloseHealth', '0.5', 'a full-close health', {
    max: ['1', 'excl'],
  }).optional(),
  dustNotional: decimal('dustNotional', '50', 'a dust notional in USD').optional(),
});

export const engineConfigSchema = z
  .strictObject({
    quoteToken: z.string({
      error: 'missing — add "quoteToken": the symbol of one of this chain\'s tokens, e.g. "USDC"',
    }),
    riskAssets: z
      .record(z.string().min(1), riskAssetConfigSchema, {
        error:
          'expected an object keyed by token symbol — e.g. "riskAssets": { "USDC": { "weight": "0.95", "feed": "0x…" } }',
      })
      .refine((r) => Object.keys(r).length > 0, {
        error: 'expected at least one risk asset — add e.g. "USDC": { "weight": "0.95", "feed": "0x…" }',
      }),
    markets: z
      .array(marketConfigSchema, {
        error: 'expected an array of markets — e.g. "markets": [{ "id": 1, "symbol": "ETH-PERP", … }]',
      })
      .min(1, { error: 'expected at least one market — add e.g. { "id": 1, "symbol": "ETH-PERP", … }' }),
    liquidation: liquidationRulesSchema.optional(),
    /**
     * Staleness-aware weights for every remote collateral source: once the last heartbeat from a
     * source chain is `graceSec` old, its collateral's weight falls linearly to 0 over `decaySec`.
     * Needs nodes that send heartbeats (node config `heartbeats`).
     */
    staleness: z
      .strictObject({
        graceSec: z.int().min(1).max(4_294_967_295),
        decaySec: z.int().min(1).max(4_294_967_295),
      })
      .optional(),
  })
  .superRefine((e, ctx) => {
    const ids = new Map<number, { symbol: string; byPosition: boolean }>();
    Object.entries(e.riskAssets).forEach(([symbol, r], i) => {
      const id = r.assetId ?? i + 1;
      const other = ids.get(id);
      if (other !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['riskAssets', symbol, 'assetId'],
          message: `asset id ${id} is also ${other.symbol}'s${other.byPosition ? ' (by its position)' : ''} — give each risk asset its own "assetId"`,
        });
      }
      ids.set(id, { symbol, byPosition: r.assetId === undefined });
    });
    const markets = new Set<number>();
    e.markets.forEach((m, i) => {
      if (markets.has(m.id)) {
        ctx.addIssue({
          code: 'custom',
          path: ['markets', i, 'id'],
          message: `duplicate market id ${m.id} — give each market its own "id"`,
        });
      }
      markets.add(m.id);
    });
  });

/** The asset id of each risk asset: its `assetId`, else its position in `riskAssets` from 1. */
export function riskAssetIds(engine: Loose<EngineConfig>): Map<string, number> {
  return new Map(Object.entries(engine.riskAssets).map(([symbol, r], i) => [symbol, r.assetId ?? i + 1]));
}

/** File-level rules of the engine sections: the quote token is a token of the chain, risk assets name tokens. */
function checkEngines(
  chains: readonly {
    name: string;
    tokens: readonly { symbol: string; address: string }[];
    engine?: Loose<EngineConfig> | undefined;
  }[],
  ctx: z.RefinementCtx,
) {
  const allSymbols = [...new Set(chains.flatMap((c) => c.tokens.map((t) => t.symbol)))];
  chains.forEach((c, i) => {
    const e = c.engine;
    if (e === undefined) return;
    const quote = c.tokens.find((t) => t.symbol === e.quoteToken);
    const mine = c.tokens.map((t) => t.symbol).filter((s) => s !== 'ETH');
    if (quote === undefined || quote.address.toLowerCase() === NATIVE_TOKEN) {
      ctx.addIssue({
        code: 'custom',
        path: ['chains', i, 'engine', 'quoteToken'],
        message: `${quote === undefined ? `no token "${e.quoteToken}" in ${c.name}'s "tokens"` : `"${e.quoteToken}" is the native token, not an ERC-20`} — use ${mine.length > 0 ? `one of ${mine.join(', ')}` : 'an ERC-20 symbol'} or add the token to "tokens"`,
      });
    }
    for (const symbol of Object.keys(e.riskAssets)) {
      if (!allSymbols.includes(symbol)) {
        ctx.addIssue({
          code: 'custom',
          path: ['chains', i, 'engine', 'riskAssets', symbol],
          message: `no chain of the file has a token "${symbol}", so it would have no collateral source — use a token symbol${allSymbols.length > 0 ? ` (${allSymbols.join(', ')})` : ''} or add the token to a chain's "tokens"`,
        });
      }
    }
  });
}

/** The vaults' and engines' marker of the native token (NATIVE in relayer/deploy/xmargin.ts). */
const NATIVE_TOKEN = '0xeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee';

/**
 * A chain in a networks file. Like ChainConfig, except that:
 *  - `lzDeployment` names a folder of @layerzerolabs/lz-evm-sdk-v2/deployments (e.g. "arbsep-testnet");
 *    the LayerZero addresses not given in `layerZero` are read from it, so they are never typed by hand;
 *  - `layerZero.extraDvns` entries may be a deployment file name instead of an address ("DVN" is
 *    LayerZero Labs' DVN, "DVNNethermind" Nethermind's, …);
 *  - `xmargin` may be absent (a network not deployed yet) and `tokens` defaults to [];
 *  - `engine` (optional) declares what `xmargin deploy` sets up on a chain that hosts positions.
 */
export const networkChainSchema = z.object({
  ...chainFields,
  lzDeployment: z.string().min(1).optional(),
  layerZero: z
    .object({
      endpointV2: address.optional(),
      sendUln302: address.optional(),
      receiveUln302: address.optional(),
      dvn: address.optional(),
      executor: address.optional(),
      priceFeed: address.optional(),
      dvnFeeLib: address.optional(),
      executorFeeLib: address.optional(),
      extraDvns: z.array(z.string().min(1)).optional(),
      receiveUln302View: address.optional(),
      endpointV2View: address.optional(),
    })
    .default({}),
  xmargin: xmarginContractsSchema.optional(),
  tokens: z.array(tokenDeploymentSchema).default([]),
  engine: engineConfigSchema.optional(),
});

export const networksFileSchema = z
  .object({
    version: z.literal(1, { error: 'expected 1 — set "version": 1' }),
    chains: z
      .array(networkChainSchema)
      .min(1, { error: 'expected at least one chain — add an entry to "chains"' }),
    dvn: dvnConfigSchema,
  })
  .superRefine((f, ctx) => {
    checkChains(f.chains, ctx);
    checkEngines(f.chains, ctx);
    checkCapDecimals(f.chains, ctx);
  });

/** Number of decimals written in a decimal string ("2.50" has 2). */
function decimalsOf(s: string): number {
  return s.includes('.') ? (s.split('.')[1] ?? '').length : 0;
}

/** A cap cannot be finer than its token: "0.5" of a 0-decimal token has no meaning in token units. */
function checkCapDecimals(
  chains: readonly {
    tokens: readonly { symbol: string; decimals: number; caps?: Record<string, string> | undefined }[];
    engine?: { riskAssets: Record<string, { sourceCaps?: Record<string, string> | undefined }> } | undefined;
  }[],
  ctx: z.RefinementCtx,
) {
  const issue = (path: (string | number)[], amount: string, decimals: number, token: string) =>
    ctx.addIssue({
      code: 'custom',
      path,
      message: `expected at most ${decimals} decimals (${token} has ${decimals}), got "${amount}" — round it`,
    });
  chains.forEach((c, i) => {
    c.tokens.forEach((t, k) => {
      for (const [field, amount] of Object.entries(t.caps ?? {})) {
        if (decimalsOf(amount) > t.decimals)
          issue(['chains', i, 'tokens', k, 'caps', field], amount, t.decimals, t.symbol);
      }
    });
    for (const [symbol, r] of Object.entries(c.engine?.riskAssets ?? {})) {
      const finest = Math.min(
        ...chains.flatMap((x) => x.tokens.filter((t) => t.symbol === symbol).map((t) => t.decimals)),
      );
      for (const [field, amount] of Object.entries(r.sourceCaps ?? {})) {
        if (Number.isFinite(finest) && decimalsOf(amount) > finest)
          issue(['chains', i, 'engine', 'riskAssets', symbol, 'sourceCaps', field], amount, finest, symbol);
      }
    }
  });
}

const rpcLimitsFields = {
  timeoutMs: z
    .int()
    .min(100, { error: 'expected a timeout of at least 100 ms — e.g. "timeoutMs": 5000' })
    .max(600_000)
    .optional(),
  attempts: z.int().min(1, { error: 'expected at least 1 attempt — e.g. "attempts": 3' }).max(20).optional(),
};
export const rpcLimitsSchema = z.strictObject(rpcLimitsFields);
/** One chain's RPC settings in a node config: the limits, and the node's own RPC URLs for the chain. */
export const chainRpcSchema = z.strictObject({
  ...rpcLimitsFields,
  urls: z
    .array(rpcUrl)
    .min(1, {
      error: 'expected at least one URL — e.g. "urls": ["https://my-node.example/rpc"], or remove "urls"',
    })
    .optional(),
});

export const nodeConfigSchema = z.object({
  dataDir: z.string().min(1),
  listen: z.array(
    z
      .string()
      .refine((s) => s.startsWith('/'), { error: 'expected a multiaddr — e.g. "/ip4/127.0.0.1/tcp/0"' }),
  ),
  bootstrap: z.array(
    z.string().refine((s) => s.startsWith('/') && s.includes('/p2p/'), {
      error: 'expected a multiaddr with a peer id — e.g. "/ip4/127.0.0.1/tcp/9000/p2p/12D3KooW…"',
    }),
  ),
  evmKeyFile: z.string().min(1),
  p2pKeyFile: z.string().min(1),
  roles: z.array(z.enum(NODE_ROLES)),
  chains: z.array(z.string().min(1)),
  networksFile: z.string().min(1),
  apiPort: z.int().min(0).max(65_535),
  // The status names signers, peers and accounts: loopback unless the operator opens it on purpose.
  apiHost: z
    .string()
    .refine((s) => isIP(s) !== 0 || s === 'localhost', {
      error:
        'expected an IP address to bind the status API to — e.g. "127.0.0.1" (the default, this machine only) or "0.0.0.0" (every interface)',
    })
    .optional(),
  rebalance: z
    .strictObject({
      triggerHealth: decimal('triggerHealth', '1.25', 'the health below which a rescue starts', {
        min: ['1', 'excl'],
      }).optional(),
      maxBreachProbability: z.number().gt(0).lte(1).optional(),
      targetHealth: decimal('targetHealth', '1.6', 'the health a rescue aims for', {
        min: ['1', 'excl'],
      }).optional(),
      deadlineMs: z.int().min(100).max(600_000).optional(),
    })
    .optional(),
  rpc: z
    .strictObject({ ...rpcLimitsFields, chains: z.record(z.string(), chainRpcSchema).optional() })
    .optional(),
  risk: z
    .strictObject({
      sampleIntervalSec: z.number().gt(0).max(3600).optional(),
      minSamples: z.int().min(1).max(10_000).optional(),
    })
    .optional(),
  heartbeats: z
    .strictObject({
      intervalSec: z
        .number({ error: 'expected seconds between heartbeats, e.g. "intervalSec": 30' })
        .min(1)
        .max(86_400)
        .optional(),
    })
    .optional(),
  weights: z
    .strictObject({
      intervalSec: z.number().gt(0).max(86_400).optional(),
      threshold: decimal('threshold', '0.02', 'the smallest weight change worth an update', {
        max: ['1', 'incl'],
      }).optional(),
      grid: decimal('grid', '0.01', 'the step of the weight grid', {
        min: ['0', 'excl'],
        max: ['1', 'incl'],
      }).optional(),
      horizonSec: z.number().gt(0).max(86_400).optional(),
      epochSec: z.int().min(1).max(86_400).optional(),
      deadlineMs: z.int().min(100).max(600_000).optional(),
    })
    .optional(),
});

export type NetworkChainInput = z.output<typeof networkChainSchema>;
export type NetworksFileInput = z.output<typeof networksFileSchema>;

// ---- compile-time check: the schemas produce exactly the shapes of ./types.ts. zod types an absent
// optional field as `T | undefined` (under exactOptionalPropertyTypes) but never writes the key, so
// the comparison allows that, and the loaders cast their result to the ./types.ts shape.
/** T with `| undefined` added to every optional property, recursively. */
export type Loose<T> = T extends readonly (infer U)[]
  ? Loose<U>[]
  : T extends object
    ? { [K in keyof T]: undefined extends T[K] ? Loose<Exclude<T[K], undefined>> | undefined : Loose<T[K]> }
    : T;
type Same<A, B> = [A] extends [Loose<B>] ? ([Loose<B>] extends [A] ? true : false) : false;
const assertSame = <_T extends true>(): void => {};
assertSame<Same<z.output<typeof chainConfigSchema>, ChainConfig>>();
assertSame<Same<z.output<typeof layerZeroContractsSchema>, LayerZeroContracts>>();
assertSame<Same<z.output<typeof xmarginContractsSchema>, XmarginContracts>>();
assertSame<Same<z.output<typeof tokenDeploymentSchema>, TokenDeployment>>();
assertSame<Same<z.output<typeof dvnConfigSchema>, DvnConfig>>();
assertSame<Same<z.output<typeof devAccountSchema>, DevAccount>>();
assertSame<Same<z.output<typeof devnetManifestSchema>, DevnetManifest>>();
assertSame<Same<z.output<typeof nodeConfigSchema>, NodeConfig>>();
assertSame<Same<z.output<typeof engineConfigSchema>, EngineConfig>>();
assertSame<Same<z.output<typeof riskAssetConfigSchema>, RiskAssetConfig>>();
assertSame<Same<z.output<typeof marketConfigSchema>, MarketConfig>>();
assertSame<Same<z.output<typeof liquidationRulesSchema>, LiquidationRulesConfig>>();
