/**
 * SOCKS5 authentication: the {@link Authenticator} interface (RFC 1928 section 3 methods; implement it for
 * 0x03-0xFE), no-auth, and RFC 1929 username/password with constant-time credential checks.
 *
 * @module
 */
import type { ByteSink } from "../io/byte_sink.ts";
import type { ByteReader } from "../io/byte_reader.ts";
import type { Endpoint } from "../net/network.ts";
import { Socks5Method, UserPass } from "../wire/constants.ts";
import { SocksError } from "../wire/socks_error.ts";
import { decodeUserPassRequest, encodeUserPassReply, type UserPassRequest } from "../wire/userpass.ts";

/** What an authenticator works with: the client's stream, a writer to it, and its address. */
export interface AuthContext {
  /** Reads the client's sub-negotiation messages. */
  readonly reader: ByteReader;
  /** Writes the answers to the client. */
  readonly writer: ByteSink;
  /** The client's address. */
  readonly client: Endpoint;
}

/** Who the client turned out to be. */
export interface AuthResult {
  /** The authenticated user name, for rules and logs; undefined for anonymous methods. */
  readonly user?: string;
  /** A name the client gave that was not checked: logged as a session label, never used for access. */
  readonly label?: string;
  /**
   * A method with per-message protection (GSS-API, RFC 1961) hands over the stream pair everything after it goes
   * through: the request, the reply and the relayed data. Absent: the connection's own streams.
   */
  readonly channel?: { readonly readable: ReadableStream<Uint8Array>; readonly writable: WritableStream<Uint8Array> };
}

/** One SOCKS5 authentication method. Throw a SocksError "auth-failed" to refuse (the session then closes). */
export interface Authenticator {
  /** The method code it answers to (0x00 no-auth, 0x02 username/password, 0x03-0xFE others). */
  readonly method: number;
  /** Runs the method's sub-negotiation after the server chose it. */
  authenticate(context: AuthContext): Promise<AuthResult>;
}

/** A source of users: name -> password. */
export type UserTable = ReadonlyMap<string, string>;

/** The no-authentication method, 0x00. */
export const noAuth: Authenticator = {
  method: Socks5Method.NoAuth,
  authenticate: () => Promise.resolve({}),
};

const encoder = new TextEncoder();

/** Compares two byte strings in time that depends only on their lengths' maximum, not on where they differ. */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  const length = Math.max(a.length, b.length, 1);
  let diff = a.length ^ b.length;
  for (let i = 0; i < length; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}

/** Checks a name and password against a table, comparing passwords in constant time (an unknown name too). */
export function checkPassword(users: UserTable, username: string, password: string): boolean {
  const expected = users.get(username);
  // An unknown user is compared against a dummy so the timing does not tell which names exist.
  const ok = constantTimeEqual(encoder.encode(expected ?? "\u0000".repeat(32)), encoder.encode(password));
  return ok && expected !== undefined;
}

/**
 * Reads an RFC 1929 username/password request; a malformed one is answered with the failure status (after which the
 * server closes, RFC 1929 section 2) and rethrown. Shared by every method 0x02 authenticator.
 */
export async function readUserPassRequest(
  { reader, writer }: Pick<AuthContext, "reader" | "writer">,
): Promise<UserPassRequest> {
  try {
    return await reader.read(decodeUserPassRequest);
  } catch (error) {
    if (error instanceof SocksError && error.reply !== undefined) {
      await writer.write(encodeUserPassReply({ status: UserPass.Failure })).catch(() => {});
    }
    throw error;
  }
}

/**
 * RFC 1929 username/password (method 0x02) against a table of users.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { userPassAuthenticator } from "./auth.ts";
 * const auth = userPassAuthenticator(new Map([["alice", "s3cret"]]));
 * assert.equal(auth.method, 0x02);
 * ```
 */
export function userPassAuthenticator(users: UserTable): Authenticator {
  return {
    method: Socks5Method.UserPass,
    async authenticate({ reader, writer }) {
      const credentials = await readUserPassRequest({ reader, writer });
      const ok = checkPassword(users, credentials.username, credentials.password);
      // RFC 1929 section 2: a failure status means the server MUST close the connection.
      await writer.write(encodeUserPassReply({ status: ok ? UserPass.Success : UserPass.Failure }));
      if (!ok) throw new SocksError("auth-failed", `wrong username or password for "${credentials.username}"`);
      return { user: credentials.username };
    },
  };
}
