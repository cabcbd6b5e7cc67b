// Turns config files into typed config, or throws a ConfigError whose message is ONE line naming the
// file, the field path and the fix, e.g.
//   config/networks.json: chains[1].eid: expected an integer >= 30000 on local chains (LayerZero treats
//   lower eids as v1) — set "eid" to e.g. 40102
//
// Files:
//   config/networks.json         networks file (networksFileSchema): { version: 1, chains: [...], dvn }
//   config/devnet/manifest.json  written by `npm run devnet` (devnetManifestSchema)
//   <node>.json                  a node's own config (nodeConfigSchema)

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { z } from 'zod';
import { LZ_SDK_DIR, ROOT } from '../chain/artifacts.ts';
import {
  devnetManifestSchema,
  type NetworkChainInput,
  networksFileSchema,
  nodeConfigSchema,
} from './schemas.ts';
import type {
  Address,
  ChainConfig,
  DevnetManifest,
  DvnConfig,
  EngineConfig,
  LayerZeroContracts,
  NodeConfig,
} from './types.ts';

export class ConfigError extends Error {
  override name = 'ConfigError';
  readonly file: string;
  readonly field: string;
  constructor(file: string, field: string, problem: string) {
    super(field === '' ? `${file}: ${problem}` : `${file}: ${field}: ${problem}`);
    this.file = file;
    this.field = field;
  }
}

/** A chain of a networks file: xmargin may not be deployed on it yet; `engine` is what deploy sets up. */
export type NetworkChain = Omit<ChainConfig, 'xmargin'> & {
  xmargin?: ChainConfig['xmargin'];
  engine?: EngineConfig;
};

export interface NetworksFile {
  version: 1;
  chains: NetworkChain[];
  dvn: DvnConfig;
}

/** Files are named relative to the working directory in messages when they sit under it. */
export function displayPath(file: string): string {
  const rel = path.relative(process.cwd(), path.resolve(file));
  return rel.startsWith('..') || path.isAbsolute(rel) ? file : rel;
}

/** `chains[1].eid` from ['chains', 1, 'eid']. */
export function fieldPath(p: readonly PropertyKey[]): string {
  let out = '';
  for (const k of p) {
    if (typeof k === 'number') out += `[${k}]`;
    else out += out === '' ? String(k) : `.${String(k)}`;
  }
  return out;
}

const EXAMPLES: Record<string, string> = {
  name: '"devnet-b"',
  chainId: '31337',
  eid: '40102',
  rpcUrls: '["http://127.0.0.1:8545"]',
  confirmations: '1',
  isPublic: 'false',
  quorum: '2',
  signers: '["0x70997970C51812dc3A010C7d01b50e0d17dc79C8"]',
  version: '1',
  decimals: '18',
  symbol: '"USDC"',
  apiPort: '0',
  dataDir: '".xmargin/node1"',
  networksFile: '"config/networks.json"',
  roles: '["attestor", "executor"]',
};

function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${String(v)}`;
}

/** One line for one zod issue: "<what is wrong> — <fix>". */
function explain(issue: z.core.$ZodIssue): string {
  const key = [...issue.path].reverse().find((k) => typeof k === 'string') as string | undefined;
  const example = key === undefined ? undefined : EXAMPLES[key];
  const set = (what: string): string => (key === undefined ? what : `set "${key}" to ${what}`);
  if (issue.code === 'custom' || issue.message.includes(' — ')) return issue.message;
  const input = (issue as { input?: unknown }).input;
  switch (issue.code) {
    case 'invalid_type': {
      const expected =
        issue.expected === 'int'
          ? 'an integer'
          : issue.expected === 'array'
            ? 'an array'
            : `a ${issue.expected}`;
      if (input === undefined) {
        return `missing — add "${key ?? 'the field'}"${example === undefined ? ` (${expected})` : `: ${example}`}`;
      }
      return `expected ${expected}, got ${describeValue(input)} — ${set(example === undefined ? expected : `e.g. ${example}`)}`;
    }
    case 'too_small':
    case 'too_big': {
      const bound = issue.code === 'too_small' ? '>=' : '<=';
      const limit = issue.code === 'too_small' ? issue.minimum : issue.maximum;
      const what =
        issue.origin === 'array'
          ? `${bound === '>=' ? 'at least' : 'at most'} ${String(limit)} entries`
          : `${bound} ${String(limit)}`;
      return `expected ${what}, got ${describeValue(input)} — ${set(example === undefined ? `a value ${what}` : `e.g. ${example}`)}`;
    }
    case 'invalid_value':
      return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}, got ${describeValue(input)} — ${set('one of those')}`;
    case 'unrecognized_keys':
      return `unknown field(s) ${issue.keys.map((k) => `"${k}"`).join(', ')} — remove them or check the spelling`;
    default:
      return `${issue.message} — check the value against relayer/config/schemas.ts`;
  }
}

