// The Rebalancer's ABI (contracts/interfaces/IRebalancer.sol, the interface agreed with the contract
// side) and the engine / vault views the rebalancer reads, in human-readable form so this module does
// not depend on forge's out/ directory being built.

import { Interface } from 'ethers';

const LIMITS = '(uint32[] engines, uint256 maxPerMoveUsd, uint256 minSourceHealth, uint64 expiry)';

export const REBALANCER = new Interface([
  `event Authorised(address indexed account, uint96 indexed subaccount, ${LIMITS} limits)`,
  'event Revoked(address indexed account, uint96 indexed subaccount)',
  'event ExecutorSet(address indexed executor, bool allowed)',
  'event Rebalanced(bytes32 indexed id, address indexed account, uint96 indexed subaccount, uint32 srcEid, address token, uint256 amount, uint32 dstEngineEid, address executor)',
  `function authorise(uint96 subaccount, ${LIMITS} limits)`,
  'function revoke(uint96 subaccount)',
  'function rebalance(address account, uint96 subaccount, uint32 srcEid, address token, uint256 amount, uint32 dstEngineEid, bytes options) payable returns (bytes32 id)',
  `function authorisation(address account, uint96 subaccount) view returns (${LIMITS})`,
  'function isExecutor(address executor) view returns (bool)',
  'error NotExecutor(address caller)',
  'error NotAuthorised(address account, uint96 subaccount)',
  'error AuthorisationExpired(address account, uint96 subaccount, uint64 expiry)',
  'error EngineNotAllowed(uint32 dstEngineEid)',
  'error MoveTooLarge(uint256 valueUsd, uint256 maxPerMoveUsd)',
  'error SourceHealthTooLow(uint256 health, uint256 minSourceHealth)',
  'error UnknownCollateral(uint32 srcEid, address token)',
  'error InvalidLimits()',
  'error RefundFailed(address to, uint256 amount)',
]);

/** The engine's MOVE fee quote and the vault / engine events a MOVE leaves on its way. */
export const MOVE_ABI = new Interface([
  'function quoteMove(uint32 srcEid, bytes options) view returns ((uint256 nativeFee, uint256 lzTokenFee))',
  'event CreditMoved(bytes32 indexed id, address indexed account, uint96 indexed subaccount, address token, uint256 amount, uint32 fromEngineEid, uint32 toEngineEid)',
  'event Credited(bytes32 indexed id, address indexed account, uint96 indexed subaccount, uint32 srcEid, address token, uint256 amount)',
  'event CreditHeld(bytes32 indexed id, address indexed account, uint96 indexed subaccount, uint8 reason)',
]);

const topic = (i: Interface, name: string) => i.getEvent(name)?.topicHash as `0x${string}`;

export const TOPICS_RB = {
  Authorised: topic(REBALANCER, 'Authorised'),
  Revoked: topic(REBALANCER, 'Revoked'),
  Rebalanced: topic(REBALANCER, 'Rebalanced'),
  CreditMoved: topic(MOVE_ABI, 'CreditMoved'),
  Credited: topic(MOVE_ABI, 'Credited'),
  CreditHeld: topic(MOVE_ABI, 'CreditHeld'),
} as const;
