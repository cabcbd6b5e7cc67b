// zod (v4) schemas of the config files. Each schema's output type is checked against the shapes in
// ./types.ts at the bottom of this file, so the two cannot drift apart. Messages of refinements are
// written as "<what was expected> — <how to fix it>"; ./load.ts prefixes the file and the field path.

import { getAddress } from 'ethers';
import { z } from 'zod';
import {
  type Address,
  type ChainConfig,
  type DevAccount,
  type DevnetManifest,
  type DvnConfig,
  type Hex,
  type LayerZeroContracts,
  NODE_ROLES,
  type NodeConfig,
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
  market: address.optional(),
});

export const tokenDeploymentSchema = z.object({
  symbol: z.string().min(1),
  address,
  decimals: z.int().min(0).max(36),
  feed: address.optional(),
  priceAdapter: address.optional(),
  assetId: z.int().min(1).max(65_535).optional(),
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

/**
 * A chain in a networks file. Like ChainConfig, except that:
 *  - `lzDeployment` names a folder of @layerzerolabs/lz-evm-sdk-v2/deployments (e.g. "arbsep-testnet");
 *    the LayerZero addresses not given in `layerZero` are read from it, so they are never typed by hand;
 *  - `layerZero.extraDvns` entries may be a deployment file name instead of an address ("DVN" is
 *    LayerZero Labs' DVN, "DVNNethermind" Nethermind's, …);
 *  - `xmargin` may be absent (a network not deployed yet) and `tokens` defaults to [].
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
});

export const networksFileSchema = z
  .object({
    version: z.literal(1, { error: 'expected 1 — set "version": 1' }),
    chains: z
      .array(networkChainSchema)
      .min(1, { error: 'expected at least one chain — add an entry to "chains"' }),
    dvn: dvnConfigSchema,
  })
  .superRefine((f, ctx) => checkChains(f.chains, ctx));

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
