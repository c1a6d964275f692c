/**
 * RFC 1961 (GSS-API authentication for SOCKS5) message framing: `VER(1)=1 MTYP(1) LEN(2) TOKEN`, where MTYP 1
 * carries a context-establishment token, 2 a protection-level message, 3 an encapsulated (gss_wrap) message, and
 * the abort message is `VER MTYP=0xFF` with no length. The GSS-API work itself is elsewhere; this only frames.
 *
 * @module
 */
import { complete, type Decoded, needMore } from "./decoded.ts";
import { SocksError } from "./socks_error.ts";

/** The VER byte of every RFC 1961 message. */
export const GSSAPI_VERSION = 0x01;

/** RFC 1961 message types (MTYP). */
export const GssApiMessageType = {
  /** Section 3: a security-context establishment token. */
  Context: 0x01,
  /** Section 4.3: the (wrapped) protection level. */
  Protection: 0x02,
  /** Section 5: an encapsulated user-data message. */
  Encapsulated: 0x03,
  /** Section 3.8: the peer refuses; the connection closes. */
  Abort: 0xff,
} as const;

/** A message type of RFC 1961. */
export type GssApiMessageTypeCode = typeof GssApiMessageType[keyof typeof GssApiMessageType];

/** RFC 1961 section 4.3 protection levels (0, no per-message protection, is what curl and NEC servers use). */
export const GssApiProtection = {
  /** Not in RFC 1961: no per-message protection after authentication (curl's only working level). */
  None: 0x00,
  /** gss_wrap with conf_req FALSE: integrity. */
  Integrity: 0x01,
  /** gss_wrap with conf_req TRUE: confidentiality and integrity. */
  Confidentiality: 0x02,
  /** Per-message choice by local configuration. */
  Selective: 0x03,
} as const;

/** The largest TOKEN: LEN is two bytes. */
export const MAX_GSSAPI_TOKEN = 0xffff;

/** One RFC 1961 message: a type and its token (empty for an abort). */
export interface GssApiMessage {
  /** MTYP. */
  readonly type: number;
  /** TOKEN (no bytes for an abort). */
  readonly token: Uint8Array;
}

/**
 * Encodes one message; an abort is the two bytes `01 FF`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeGssApiMessage } from "./gssapi.ts";
 * assert.deepEqual([...encodeGssApiMessage({ type: 1, token: new Uint8Array([0xaa]) })], [1, 1, 0, 1, 0xaa]);
 * assert.deepEqual([...encodeGssApiMessage({ type: 0xff, token: new Uint8Array() })], [1, 0xff]);
 * ```
 */
export function encodeGssApiMessage(message: GssApiMessage): Uint8Array {
  if (message.type === GssApiMessageType.Abort) return new Uint8Array([GSSAPI_VERSION, GssApiMessageType.Abort]);
  if (message.token.length > MAX_GSSAPI_TOKEN) {
    throw new SocksError(
      "too-long",
      `GSS-API token of ${message.token.length} bytes; RFC 1961 allows ${MAX_GSSAPI_TOKEN}`,
    );
  }
  const out = new Uint8Array(4 + message.token.length);
  out[0] = GSSAPI_VERSION;
  out[1] = message.type;
  out[2] = message.token.length >> 8;
  out[3] = message.token.length & 0xff;
  out.set(message.token, 4);
  return out;
}

/**
 * Decodes one message from the front of `bytes` (incremental: asks for more until it is whole). The token is a
 * copy. Throws a SocksError on a version other than 1.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeGssApiMessage } from "./gssapi.ts";
 * assert.deepEqual(decodeGssApiMessage(new Uint8Array([1, 3, 0, 2, 7])), { done: false, needed: 1 });
 * const whole = decodeGssApiMessage(new Uint8Array([1, 3, 0, 2, 7, 8, 9]));
 * assert.ok(whole.done);
 * assert.equal(whole.consumed, 6);
 * assert.deepEqual([...whole.value.token], [7, 8]);
 * ```
 */
export function decodeGssApiMessage(bytes: Uint8Array): Decoded<GssApiMessage> {
  if (bytes.length < 2) return needMore(2 - bytes.length);
  if (bytes[0] !== GSSAPI_VERSION) {
    throw new SocksError("bad-version", `GSS-API message version ${bytes[0]}, not ${GSSAPI_VERSION} (RFC 1961)`);
  }
  if (bytes[1] === GssApiMessageType.Abort) {
    return complete({ type: GssApiMessageType.Abort, token: new Uint8Array() }, 2);
  }
  if (bytes.length < 4) return needMore(4 - bytes.length);
  const length = (bytes[2] << 8) | bytes[3];
  if (bytes.length < 4 + length) return needMore(4 + length - bytes.length);
  return complete({ type: bytes[1], token: bytes.slice(4, 4 + length) }, 4 + length);
}
