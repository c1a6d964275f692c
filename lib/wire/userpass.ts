/**
 * RFC 1929 username/password sub-negotiation: `VER=1 ULEN UNAME PLEN PASSWD` and the reply `VER=1 STATUS`.
 *
 * @module
 */
import { MAX_FIELD_LENGTH, UserPass } from "./constants.ts";
import { complete, type Decoded, needMore } from "./decoded.ts";
import { SocksError } from "./socks_error.ts";

/** Credentials as RFC 1929 carries them: each 1-255 bytes of UTF-8. */
export interface UserPassRequest {
  /** The UNAME field, 1-255 bytes of UTF-8. */
  readonly username: string;
  /** The PASSWD field, 1-255 bytes of UTF-8. */
  readonly password: string;
}

/** The server's verdict: status 0 is success, anything else failure (and the server closes). */
export interface UserPassReply {
  /** The STATUS field: 0x00 success, anything else failure. */
  readonly status: number;
}

const encoder = new TextEncoder();
const strictDecoder = new TextDecoder("utf-8", { fatal: true });

/**
 * Encodes credentials. Throws on an empty or over-long field.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeUserPassRequest } from "./userpass.ts";
 * assert.deepEqual([...encodeUserPassRequest({ username: "u", password: "pw" })], [1, 1, 0x75, 2, 0x70, 0x77]);
 * ```
 */
export function encodeUserPassRequest(request: UserPassRequest): Uint8Array {
  const user = field(request.username, "username");
  const pass = field(request.password, "password");
  const out = new Uint8Array(3 + user.length + pass.length);
  out[0] = UserPass.Version;
  out[1] = user.length;
  out.set(user, 2);
  out[2 + user.length] = pass.length;
  out.set(pass, 3 + user.length);
  return out;
}

/**
 * Decodes credentials. Errors (wrong version, empty field, invalid UTF-8) carry reply status 0x01.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeUserPassRequest, encodeUserPassRequest } from "./userpass.ts";
 * const bytes = encodeUserPassRequest({ username: "alice", password: "s3cret" });
 * assert.deepEqual(decodeUserPassRequest(bytes), {
 *   done: true,
 *   value: { username: "alice", password: "s3cret" },
 *   consumed: bytes.length,
 * });
 * // An empty password is malformed; the error carries status 0x01 to answer with.
 * assert.throws(() => decodeUserPassRequest(new Uint8Array([0x01, 1, 0x61, 0])), { reply: 0x01 });
 * ```
 */
export function decodeUserPassRequest(bytes: Uint8Array): Decoded<UserPassRequest> {
  const reply = UserPass.Failure;
  if (bytes.length < 1) return needMore(5);
  if (bytes[0] !== UserPass.Version) {
    throw new SocksError("bad-version", `RFC 1929 request has version ${bytes[0]}, not 1`, { reply });
  }
  if (bytes.length < 2) return needMore(4);
  const userLength = bytes[1];
  if (userLength === 0) throw new SocksError("bad-field", "RFC 1929 username is empty", { reply });
  const passAt = 2 + userLength;
  if (bytes.length < passAt + 1) return needMore(passAt + 2 - bytes.length);
  const passLength = bytes[passAt];
  if (passLength === 0) throw new SocksError("bad-field", "RFC 1929 password is empty", { reply });
  const end = passAt + 1 + passLength;
  if (bytes.length < end) return needMore(end - bytes.length);
  const username = text(bytes.subarray(2, passAt), "username");
  const password = text(bytes.subarray(passAt + 1, end), "password");
  return complete({ username, password }, end);
}

/**
 * Encodes the reply `01 STATUS`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeUserPassReply } from "./userpass.ts";
 * assert.deepEqual(encodeUserPassReply({ status: 0x00 }), new Uint8Array([0x01, 0x00]));
 * ```
 */
export function encodeUserPassReply(reply: UserPassReply): Uint8Array {
  if (!Number.isInteger(reply.status) || reply.status < 0 || reply.status > 255) {
    throw new SocksError("bad-field", `RFC 1929 status ${reply.status} is not a byte`);
  }
  return new Uint8Array([UserPass.Version, reply.status]);
}

/**
 * Decodes the reply `01 STATUS`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeUserPassReply } from "./userpass.ts";
 * assert.deepEqual(decodeUserPassReply(new Uint8Array([0x01, 0x01])), { done: true, value: { status: 0x01 }, consumed: 2 });
 * assert.equal(decodeUserPassReply(new Uint8Array([0x01])).done, false);
 * ```
 */
export function decodeUserPassReply(bytes: Uint8Array): Decoded<UserPassReply> {
  if (bytes.length >= 1 && bytes[0] !== UserPass.Version) {
    throw new SocksError("bad-version", `RFC 1929 reply has version ${bytes[0]}, not 1`);
  }
  if (bytes.length < 2) return needMore(2 - bytes.length);
  return complete({ status: bytes[1] }, 2);
}

function field(value: string, what: string): Uint8Array {
  const bytes = encoder.encode(value);
  if (bytes.length === 0) throw new SocksError("bad-field", `RFC 1929 ${what} is empty`);
  if (bytes.length > MAX_FIELD_LENGTH) {
    throw new SocksError("too-long", `RFC 1929 ${what} is ${bytes.length} bytes, longer than ${MAX_FIELD_LENGTH}`);
  }
  return bytes;
}

function text(bytes: Uint8Array, what: string): string {
  try {
    return strictDecoder.decode(bytes);
  } catch (cause) {
    throw new SocksError("bad-field", `RFC 1929 ${what} is not valid UTF-8`, { reply: UserPass.Failure, cause });
  }
}
