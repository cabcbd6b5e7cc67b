// The canary that ends `xmargin wire`: one real round trip per pathway (vault chain X -> engine chain
// E), from the owner's key, so a wiring mistake or a relayer network that does not serve a pathway is
// found by the integrator, not by the first trader. Per pathway:
//   1. deposit the smallest amount (1 base unit) of X's first ERC-20 that vault X and engine E accept,
//      for engine E, paying quoteDeposit                                  -> LOCK X -> E
//   2. wait until engine E's creditOf rises                               (lockMs)
//   3. engine.withdraw that credit back to the signer on X, paying quoteWithdraw -> RELEASE E -> X
//   4. wait until vault X has processed the RELEASE and paid out          (releaseMs)
// Latencies run from the moment the transaction is submitted until the effect is seen on the other
// chain (one extra poll interval of resolution). Pathways run one after another: they share the signer
// (nonces) and each leg's latency should not include another pathway's traffic.
//
// The canary's credit lives in its own sub-account (CANARY_SUBACCOUNT), so it never mixes with any
// margin the owner may hold and withdrawing it can never fail an initial-margin check.

import { type AbstractSigner, Contract, type ContractTransactionReceipt, Interface } from 'ethers';
import { readArtifact } from '../chain/artifacts.ts';
import type { Address, ChainConfig, TokenDeployment } from '../config/types.ts';
import type { WirePlanItem } from './wire.ts';
import { NATIVE } from './xmargin.ts';

/** The last uint96 sub-account, kept for canaries. */
export const CANARY_SUBACCOUNT = (1n << 96n) - 1n;
export const DEFAULT_CANARY_TIMEOUT_MS = 120_000;
const DEFAULT_POLL_MS = 250;

export interface CanaryResult {
  /** Vault chain (where the collateral is locked and paid back out). */
  from: string;
  /** Engine chain. */
  to: string;
  token: string;
  /** Base units deposited and withdrawn. */
  amount: bigint;
  /** Deposit submitted on `from` -> credit seen on `to`. */
  lockMs: number;
  /** Withdrawal submitted on `to` -> RELEASE processed on `from`. */
  releaseMs: number;
}

export interface CanaryOptions {
  /** Per leg (LOCK, then RELEASE). Default 120 s. */
  timeoutMs?: number;
  pollMs?: number;
  /** Base units to send (default 1: the smallest amount a vault accepts). */
  amount?: bigint;
  log?: (line: string) => void;
}

/** Thrown with one line naming the pathway, the leg and the likely cause. */
export class CanaryError extends Error {
  override name = 'CanaryError';
}

export interface Pathway {
  vault: ChainConfig;
  engine: ChainConfig;
}

/**
 * Every (vault chain X, engine chain E != X) pathway of `chains`; with `plan` (what a wire run sent),
 * only those the plan touched: an item on X linking it to E, or on E linking it to X.
 */
export function canaryPathways(chains: readonly ChainConfig[], plan?: readonly WirePlanItem[]): Pathway[] {
  const touched = (a: string, b: string): boolean =>
    plan === undefined ||
    plan.some((i) => (i.chain === a && i.remotes.includes(b)) || (i.chain === b && i.remotes.includes(a)));
  const out: Pathway[] = [];
  for (const vault of chains) {
    for (const engine of chains) {
      if (vault === engine || engine.xmargin.engine === undefined) continue;
      if (touched(vault.name, engine.name)) out.push({ vault, engine });
    }
  }
  return out;
}

/** The chain's ERC-20 tokens in config order (the native token cannot be minted or approved). */
export function erc20Candidates(chain: ChainConfig): TokenDeployment[] {
  return chain.tokens.filter((t) => t.address.toLowerCase() !== NATIVE.toLowerCase());
}

export function notDeliveredMessage(
  from: string,
  to: string,
  leg: 'LOCK' | 'RELEASE',
  timeoutMs: number,
): string {
  return `canary ${from} -> ${to}: ${leg} not delivered within ${Math.round(timeoutMs / 1000)} s — are relayer nodes running and serving both chains?`;
}

