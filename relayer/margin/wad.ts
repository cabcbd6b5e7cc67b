// WadMath.sol, in bigint, with the same rounding directions (collateral values down, requirements
// up). The view must agree with MarginEngine._health to the last wei, so every helper here is a
// line-for-line twin of the Solidity one, and no floating point ever touches an amount.

export const WAD = 10n ** 18n;
export const MAX_UINT256 = (1n << 256n) - 1n;

/** OpenZeppelin Math.mulDiv: floor(x * y / d), or its ceiling. Operands are uint256 (non-negative). */
export function mulDiv(x: bigint, y: bigint, d: bigint, roundUp = false): bigint {
  if (d === 0n) throw new RangeError('mulDiv: division by zero');
  const p = x * y;
  const q = p / d;
  return roundUp && q * d !== p ? q + 1n : q;
}

export const mulWadDown = (x: bigint, y: bigint): bigint => mulDiv(x, y, WAD);
export const mulWadUp = (x: bigint, y: bigint): bigint => mulDiv(x, y, WAD, true);
export const divWadDown = (x: bigint, y: bigint): bigint => mulDiv(x, WAD, y);
export const divWadUp = (x: bigint, y: bigint): bigint => mulDiv(x, WAD, y, true);

/** 10^0 .. 10^77 (every power below 2^256), so the hot paths do not exponentiate per call. */
const POW10: readonly bigint[] = Array.from({ length: 78 }, (_, i) => 10n ** BigInt(i));

/** 10n ** BigInt(d), from a table for 0 <= d <= 77. */
export const pow10 = (d: number): bigint => POW10[d] ?? 10n ** BigInt(d);

/** Value in USD (WAD) of `amount` token units at `priceWad` USD per whole token, rounded down. */
export const toUsdDown = (amount: bigint, priceWad: bigint, decimals: number): bigint =>
  mulDiv(amount, priceWad, pow10(decimals));

export const abs = (x: bigint): bigint => (x < 0n ? -x : x);

/** A finite float figure (a health from the packed screen, ./fast.ts) as WAD, rounded to the nearest wei. */
export const floatToWad = (x: number): bigint => BigInt(Math.round(x * 1e18));

/** OpenZeppelin Math.sqrt: floor(√x) for x >= 0 (Newton's iteration from an over-estimate). */
export function sqrtDown(x: bigint): bigint {
  if (x < 0n) throw new RangeError('sqrtDown: negative operand');
  if (x < 2n) return x;
  let r = 1n << BigInt(Math.ceil(x.toString(2).length / 2));
  for (;;) {
    const next = (r + x / r) >> 1n;
    if (next >= r) return r;
    r = next;
  }
}

/** RiskAsset.depth is in thousands of USD; the engine compares it in WAD. */
export const DEPTH_UNIT = 10n ** 21n;

/** A Chainlink answer scaled to WAD, as ChainlinkPriceAdapter._read does; null when the adapter reverts. */
export function feedToWad(answer: bigint, feedDecimals: number): bigint | null {
  if (answer <= 0n) return null;
  return feedDecimals <= 18 ? answer * pow10(18 - feedDecimals) : answer / pow10(feedDecimals - 18);
}