/** Validates already-parsed JSON against `schema`; throws a one-line ConfigError for the first problem. */
export function parseConfig<S extends z.ZodType>(schema: S, data: unknown, file: string): z.output<S> {
  const result = schema.safeParse(data, { reportInput: true });
  if (result.success) return result.data;
  const [first, ...rest] = result.error.issues;
  if (first === undefined) throw new ConfigError(displayPath(file), '', 'invalid — no details');
  const more = rest.length > 0 ? ` (and ${rest.length} more problem${rest.length > 1 ? 's' : ''})` : '';
  throw new ConfigError(displayPath(file), fieldPath(first.path), `${explain(first)}${more}`);
}

/** Reads and parses a JSON file; unreadable or malformed files become ConfigErrors too. */
export function readJsonFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as { code?: string }).code ?? 'unreadable';
    throw new ConfigError(
      displayPath(file),
      '',
      `cannot read the file (${code}) — check the path or create it`,
    );
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    const why = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw new ConfigError(displayPath(file), '', `not valid JSON (${why}) — fix the syntax`);
  }
}

export function loadDevnetManifest(file: string): DevnetManifest {
  return parseConfig(devnetManifestSchema, readJsonFile(file), file) as DevnetManifest;
}

export function loadNodeConfig(file: string): NodeConfig {
  return parseConfig(nodeConfigSchema, readJsonFile(file), file) as NodeConfig;
}

export function loadNetworks(file: string): NetworksFile {
  return parseNetworks(readJsonFile(file), file);
}

/** Validates a networks file and resolves every LayerZero address from the sdk deployments. */
export function parseNetworks(data: unknown, file: string): NetworksFile {
  const parsed = parseConfig(networksFileSchema, data, file);
  return {
    version: 1,
    dvn: parsed.dvn,
    chains: parsed.chains.map((c, i) => resolveChain(c, i, displayPath(file))),
  };
}

const LZ_REQUIRED = [
  'endpointV2',
  'sendUln302',
  'receiveUln302',
  'executor',
  'priceFeed',
  'dvnFeeLib',
  'executorFeeLib',
] as const;
/** Deployment file names for the contracts LayerZero deploys on public networks. */
const LZ_DEPLOYMENT_FILE: Record<(typeof LZ_REQUIRED)[number], string> = {
  endpointV2: 'EndpointV2',
  sendUln302: 'SendUln302',
  receiveUln302: 'ReceiveUln302',
  executor: 'Executor',
  priceFeed: 'PriceFeed',
  dvnFeeLib: 'DVNFeeLib',
  executorFeeLib: 'ExecutorFeeLib',
};

