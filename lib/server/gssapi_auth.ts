/**
 * The GSS-API method 0x01 (RFC 1961) on the server: security-context establishment with the acceptor's keytab,
 * the protection-level subnegotiation (wrapped as RFC 1961 section 4.3 says, or bare as curl's
 * `--socks5-gssapi-nec` and NEC's server send it: told apart by its length, since a wrapped token is never one
 * byte), then, at level 1 to 3, a protected channel for everything that follows. The client's principal is the user.
 *
 * @module
 */
import type { GssApi } from "../gssapi/mechanism.ts";
import { gssChannel } from "../gssapi/channel.ts";
import { Socks5Method } from "../wire/constants.ts";
import { decodeGssApiMessage, encodeGssApiMessage, GssApiMessageType, GssApiProtection } from "../wire/gssapi.ts";
import { SocksError } from "../wire/socks_error.ts";
import type { AuthContext, Authenticator, AuthResult } from "./auth.ts";

/** Protection levels by name, as options and flags give them. */
export const GSSAPI_PROTECTION_NAMES = {
  none: GssApiProtection.None,
  integrity: GssApiProtection.Integrity,
  confidentiality: GssApiProtection.Confidentiality,
} as const;

/** A protection level's name. */
export type GssApiProtectionName = keyof typeof GSSAPI_PROTECTION_NAMES;

/** Options of the server's GSS-API method. */
export interface GssApiServerOptions {
  /** The system GSS-API (lib/runtime's `loadGssApi()`). */
  readonly gss: GssApi;
  /** The service the client must have asked a ticket for (`rcmd`, as Dante and curl use): `service/host@REALM`. */
  readonly service?: string;
  /**
   * The highest protection level granted: the client gets what it asks for up to this. curl applies no protection
   * and fails when granted any (it asks for confidentiality all the same), so it needs "none". Default:
   * "confidentiality".
   */
  readonly protection?: GssApiProtectionName;
}

const ABORT = encodeGssApiMessage({ type: GssApiMessageType.Abort, token: new Uint8Array() });

/**
 * The RFC 1961 authenticator.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { gssApiAuthenticator } from "./gssapi_auth.ts";
 * const gss = { checkAcceptor() {}, acceptor() { throw new Error("unused"); }, initiator() { throw new Error("unused"); } };
 * assert.equal(gssApiAuthenticator({ gss }).method, 0x01);
 * ```
 */
export function gssApiAuthenticator(options: GssApiServerOptions): Authenticator {
  const service = options.service ?? "rcmd";
  const highest = GSSAPI_PROTECTION_NAMES[options.protection ?? "confidentiality"];
  if (highest === undefined) throw new SocksError("bad-field", `unknown GSS-API protection "${options.protection}"`);
  return {
    method: Socks5Method.GssApi,
    async authenticate({ reader, writer }: AuthContext): Promise<AuthResult> {
      const context = options.gss.acceptor();
      let handedOver = false;
      try {
        const refuse = async (message: string, cause?: unknown): Promise<never> => {
          await writer.write(ABORT).catch(() => {});
          throw new SocksError("auth-failed", `GSS-API: ${message}`, { cause });
        };
        const next = async (type: number) => {
          const message = await reader.read(decodeGssApiMessage);
          if (message.type === GssApiMessageType.Abort) {
            throw new SocksError("auth-failed", "GSS-API: the client aborted");
          }
          if (message.type !== type) return await refuse(`message type ${message.type} where ${type} was due`);
          return message.token;
        };
        // RFC 1961 section 3: tokens back and forth until the context is established.
        for (;;) {
          const token = await next(GssApiMessageType.Context);
          let step;
          try {
            step = context.step(token);
          } catch (error) {
            return await refuse((error as Error).message.replace(/^GSS-API /, ""), error);
          }
          if (step.token) {
            await writer.write(encodeGssApiMessage({ type: GssApiMessageType.Context, token: step.token }));
          }
          if (step.complete) break;
        }
        const target = context.targetName();
        if (!target.startsWith(`${service}/`) && !target.startsWith(`${service}@`)) {
          return await refuse(`the client asked for ${target}, not the service ${service}`);
        }
        const user = context.peerName();
        // Section 4.3: the client's required level, wrapped without confidentiality (NEC: one bare byte).
        const offer = await next(GssApiMessageType.Protection);
        const nec = offer.length === 1;
        let requested: number;
        try {
          const data = nec ? offer : context.unwrap(offer).data;
          if (data.length !== 1) throw new Error(`a protection message of ${data.length} bytes`);
          requested = data[0];
        } catch (error) {
          return await refuse((error as Error).message, error);
        }
        if (requested > GssApiProtection.Selective) return await refuse(`unknown protection level ${requested}`);
        const granted = Math.min(requested, highest);
        const answer = new Uint8Array([granted]);
        await writer.write(encodeGssApiMessage({
          type: GssApiMessageType.Protection,
          token: nec ? answer : context.wrap(answer, false),
        }));
        if (granted === GssApiProtection.None) return { user };
        handedOver = true;
        return { user, channel: gssChannel(reader, writer, context, granted) };
      } finally {
        if (!handedOver) context.release();
      }
    },
  };
}
