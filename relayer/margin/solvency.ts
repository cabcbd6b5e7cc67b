// The solvency rule of DESIGN.md invariant 1 as the margin view sees it: per vault chain and token,
// the collateral the vault has locked must cover what the engines credit against it plus what is in
// flight between them (a LOCK not yet credited, a RELEASE / SEIZE / MOVE debited and not yet paid
// out). The obligations come from the view (every account it follows); the locked amount is read from
// the vault on chain by the caller (relayer/node/solvency.ts), so a vault whose books disagree with
// the events it emitted, or an engine crediting more than was locked, shows as a shortfall.
// Held credits (CreditHeld) are still locked and in no engine's credit: they only add to the margin.

/** What obligations need of an account: its credit per engine and its messages in flight (an AccountMargin has both). */
export interface ObligationSource {
  engines: readonly { credit: Readonly<Record<string, bigint>> }[];
  inFlight: readonly { tokenEid: number; token: string; amount: bigint }[];
}

/** `${vaultEid}:${token}` with the token address in lower case. */
export type CollateralKey = `${number}:${string}`;

export interface Obligation {
  /** Σ over engines and accounts of the credit against this vault's token. */
  credit: bigint;
  /** Σ of the messages in flight that move this vault's token. */
  inFlight: bigint;
}

export interface SolvencyLine {
  vaultEid: number;
  token: string;
  locked: bigint;
  credit: bigint;
  inFlight: bigint;
  /** credit + inFlight − locked when positive, else 0. */
  shortfall: bigint;
}

const keyOf = (eid: number, token: string): CollateralKey => `${eid}:${token.toLowerCase()}`;

/** Sums credit and in-flight amounts per (vault chain, token) over the given accounts. */
export function obligations(accounts: Iterable<ObligationSource>): Map<CollateralKey, Obligation> {
  const out = new Map<CollateralKey, Obligation>();
  const at = (key: CollateralKey): Obligation => {
    let o = out.get(key);
    if (o === undefined) {
      o = { credit: 0n, inFlight: 0n };
      out.set(key, o);
    }
    return o;
  };
  for (const a of accounts) {
    for (const e of a.engines) {
      for (const [k, amount] of Object.entries(e.credit)) {
        const [eid, token] = k.split(':') as [string, string];
        at(keyOf(Number(eid), token)).credit += amount;
      }
    }
    for (const f of a.inFlight) at(keyOf(f.tokenEid, f.token)).inFlight += f.amount;
  }
  return out;
}

/**
 * One line per (vault chain, token) whose locked amount is known: `locked` holds the vault's
 * on-chain figure for every pair checked; obligations for pairs not in it are not judged here (a
 * chain the node cannot read).
 */
export function checkSolvency(
  owed: ReadonlyMap<CollateralKey, Obligation>,
  locked: ReadonlyMap<CollateralKey, bigint>,
): SolvencyLine[] {
  return [...locked].map(([key, l]) => {
    const [eid, token] = key.split(':') as [string, string];
    const o = owed.get(key) ?? { credit: 0n, inFlight: 0n };
    const need = o.credit + o.inFlight;
    return {
      vaultEid: Number(eid),
      token,
      locked: l,
      credit: o.credit,
      inFlight: o.inFlight,
      shortfall: need > l ? need - l : 0n,
    };
  });
}

export { keyOf as collateralKey };