function resolveChain(c: NetworkChainInput, i: number, file: string): NetworkChain {
  const at = (field: string): string => `chains[${i}].${field}`;
  const given = c.layerZero;
  const lz: Partial<LayerZeroContracts> = {};
  for (const k of LZ_REQUIRED) {
    const explicit = given[k];
    if (explicit !== undefined) lz[k] = explicit;
    else if (c.lzDeployment !== undefined) {
      lz[k] = lzDeploymentAddress(c.lzDeployment, LZ_DEPLOYMENT_FILE[k], { file, field: at('lzDeployment') });
    } else {
      throw new ConfigError(
        file,
        at(`layerZero.${k}`),
        `missing — give "lzDeployment" (a folder of @layerzerolabs/lz-evm-sdk-v2/deployments, e.g. "arbsep-testnet") or the address in "layerZero.${k}"`,
      );
    }
  }
  if (given.dvn === undefined) {
    throw new ConfigError(
      file,
      at('layerZero.dvn'),
      `missing — add "dvn": the address of xmargin's DVN on ${c.name}`,
    );
  }
  const extra = (given.extraDvns ?? []).map((d, k) => {
    if (/^0x[0-9a-fA-F]{40}$/.test(d)) return d as Address;
    if (c.lzDeployment === undefined) {
      throw new ConfigError(
        file,
        at(`layerZero.extraDvns[${k}]`),
        `"${d}" is not an address and there is no "lzDeployment" to look it up in — give the address or set "lzDeployment"`,
      );
    }
    return lzDeploymentAddress(c.lzDeployment, d, { file, field: at(`layerZero.extraDvns[${k}]`) });
  });
  const layerZero: LayerZeroContracts = {
    ...(lz as Omit<LayerZeroContracts, 'dvn'>),
    dvn: given.dvn,
    ...(extra.length > 0 ? { extraDvns: extra } : {}),
    ...(given.receiveUln302View !== undefined ? { receiveUln302View: given.receiveUln302View } : {}),
    ...(given.endpointV2View !== undefined ? { endpointV2View: given.endpointV2View } : {}),
  };
  const { lzDeployment: _, xmargin, ...rest } = c;
  return { ...rest, layerZero, ...(xmargin !== undefined ? { xmargin } : {}) } as NetworkChain;
}

// ---------------------------------------------------------------------------- sdk deployments

export const LZ_DEPLOYMENTS_DIR = path.join(LZ_SDK_DIR, 'deployments');

/** The LayerZero network names known to the installed sdk (folders of lz-evm-sdk-v2/deployments). */
export function lzNetworks(): string[] {
  return existsSync(LZ_DEPLOYMENTS_DIR) ? readdirSync(LZ_DEPLOYMENTS_DIR).sort() : [];
}

/**
 * The address of `contract` (a deployment file name: EndpointV2, SendUln302, ReceiveUln302, Executor,
 * DVN, …) on `network`, from node_modules/@layerzerolabs/lz-evm-sdk-v2/deployments/<network>/<contract>.json.
 * `where` names the config field for the error; without it errors name the sdk folder.
 */
export function lzDeploymentAddress(
  network: string,
  contract: string,
  where: { file: string; field: string } = { file: path.relative(ROOT, LZ_DEPLOYMENTS_DIR), field: network },
): Address {
  const dir = path.join(LZ_DEPLOYMENTS_DIR, network);
  if (!/^[a-z0-9-]+$/.test(network) || !existsSync(dir)) {
    const near = closest(network, lzNetworks());
    throw new ConfigError(
      where.file,
      where.field,
      `unknown LayerZero network "${network}" — use a folder name of node_modules/@layerzerolabs/lz-evm-sdk-v2/deployments${near === undefined ? '' : `, e.g. "${near}"`}`,
    );
  }
  const p = path.join(dir, `${contract}.json`);
  if (!/^[A-Za-z0-9_]+$/.test(contract) || !existsSync(p)) {
    throw new ConfigError(
      where.file,
      where.field,
      `LayerZero has no ${contract} on "${network}" (no deployments/${network}/${contract}.json) — give its address explicitly`,
    );
  }
  const json = JSON.parse(readFileSync(p, 'utf8')) as { address?: string };
  if (json.address === undefined || !/^0x[0-9a-fA-F]{40}$/.test(json.address)) {
    throw new ConfigError(
      where.file,
      where.field,
      `deployments/${network}/${contract}.json has no address — give it explicitly`,
    );
  }
  return json.address as Address;
}

/** The candidate with the smallest edit distance, if it is reasonably close. */
function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Number.POSITIVE_INFINITY;
  for (const c of candidates) {
    const d = editDistance(word, c);
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return bestD <= Math.max(3, Math.floor(word.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      cur[j] = Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost);
    }
    prev = cur;
  }
  return prev[b.length] ?? 0;
}
