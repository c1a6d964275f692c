/**
 * RFC 1413 (Identification Protocol) messages, as the SOCKS4 text uses them to check a USERID: the query
 * `<port on the queried host> , <port on the querying host>` CRLF, and the one-line response, either
 * `<ports> : USERID : <opsys> [, <charset>] : <user id>` or `<ports> : ERROR : <error type>`.
 *
 * @module
 */
import { complete, type Decoded, needMore } from "./decoded.ts";
import { SocksError } from "./socks_error.ts";

/** The well-known identd port (RFC 1413 section 1). */
export const IDENT_PORT = 113;

/**
 * The longest response line accepted: RFC 1413 caps the user id at 512 octets; the ports, the keywords and the
 * operating system take well under 500 more.
 */
export const MAX_IDENT_RESPONSE = 1000;

/** A query: which connection is asked about, by its two ports. */
export interface IdentQuery {
  /** The connection's port on the host that runs identd (the SOCKS client's port). */
  readonly portOnServer: number;
  /** The connection's port on the host that asks (the SOCKS server's port). */
  readonly portOnClient: number;
}

/** An answer: the user owning the connection, or the error identd reported. */
export type IdentResponse =
  | {
    readonly kind: "userid";
    readonly portOnServer: number;
    readonly portOnClient: number;
    /** The operating system field, e.g. `UNIX` or `OTHER`, with any `, charset` removed. */
    readonly opsys: string;
    /** The user id, as sent (RFC 1413: octets up to the end of the line; leading blanks are dropped here). */
    readonly user: string;
  }
  | {
    readonly kind: "error";
    readonly portOnServer: number;
    readonly portOnClient: number;
    /** `INVALID-PORT`, `NO-USER`, `HIDDEN-USER`, `UNKNOWN-ERROR` or an `X` token. */
    readonly error: string;
  };

function checkPort(port: number, what: string): void {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new SocksError("bad-port", `${what} ${port}`);
}

/**
 * Encodes a query line.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeIdentQuery } from "./ident.ts";
 * const bytes = encodeIdentQuery({ portOnServer: 6191, portOnClient: 23 });
 * assert.equal(new TextDecoder().decode(bytes), "6191, 23\r\n");
 * ```
 */
export function encodeIdentQuery(query: IdentQuery): Uint8Array {
  checkPort(query.portOnServer, "ident query: port on the server");
  checkPort(query.portOnClient, "ident query: port on the client");
  return new TextEncoder().encode(`${query.portOnServer}, ${query.portOnClient}\r\n`);
}

/**
 * Decodes a response line (up to LF; CR before it is dropped). Throws a SocksError on a malformed or overlong one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeIdentResponse } from "./ident.ts";
 * const line = new TextEncoder().encode("6193, 23 : USERID : UNIX : stjohns\r\n");
 * const answer = decodeIdentResponse(line);
 * assert.ok(answer.done);
 * assert.deepEqual(answer.value, {
 *   kind: "userid", portOnServer: 6193, portOnClient: 23, opsys: "UNIX", user: "stjohns",
 * });
 * assert.equal(decodeIdentResponse(line.subarray(0, 10)).done, false);
 * ```
 */
export function decodeIdentResponse(bytes: Uint8Array): Decoded<IdentResponse> {
  // The LF is looked for only within the limit: a longer line is refused whether or not its end has arrived, so
  // the answer does not depend on how the bytes were split (and no line over the limit is ever decoded).
  const end = bytes.subarray(0, MAX_IDENT_RESPONSE).indexOf(0x0a);
  if (end < 0) {
    if (bytes.length >= MAX_IDENT_RESPONSE) {
      throw new SocksError("too-long", `ident response longer than ${MAX_IDENT_RESPONSE} bytes`);
    }
    return needMore(1);
  }
  // Latin-1: RFC 1413 user ids are octets, and this keeps every one of them as one character.
  let line = new TextDecoder("latin1").decode(bytes.subarray(0, end));
  if (line.endsWith("\r")) line = line.slice(0, -1);
  const bad = (why: string) => new SocksError("bad-field", `ident response "${line.slice(0, 80)}": ${why}`);
  const first = line.indexOf(":");
  const second = first < 0 ? -1 : line.indexOf(":", first + 1);
  if (second < 0) throw bad("fewer than three fields");
  const ports = /^\s*([0-9]{1,5})\s*,\s*([0-9]{1,5})\s*$/.exec(line.slice(0, first));
  if (!ports) throw bad("no port pair");
  const portOnServer = Number(ports[1]);
  const portOnClient = Number(ports[2]);
  const type = line.slice(first + 1, second).trim().toUpperCase();
  const rest = line.slice(second + 1);
  if (type === "ERROR") {
    return complete({ kind: "error", portOnServer, portOnClient, error: rest.trim() }, end + 1);
  }
  if (type !== "USERID") throw bad(`unknown response type "${type}"`);
  const third = rest.indexOf(":");
  if (third < 0) throw bad("USERID without a user id");
  const opsys = rest.slice(0, third).split(",")[0].trim();
  // RFC 1413: the user id runs to the end of the line, and may hold colons and blanks; only leading blanks go.
  const user = rest.slice(third + 1).replace(/^[ \t]+/, "");
  if (user === "") throw bad("empty user id");
  return complete({ kind: "userid", portOnServer, portOnClient, opsys, user }, end + 1);
}
