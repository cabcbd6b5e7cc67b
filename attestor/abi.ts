// The LayerZero v2 fragments the attestor and executor use, as human-readable ABI: the node does not
// load the sdk artifacts at run time (they are a dev dependency). test/e2e/attestor.test.ts runs
// these against the real contracts deployed from the artifacts, so a wrong fragment fails there.

import { Interface } from 'ethers';

const ORIGIN = 'tuple(uint32 srcEid, bytes32 sender, uint64 nonce)';
const ULN_CONFIG =
  'tuple(uint64 confirmations, uint8 requiredDVNCount, uint8 optionalDVNCount, uint8 optionalDVNThreshold, address[] requiredDVNs, address[] optionalDVNs)';

export const ENDPOINT = new Interface([
  'event PacketSent(bytes encodedPayload, bytes options, address sendLibrary)',
  `event PacketVerified(${ORIGIN} origin, address receiver, bytes32 payloadHash)`,
  `event PacketDelivered(${ORIGIN} origin, address receiver)`,
  `function lzReceive(${ORIGIN} _origin, address _receiver, bytes32 _guid, bytes _message, bytes _extraData) payable`,
  'function inboundPayloadHash(address receiver, uint32 srcEid, bytes32 sender, uint64 nonce) view returns (bytes32)',
  'function lazyInboundNonce(address receiver, uint32 srcEid, bytes32 sender) view returns (uint64)',
  'function getReceiveLibrary(address receiver, uint32 srcEid) view returns (address lib, bool isDefault)',
]);

export const SEND_ULN = new Interface([
  'event DVNFeePaid(address[] requiredDVNs, address[] optionalDVNs, uint256[] fees)',
  'event ExecutorFeePaid(address executor, uint256 fee)',
]);

export const RECEIVE_ULN = new Interface([
  'function verify(bytes _packetHeader, bytes32 _payloadHash, uint64 _confirmations)',
  'function commitVerification(bytes _packetHeader, bytes32 _payloadHash)',
  `function getUlnConfig(address _oapp, uint32 _remoteEid) view returns (${ULN_CONFIG})`,
  `function verifiable(${ULN_CONFIG} _config, bytes32 _headerHash, bytes32 _payloadHash) view returns (bool)`,
  'function hashLookup(bytes32 headerHash, bytes32 payloadHash, address dvn) view returns (bool submitted, uint64 confirmations)',
  'event PayloadVerified(address dvn, bytes header, uint256 confirmations, bytes32 proofHash)',
]);

/** ReceiveUln302View: `verifiable` is overloaded there, hence only the (bytes, bytes32) one here. */
export const RECEIVE_ULN_VIEW = new Interface([
  'function verifiable(bytes _packetHeader, bytes32 _payloadHash) view returns (uint8)',
]);

export const DVN = new Interface([
  'function execute(tuple(uint32 vid, address target, bytes callData, uint256 expiration, bytes signatures)[] _params) payable',
  'function hashCallData(uint32 _vid, address _target, bytes _callData, uint256 _expiration) view returns (bytes32)',
  'function vid() view returns (uint32)',
  'function quorum() view returns (uint64)',
  'function setSigner(address _signer, bool _active)',
  'function setQuorum(uint64 _quorum)',
  'function isSigner(address _signer) view returns (bool)',
  'function signerSize() view returns (uint256)',
  'function hasRole(bytes32 role, address account) view returns (bool)',
  'function revokeRole(bytes32 role, address account)',
  'event VerifySignaturesFailed(uint256 idx)',
  'event ExecuteFailed(uint256 _index, bytes _data)',
  'event HashAlreadyUsed(tuple(uint32 vid, address target, bytes callData, uint256 expiration, bytes signatures) param, bytes32 _hash)',
]);

/** topic0 of an event of one of the interfaces above. */
export function topic(iface: Interface, name: string): `0x${string}` {
  const event = iface.getEvent(name);
  if (event === null) throw new Error(`no event ${name}`);
  return event.topicHash as `0x${string}`;
}

export const TOPIC = {
  PacketSent: topic(ENDPOINT, 'PacketSent'),
  PacketVerified: topic(ENDPOINT, 'PacketVerified'),
  PacketDelivered: topic(ENDPOINT, 'PacketDelivered'),
  DVNFeePaid: topic(SEND_ULN, 'DVNFeePaid'),
  ExecutorFeePaid: topic(SEND_ULN, 'ExecutorFeePaid'),
  PayloadVerified: topic(RECEIVE_ULN, 'PayloadVerified'),
  VerifySignaturesFailed: topic(DVN, 'VerifySignaturesFailed'),
  ExecuteFailed: topic(DVN, 'ExecuteFailed'),
} as const;
