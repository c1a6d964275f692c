/**
 * Tor-style stream isolation: clients such as `torsocks -i` and Tor Browser send a made-up RFC 1929 username and
 * password per site so that sites travel apart. A server without users accepts any such credentials, as Tor does,
 * and keeps the username only as a session label; the password is read and dropped.
 *
 * @module
 */
import { Socks5Method, UserPass } from "../wire/constants.ts";
import { encodeUserPassReply } from "../wire/userpass.ts";
import { type Authenticator, readUserPassRequest } from "./auth.ts";

/**
 * RFC 1929 (method 0x02) that accepts every username and password; the username becomes the session's label
 * (logged, never used by rules). Only for a server that has no users (`acceptAnyCredentials`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { anyCredentialsAuthenticator } from "./any_credentials.ts";
 * assert.equal(anyCredentialsAuthenticator.method, 0x02);
 * ```
 */
export const anyCredentialsAuthenticator: Authenticator = {
  method: Socks5Method.UserPass,
  async authenticate({ reader, writer }) {
    const credentials = await readUserPassRequest({ reader, writer });
    await writer.write(encodeUserPassReply({ status: UserPass.Success }));
    return { label: credentials.username };
  },
};