export function formatCanary(r: CanaryResult): string {
  const s = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
  return `canary ${r.from} -> ${r.to}: LOCK ${s(r.lockMs)}, RELEASE ${s(r.releaseMs)} (${r.amount} base unit(s) of ${r.token})`;
}

/** Runs the canary on each pathway in turn; throws a CanaryError on the first that fails. */
export async function runCanary(
  pathways: readonly Pathway[],
  signers: Record<string, AbstractSigner>,
  options: CanaryOptions = {},
): Promise<CanaryResult[]> {
  const results: CanaryResult[] = [];
  for (const p of pathways) {
    const result = await canaryOne(p, signers, options);
    options.log?.(formatCanary(result));
    results.push(result);
  }
  return results;
}

async function canaryOne(
  { vault: x, engine: e }: Pathway,
  signers: Record<string, AbstractSigner>,
  options: CanaryOptions,
): Promise<CanaryResult> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_CANARY_TIMEOUT_MS;
  const pollMs = options.pollMs ?? DEFAULT_POLL_MS;
  const amount = options.amount ?? 1n;
  const label = `canary ${x.name} -> ${e.name}`;
  const fail = (why: string): never => {
    throw new CanaryError(`${label}: ${why}`);
  };
  const sx = signers[x.name] ?? fail(`no signer for ${x.name}`);
  const se = signers[e.name] ?? fail(`no signer for ${e.name}`);
  const me = (await sx.getAddress()) as Address;
  const vaultI = new Interface(readArtifact('CollateralVault').abi);
  const engineI = new Interface(readArtifact('MarginEngine').abi);
  const erc20I = new Interface(readArtifact('MockERC20').abi);
  const vault = new Contract(x.xmargin.vault, vaultI, sx);
  const engine = new Contract(e.xmargin.engine as Address, engineI, se);

  const token = await pickToken(x, e, vault, engine, fail);
  const erc20 = new Contract(token.address, erc20I, sx);
  await ensureBalance(x, erc20, me, amount, token, fail);
  const allowance = (await erc20.getFunction('allowance')(me, x.xmargin.vault)) as bigint;
  if (allowance < amount) await mined(erc20.getFunction('approve')(x.xmargin.vault, amount));

  // --- LOCK: X -> E.
  const sub = CANARY_SUBACCOUNT;
  const creditOf = async (): Promise<bigint> =>
    (await engine.getFunction('creditOf')(me, sub, x.eid, token.address)) as bigint;
  const creditBefore = await creditOf();
  const [depositFee] = (await vault.getFunction('quoteDeposit')(token.address, amount, sub, e.eid, '0x')) as [
    bigint,
  ];
  const lockSentAt = Date.now();
  const depositReceipt = await mined(
    vault.getFunction('deposit')(token.address, amount, sub, e.eid, '0x', { value: depositFee }),
  );
  const lockId = eventArg(depositReceipt, x.xmargin.vault, vaultI, 'Deposited', 'id');
  let credited = 0n;
  const lockMs = await waitUntil(
    async () => {
      credited = (await creditOf()) - creditBefore;
      if (credited > 0n) return true;
      // Delivered but not credited: the engine holds it (paused source, cap, governor); waiting is useless.
      // The credit is read again after `processed`: a block may have landed between the two reads, and
      // delivery and credit happen in the same transaction.
      if ((await engine.getFunction('processed')(lockId)) === true) {
        credited = (await creditOf()) - creditBefore;
        if (credited > 0n) return true;
        fail(
          `LOCK ${lockId} delivered but held by engine ${e.name} (CreditHeld) — check its collateral source for ${x.name} ${token.symbol} (enabled, caps, pause); claimHeldCredit after fixing`,
        );
      }
      return false;
    },
    lockSentAt,
    timeoutMs,
    pollMs,
  );
  if (lockMs === undefined) throw new CanaryError(notDeliveredMessage(x.name, e.name, 'LOCK', timeoutMs));

  // --- RELEASE: E -> X, everything the LOCK credited (a fee-on-transfer token credits less than sent).
  const [withdrawFee] = (await engine.getFunction('quoteWithdraw')(x.eid, '0x')) as [bigint];
  const releaseSentAt = Date.now();
  const withdrawReceipt = await mined(
    engine.getFunction('withdraw')(sub, x.eid, token.address, credited, me, '0x', { value: withdrawFee }),
  );
  const releaseId = eventArg(withdrawReceipt, e.xmargin.engine as Address, engineI, 'Debited', 'id');
  const releaseMs = await waitUntil(
    async () => (await vault.getFunction('processed')(releaseId)) === true,
    releaseSentAt,
    timeoutMs,
    pollMs,
  );
  if (releaseMs === undefined)
    throw new CanaryError(notDeliveredMessage(x.name, e.name, 'RELEASE', timeoutMs));
  const queued = (await vault.getFunction('queuedPayout')(releaseId)) as { recipient: string };
  if (BigInt(queued.recipient) !== 0n) {
    fail(
      `RELEASE ${releaseId} delivered but the payout was queued by vault ${x.name}'s outflow governor — executeQueued once the window refills, or raise the outflow cap`,
    );
  }
  return { from: x.name, to: e.name, token: token.symbol, amount, lockMs, releaseMs };
}

