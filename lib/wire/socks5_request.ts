/**
 * RFC 1928 sections 4 and 6: the request `VER CMD RSV ATYP DST.ADDR DST.PORT` and the reply
 * `VER REP RSV ATYP BND.ADDR BND.PORT`, including Tor's RESOLVE (0xF0) and RESOLVE_PTR (0xF1) commands, whose
 * replies carry the resolved address (RESOLVE) or name (RESOLVE_PTR, ATYP 0x03) in BND.ADDR.
 *
 * @module
 */
import type { HostPort } from "./address.ts";
import { Socks5Command, type Socks5CommandCode, Socks5Reply, SocksVersion } from "./constants.ts";
import { complete, type Decoded, needMore } from "./decoded.ts";
import { decodeSocks5Address, encodeSocks5Address, hex } from "./socks5_address.ts";
import { SocksError } from "./socks_error.ts";

/** A SOCKS5 request: a command and its destination. */
export interface Socks5Request {
  /** CONNECT, BIND, UDP ASSOCIATE (RFC 1928) or Tor's RESOLVE and RESOLVE_PTR. */
  readonly command: Socks5CommandCode;
  /** The destination (or, for BIND and UDP ASSOCIATE, the client's expected address). */
  readonly destination: HostPort;
}

/** A SOCKS5 reply: a REP code (0x00-0x08 assigned, any byte decodes) and the bound address. */
export interface Socks5ReplyMessage {
  /** The REP field: 0x00 succeeded, 0x01-0x08 errors (RFC 1928 section 6). */
  readonly reply: number;
  /** The BND.ADDR and BND.PORT fields: the server's outbound address, a BIND peer, or a RESOLVE answer. */
  readonly bound: HostPort;
}

const COMMANDS: ReadonlySet<number> = new Set(Object.values(Socks5Command));

/**
 * Encodes a request.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeSocks5Request } from "./socks5_request.ts";
 * const bytes = encodeSocks5Request({
 *   command: 1,
 *   destination: { address: { type: "domain", host: "a.io" }, port: 443 },
 * });
 * assert.deepEqual([...bytes], [5, 1, 0, 3, 4, 0x61, 0x2e, 0x69, 0x6f, 1, 187]);
 * ```
 */
export function encodeSocks5Request(request: Socks5Request): Uint8Array {
  if (!COMMANDS.has(request.command)) {
    throw new SocksError("bad-command", `SOCKS5 has no command 0x${hex(request.command)}`);
  }
  return withHeader(request.command, encodeSocks5Address(request.destination));
}

/**
 * Decodes a request. Errors carry the REP to answer with: 0x07 for an unknown command, 0x08 for an unknown address
 * type, 0x01 for anything else malformed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeSocks5Request } from "./socks5_request.ts";
 * // CONNECT to 127.0.0.1:80, followed by the first byte of the data behind it.
 * const bytes = new Uint8Array([0x05, 0x01, 0x00, 0x01, 127, 0, 0, 1, 0, 80, 0x47]);
 * const answer = decodeSocks5Request(bytes);
 * assert.ok(answer.done);
 * assert.equal(answer.consumed, 10);
 * assert.deepEqual(answer.value.destination, { address: { type: "ipv4", host: "127.0.0.1" }, port: 80 });
 * // An unknown command carries the reply to answer with: 0x07, command not supported.
 * assert.throws(() => decodeSocks5Request(new Uint8Array([0x05, 0x09, 0x00, 0x01, 1, 2, 3, 4, 0, 80])), {
 *   reply: 0x07,
 * });
 * ```
 */
export function decodeSocks5Request(bytes: Uint8Array): Decoded<Socks5Request> {
  const reply = Socks5Reply.GeneralFailure;
  if (bytes.length < 1) return needMore(5);
  if (bytes[0] !== SocksVersion.Socks5) {
    throw new SocksError("bad-version", `SOCKS5 request has version ${bytes[0]}, not 5`, { reply });
  }
  if (bytes.length < 2) return needMore(4);
  if (!COMMANDS.has(bytes[1])) {
    throw new SocksError("bad-command", `unknown SOCKS5 command 0x${hex(bytes[1])}`, {
      reply: Socks5Reply.CommandNotSupported,
    });
  }
  if (bytes.length < 3) return needMore(3);
  if (bytes[2] !== 0) {
    throw new SocksError("bad-reserved", `SOCKS5 request RSV is 0x${hex(bytes[2])}, not 0x00`, { reply });
  }
  const address = decodeSocks5Address(bytes, 3);
  if (!address.done) return address;
  return complete({ command: bytes[1] as Socks5CommandCode, destination: address.value }, 3 + address.consumed);
}

/**
 * Encodes a reply.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeSocks5Reply } from "./socks5_request.ts";
 * const bytes = encodeSocks5Reply({ reply: 0, bound: { address: { type: "ipv4", host: "127.0.0.1" }, port: 1080 } });
 * assert.deepEqual([...bytes], [5, 0, 0, 1, 127, 0, 0, 1, 4, 56]);
 * ```
 */
export function encodeSocks5Reply(message: Socks5ReplyMessage): Uint8Array {
  if (!Number.isInteger(message.reply) || message.reply < 0 || message.reply > 255) {
    throw new SocksError("bad-field", `SOCKS5 reply code ${message.reply} is not a byte`);
  }
  return withHeader(message.reply, encodeSocks5Address(message.bound));
}

/**
 * Decodes a reply; any REP byte is accepted, since a client maps unknown codes to a failure itself.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeSocks5Reply } from "./socks5_request.ts";
 * // REP 0x05 (connection refused), bound address 0.0.0.0:0.
 * const answer = decodeSocks5Reply(new Uint8Array([0x05, 0x05, 0x00, 0x01, 0, 0, 0, 0, 0, 0]));
 * assert.ok(answer.done);
 * assert.equal(answer.value.reply, 0x05);
 * assert.deepEqual(decodeSocks5Reply(new Uint8Array([0x05, 0x00, 0x00])), { done: false, needed: 2 });
 * ```
 */
export function decodeSocks5Reply(bytes: Uint8Array): Decoded<Socks5ReplyMessage> {
  if (bytes.length < 1) return needMore(5);
  if (bytes[0] !== SocksVersion.Socks5) {
    throw new SocksError("bad-version", `SOCKS5 reply has version ${bytes[0]}, not 5`);
  }
  if (bytes.length < 3) return needMore(5 - bytes.length);
  if (bytes[2] !== 0) throw new SocksError("bad-reserved", `SOCKS5 reply RSV is 0x${hex(bytes[2])}, not 0x00`);
  const address = decodeSocks5Address(bytes, 3);
  if (!address.done) return address;
  return complete({ reply: bytes[1], bound: address.value }, 3 + address.consumed);
}

function withHeader(second: number, address: Uint8Array): Uint8Array {
  const out = new Uint8Array(3 + address.length);
  out[0] = SocksVersion.Socks5;
  out[1] = second;
  out.set(address, 3);
  return out;
}
