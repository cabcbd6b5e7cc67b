// The gossip envelope: what every message looks like on the wire, and how it is signed.
//
// Wire bytes = canonical JSON of {payload, sentAt, signature, topic}. The signature is EIP-191
// (`personal_sign`) by the operator's EVM key over
//   digest = sha256("xmargin-gossip-v2" ‖ topic ‖ canonical JSON of {payload, sentAt, topic})
// so validity depends on the EVM key, never on the libp2p peer id, and a signature cannot be moved
// to another topic or to another protocol that signs with the same key. SHA-256, not keccak256: the
// digest never goes on chain, and node:crypto hashes a 1 KB body in ~3 µs where keccak256 in JS
// takes ~80 µs, on every message every node takes in (v1 used keccak256).
//
// Message id = keccak256(digest ‖ signer). It names what was said and who said it, not the bytes:
// a re-encoded copy or a second signature by the same key (ethers refuses high-s, so there is no
// malleated twin) is a replay, while two attestors signing the same observation in the same
// millisecond are two messages.
//
// Canonical JSON: object keys sorted, no whitespace, bigints as decimal strings. A receiver
// re-encodes what it parsed and requires the same bytes, so one content has one encoding.

import { createHash } from 'node:crypto';
import {
  concat,
  getAddress,
  getBytes,
  hashMessage,
  keccak256,
  recoverAddress,
  type Signer,
  toUtf8Bytes,
} from 'ethers';
import type { Address, Hex } from '../config/types.ts';
import { personalSign } from '../keys/personal-sign.ts';
import { GossipValidationError } from './errors.ts';
import { SIGNATURE_65_HEX } from './verifier.ts';

export const GOSSIP_DOMAIN = 'xmargin-gossip-v2';
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

/** A parsed envelope whose signature is not yet checked. */
export interface ParsedEnvelope extends EnvelopeBody {
  signature: Hex;
  digest: Hex;
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

const utf8Encoder = new TextEncoder();
const DOMAIN_BYTES = utf8Encoder.encode(GOSSIP_DOMAIN);

/** The digest the EVM key signs (before the EIP-191 prefix). */
export function envelopeDigest(body: EnvelopeBody): Hex {
  return canonicalBodyDigest(
    body.topic,
    canonicalJson({ payload: body.payload, sentAt: body.sentAt, topic: body.topic }),
  );
}

/** sha256(domain ‖ topic ‖ canonical body), from the body's canonical JSON. */
function canonicalBodyDigest(topic: string, canonical: string): Hex {
  const hash = createHash('sha256').update(DOMAIN_BYTES).update(topic, 'utf8').update(canonical, 'utf8');
  return `0x${hash.digest('hex')}` as Hex;
}

const DIGEST_AND_ADDRESS_HEX = /^0x[0-9a-fA-F]{64}0x[0-9a-fA-F]{40}$/;

/** The message id: what was signed and by whom. */
export function messageId(digest: Hex, signer: Address): Hex {
  // Every message a node takes in gets one: read the two hex strings natively where they are the
  // 32-byte digest and 20-byte address they should be, through ethers (which names a bad one) else.
  if (DIGEST_AND_ADDRESS_HEX.test(digest + signer)) {
    return keccak256(Buffer.from(digest.slice(2) + signer.slice(2), 'hex')) as Hex;
  }
  return keccak256(concat([digest, signer])) as Hex;
}

/** Signs and encodes an envelope. Throws if it would exceed MAX_ENVELOPE_BYTES. */
export async function sealEnvelope(
  signer: Signer,
  body: EnvelopeBody,
): Promise<{ bytes: Uint8Array; id: Hex }> {
  const digest = envelopeDigest(body);
  const signature = await personalSign(signer, getBytes(digest));
  const id = messageId(digest, getAddress(await signer.getAddress()) as Address);
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
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Whether `text` is the canonical JSON of `parsed` (its JSON.parse), i.e. `canonicalJson(parsed) ===
 * text`. Re-encoding a 1 KB envelope key by key took a fifth of a message's validation; when the
 * parsed objects already list their keys in sorted order, JSON.stringify (native) writes exactly what
 * canonicalJson would, so that is compared first. Anything else (keys out of order, or integer-like
 * keys that JavaScript enumerates first) is decided by canonicalJson itself.
 */
function isCanonicalText(parsed: unknown, text: string): boolean {
  if (keysInSortedOrder(parsed) && JSON.stringify(parsed) === text) return true;
  return canonicalJson(parsed) === text;
}

/** Whether every object inside `value` enumerates its keys in strictly increasing (string) order. */
function keysInSortedOrder(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return true;
  if (Array.isArray(value)) return value.every(keysInSortedOrder);
  let previous: string | undefined;
  for (const [key, child] of Object.entries(value)) {
    if (previous !== undefined && !(previous < key)) return false;
    if (!keysInSortedOrder(child)) return false;
    previous = key;
  }
  return true;
}

/** Parses and checks the envelope's form; does not verify the signature (see `recoverSigner`). */
export function parseEnvelope(bytes: Uint8Array): ParsedEnvelope {
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
  if (typeof signature !== 'string' || !SIGNATURE_65_HEX.test(signature)) {
    throw new GossipValidationError('MALFORMED', 'signature is not 65 bytes of hex');
  }
  if (!isCanonicalText(parsed, text)) {
    throw new GossipValidationError('MALFORMED', 'envelope is not in canonical form');
  }
  // The signed body is the envelope without its signature. In canonical form (keys sorted) the text
  // ends with `,"signature":"0x…","topic":…}`, so the body's canonical JSON is the text with the
  // signature field cut out: no second encoding of the payload.
  const tail = `,"topic":${JSON.stringify(topic)}}`;
  const cut = text.length - tail.length - `,"signature":"${signature}"`.length;
  const digest = canonicalBodyDigest(topic, text.slice(0, cut) + tail);
  return { topic, sentAt, payload, signature: signature as Hex, digest };
}

/** Recovers the EVM address that signed `digest`; BAD_SIGNATURE if the signature is not a valid one. */
export function recoverSigner(digest: Hex, signature: Hex): Address {
  try {
    return recoverAddress(hashMessage(getBytes(digest)), signature) as Address;
  } catch {
    throw new GossipValidationError('BAD_SIGNATURE', 'signature does not recover');
  }
}

/** Parse + recover in one step (what a receiver that trusts no cache does). */
export function openEnvelope(bytes: Uint8Array): OpenedEnvelope {
  const { signature, digest, ...body } = parseEnvelope(bytes);
  const signer = recoverSigner(digest, signature);
  return { ...body, signer, id: messageId(digest, signer) };
}
