// The gossip envelope: what every message looks like on the wire, and how it is signed.
//
// Wire bytes = canonical JSON of {payload, sentAt, signature, topic}. The signature is EIP-191
// (`personal_sign`) by the operator's EVM key over
//   digest = keccak256("xmargin-gossip-v1" ‖ topic ‖ canonical JSON of {payload, sentAt, topic})
// so validity depends on the EVM key, never on the libp2p peer id, and a signature cannot be moved
// to another topic or to another protocol that signs with the same key. The digest is also the
// message id: it excludes the signature, so a re-encoded or re-signed copy is still a replay.
//
// Canonical JSON: object keys sorted, no whitespace, bigints as decimal strings. A receiver
// re-encodes what it parsed and requires the same bytes, so one content has one encoding.

import { concat, getBytes, hashMessage, keccak256, recoverAddress, type Signer, toUtf8Bytes } from 'ethers';
import type { Address, Hex } from '../config/types.ts';
import { GossipValidationError } from './errors.ts';

export const GOSSIP_DOMAIN = 'xmargin-gossip-v1';
/** Largest envelope accepted or published (the payloads are small: signatures, claims, heads). */
export const MAX_ENVELOPE_BYTES = 64 * 1024;

/** What the signer commits to. `topic` is the wire topic string (TOPICS[name]). */
export interface EnvelopeBody {
  topic: string;
  sentAt: number;
  payload: unknown;
}

/** A decoded, signature-checked envelope. */
export interface OpenedEnvelope extends EnvelopeBody {
  signer: Address;
  id: Hex;
}

/** Deterministic JSON: sorted keys, bigints as decimal strings; refuses what JSON cannot hold exactly. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError(`cannot encode ${value} in canonical JSON`);
    return JSON.stringify(value);
  }
  if (typeof value === 'bigint') return JSON.stringify(value.toString());
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      // Optional fields left undefined are absent, as in JSON.stringify.
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  throw new TypeError(`cannot encode a ${typeof value} in canonical JSON`);
}

/** The digest the EVM key signs (before the EIP-191 prefix), also the message id. */
export function envelopeDigest(body: EnvelopeBody): Hex {
  const canonical = canonicalJson({ payload: body.payload, sentAt: body.sentAt, topic: body.topic });
  return keccak256(
    concat([toUtf8Bytes(GOSSIP_DOMAIN), toUtf8Bytes(body.topic), toUtf8Bytes(canonical)]),
  ) as Hex;
}

/** Signs and encodes an envelope. Throws if it would exceed MAX_ENVELOPE_BYTES. */
export async function sealEnvelope(
  signer: Signer,
  body: EnvelopeBody,
): Promise<{ bytes: Uint8Array; id: Hex }> {
  const id = envelopeDigest(body);
  const signature = await signer.signMessage(getBytes(id));
  const bytes = toUtf8Bytes(
    canonicalJson({ payload: body.payload, sentAt: body.sentAt, signature, topic: body.topic }),
  );
  if (bytes.length > MAX_ENVELOPE_BYTES) {
    throw new RangeError(
      `gossip envelope of ${bytes.length} bytes exceeds ${MAX_ENVELOPE_BYTES} on ${body.topic}`,
    );
  }
  return { bytes, id };
}

const ENVELOPE_KEYS = ['payload', 'sentAt', 'signature', 'topic'].join();
const SIGNATURE = /^0x[0-9a-fA-F]{130}$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Parses and checks the envelope's form; does not verify the signature (see `recoverSigner`). */
export function parseEnvelope(bytes: Uint8Array): EnvelopeBody & { signature: Hex; id: Hex } {
  if (bytes.length > MAX_ENVELOPE_BYTES) {
    throw new GossipValidationError('TOO_LARGE', `${bytes.length} bytes > ${MAX_ENVELOPE_BYTES}`);
  }
  let text: string;
  let parsed: unknown;
  try {
    text = utf8.decode(bytes);
    parsed = JSON.parse(text);
  } catch {
    throw new GossipValidationError('MALFORMED', 'not UTF-8 JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new GossipValidationError('MALFORMED', 'not a JSON object');
  }
  const fields = parsed as Record<string, unknown>;
  if (Object.keys(fields).sort().join() !== ENVELOPE_KEYS) {
    throw new GossipValidationError('MALFORMED', `fields must be exactly ${ENVELOPE_KEYS}`);
  }
  const { payload, sentAt, signature, topic } = fields;
  if (typeof topic !== 'string') throw new GossipValidationError('MALFORMED', 'topic is not a string');
  if (typeof sentAt !== 'number' || !Number.isSafeInteger(sentAt) || sentAt < 0) {
    throw new GossipValidationError('MALFORMED', 'sentAt is not a millisecond timestamp');
  }
  if (typeof signature !== 'string' || !SIGNATURE.test(signature)) {
    throw new GossipValidationError('MALFORMED', 'signature is not 65 bytes of hex');
  }
  if (canonicalJson(parsed) !== text) {
    throw new GossipValidationError('MALFORMED', 'envelope is not in canonical form');
  }
  const body = { topic, sentAt, payload };
  return { ...body, signature: signature as Hex, id: envelopeDigest(body) };
}

/** Recovers the EVM address that signed `id`; BAD_SIGNATURE if the signature is not a valid one. */
export function recoverSigner(id: Hex, signature: Hex): Address {
  try {
    return recoverAddress(hashMessage(getBytes(id)), signature) as Address;
  } catch {
    throw new GossipValidationError('BAD_SIGNATURE', 'signature does not recover');
  }
}

/** Parse + recover in one step (what a receiver that trusts no cache does). */
export function openEnvelope(bytes: Uint8Array): OpenedEnvelope {
  const { signature, ...rest } = parseEnvelope(bytes);
  return { ...rest, signer: recoverSigner(rest.id, signature) };
}
