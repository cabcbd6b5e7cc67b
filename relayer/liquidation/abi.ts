// The slices of the engine, vault and ERC-20 ABIs the liquidator calls or decodes, in human-readable
// form so this module does not depend on forge's out/ directory being built.

import { Interface } from 'ethers';

const SEIZE_ORDER = '(uint32 srcEid, address token, uint256 maxRepay, bytes options)';
const HEALTH_VIEW =
  '(uint256 collateralValue, int256 equity, uint256 maintenanceRequirement, uint256 initialRequirement, uint256 notional, uint256 health)';
const LIQ_RESULT =
  '(uint256 closeFraction, uint256 closedNotional, uint256 repaid, uint256[] seized, bytes32[] seizeIds, uint256 healthBefore, uint256 healthAfter)';

const LIQ_PARAMS = `(address account, uint96 subaccount, ${SEIZE_ORDER}[] seizes, address recipient)`;

export const ENGINE = new Interface([
  `function liquidate(${LIQ_PARAMS} p) payable returns (${LIQ_RESULT})`,
  `function liquidateBatch(${LIQ_PARAMS}[] items, uint256[] fees) payable returns ((bool landed, ${LIQ_RESULT} result, bytes revertData)[] outcomes)`,
  `function health(address account, uint96 subaccount) view returns (${HEALTH_VIEW})`,
  'function collateralsOf(address account, uint96 subaccount) view returns (uint32[] srcEids, address[] tokens, uint256[] amounts)',
  'function collateralSource(uint32 srcEid, address token) view returns ((uint16 assetId, uint8 decimals, bool enabled, uint256 creditCap, uint128 bridgeCapacity, uint64 bridgeWindow))',
  'function riskAsset(uint16 assetId) view returns ((address oracle, uint64 weight, bool enabled))',
  'function liquidationConfig() view returns ((uint64 bonus, uint64 targetHealth, uint64 fullCloseHealth, uint128 dustNotional))',
  'function quoteSeize(uint32 srcEid, bytes options) view returns ((uint256 nativeFee, uint256 lzTokenFee))',
  'function quoteToken() view returns (address)',
  'function quoteDecimals() view returns (uint8)',
  'event Liquidated(address indexed account, uint96 indexed subaccount, address indexed liquidator, uint256 closeFraction, uint256 closedNotional, uint256 repaid, uint256 healthBefore, uint256 healthAfter)',
  'event Debited(bytes32 indexed id, uint8 kind, address indexed account, uint96 indexed subaccount, uint32 srcEid, address token, uint256 amount, address recipient, uint32 dstEngineEid)',
  'event LiquidationSkipped(address indexed account, uint96 indexed subaccount, address indexed liquidator, bytes reason)',
  'event BadDebtSettled(address indexed account, uint96 indexed subaccount, uint256 coveredByInsurance, uint256 writtenOff)',
  'error HealthyAccount(uint256 health)',
  'error UnknownCollateral(uint32 srcEid, address token)',
  'error ZeroAmount()',
  'error ZeroAddress()',
  'error NoVenue()',
  'error RefundFailed(address to, uint256 amount)',
  'error LiquidationNotConfigured()',
  'error BatchLengthMismatch(uint256 items, uint256 fees)',
  'error BatchValueTooLow(uint256 required, uint256 provided)',
  'error ERC20InsufficientAllowance(address spender, uint256 allowance, uint256 needed)',
  'error ERC20InsufficientBalance(address sender, uint256 balance, uint256 needed)',
  'error SafeERC20FailedOperation(address token)',
]);

export const VAULT = new Interface([
  'event PaidOut(bytes32 indexed id, uint8 kind, address indexed account, uint96 subaccount, address token, uint256 amount, address indexed recipient, uint32 engineEid)',
  'event PayoutQueued(bytes32 indexed id, address indexed token, address indexed recipient, uint256 amount)',
  'event QueuedPayoutExecuted(bytes32 indexed id, bool byGuardian)',
]);

export const PRICE_ADAPTER = new Interface(['function price() view returns (uint256)']);

export const ERC20 = new Interface([
  'function allowance(address owner, address spender) view returns (uint256)',
  'function approve(address spender, uint256 amount) returns (bool)',
  'function balanceOf(address owner) view returns (uint256)',
]);

/** MsgCodec.SEIZE: the `kind` of a Debited / PaidOut that pays a liquidator. */
export const KIND_SEIZE = 3;

export const TOPICS_LIQ = {
  Liquidated: ENGINE.getEvent('Liquidated')?.topicHash as `0x${string}`,
  Debited: ENGINE.getEvent('Debited')?.topicHash as `0x${string}`,
  BadDebtSettled: ENGINE.getEvent('BadDebtSettled')?.topicHash as `0x${string}`,
  LiquidationSkipped: ENGINE.getEvent('LiquidationSkipped')?.topicHash as `0x${string}`,
  PaidOut: VAULT.getEvent('PaidOut')?.topicHash as `0x${string}`,
  PayoutQueued: VAULT.getEvent('PayoutQueued')?.topicHash as `0x${string}`,
  QueuedPayoutExecuted: VAULT.getEvent('QueuedPayoutExecuted')?.topicHash as `0x${string}`,
} as const;