/** X's first ERC-20 in config order that vault X has enabled and engine E accepts from X. */
async function pickToken(
  x: ChainConfig,
  e: ChainConfig,
  vault: Contract,
  engine: Contract,
  fail: (why: string) => never,
): Promise<TokenDeployment> {
  for (const t of erc20Candidates(x)) {
    const [asset, source] = (await Promise.all([
      vault.getFunction('assetConfig')(t.address),
      engine.getFunction('collateralSource')(x.eid, t.address),
    ])) as [{ enabled: boolean }, { enabled: boolean }];
    if (asset.enabled && source.enabled) return t;
  }
  return fail(
    `no ERC-20 in ${x.name}'s "tokens" is enabled on its vault and accepted by engine ${e.name} — list one (and configure it as a collateral source of ${e.name})`,
  );
}

/** On a local chain, mints a missing balance if the token lets anyone mint (the devnet's mocks). */
async function ensureBalance(
  x: ChainConfig,
  erc20: Contract,
  me: Address,
  amount: bigint,
  token: TokenDeployment,
  fail: (why: string) => never,
): Promise<void> {
  const balance = (await erc20.getFunction('balanceOf')(me)) as bigint;
  if (balance >= amount) return;
  if (!x.isPublic) {
    const canMint = await erc20
      .getFunction('mint')
      .staticCall(me, amount)
      .then(
        () => true,
        () => false,
      );
    if (canMint) {
      await mined(erc20.getFunction('mint')(me, amount));
      return;
    }
  }
  fail(
    `the signer ${me} holds ${balance} of ${token.symbol} on ${x.name} and needs ${amount} base unit(s) — send it some ${token.symbol} first`,
  );
}

async function mined(sent: Promise<unknown>): Promise<ContractTransactionReceipt> {
  const tx = (await sent) as { wait(): Promise<ContractTransactionReceipt | null> };
  const receipt = await tx.wait();
  if (receipt === null || receipt.status !== 1) throw new CanaryError('canary: a transaction reverted');
  return receipt;
}

function eventArg(
  receipt: ContractTransactionReceipt,
  emitter: Address,
  iface: Interface,
  event: string,
  arg: string,
): string {
  for (const log of receipt.logs) {
    if (log.address.toLowerCase() !== emitter.toLowerCase()) continue;
    const parsed = iface.parseLog(log);
    if (parsed?.name === event) return parsed.args.getValue(arg) as string;
  }
  throw new CanaryError(`canary: no ${event} event in transaction ${receipt.hash}`);
}

/** Polls `check` until it is true; the ms since `since`, or undefined after `timeoutMs`. */
async function waitUntil(
  check: () => Promise<boolean>,
  since: number,
  timeoutMs: number,
  pollMs: number,
): Promise<number | undefined> {
  while (Date.now() - since < timeoutMs) {
    if (await check()) return Date.now() - since;
    await new Promise((r) => setTimeout(r, pollMs));
  }
  return undefined;
}
