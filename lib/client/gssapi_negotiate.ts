/**
 * The GSS-API method 0x01 (RFC 1961) on the client: a security context for `service@proxy-host` from the caller's
 * credential cache, the protection-level subnegotiation, and, at level 1 to 3, the protected channel everything
 * after it goes through.
 *
 * @module
 */
import type { GssApi } from "../gssapi/mechanism.ts";
import { type GssChannel, gssChannel } from "../gssapi/channel.ts";
import type { ByteReader } from "../io/byte_reader.ts";
import { decodeGssApiMessage, encodeGssApiMessage, GssApiMessageType, GssApiProtection } from "../wire/gssapi.ts";
import { SocksError } from "../wire/socks_error.ts";

/** GSS-API settings of the client calls. */
export interface GssApiClientOptions {
  /** The system GSS-API (`loadGssApi()`). */
  readonly gss: GssApi;
  /** The proxy's service name; the ticket is for `service@host` of the proxy URL (default `rcmd`). */
  readonly service?: string;
  /** The protection level to ask for: 0 none, 1 integrity, 2 confidentiality (default), 3 selective. */
  readonly protection?: 0 | 1 | 2 | 3;
  /** The least level to accept from the proxy (default 0: whatever it grants up to the one asked for). */
  readonly minProtection?: 0 | 1 | 2 | 3;
  /** NEC's variant, as curl's `--socks5-gssapi-nec`: the protection-level bytes travel unwrapped. */
  readonly nec?: boolean;
}

/** What the negotiation ended with. */
export interface GssApiSession {
  /** The level the proxy granted. */
  readonly protection: number;
  /** The protected streams (levels 1-3); absent at level 0. */
  readonly channel?: GssChannel;
}

/** Runs RFC 1961 after the proxy chose method 0x01. Throws a SocksError "auth-failed" on any refusal. */
export async function gssApiNegotiate(
  reader: ByteReader,
  writer: WritableStreamDefaultWriter<Uint8Array>,
  host: string,
  options: GssApiClientOptions,
): Promise<GssApiSession> {
  const asked = options.protection ?? GssApiProtection.Confidentiality;
  const context = options.gss.initiator(options.service ?? "rcmd", host);
  let handedOver = false;
  try {
    const next = async (type: number) => {
      const message = await reader.read(decodeGssApiMessage);
      if (message.type === GssApiMessageType.Abort) {
        throw new SocksError("auth-failed", "SOCKS5 proxy refused the GSS-API authentication (abort message)");
      }
      if (message.type !== type) {
        throw new SocksError("auth-failed", `SOCKS5 proxy sent GSS-API message type ${message.type}, not ${type}`);
      }
      return message.token;
    };
    let input: Uint8Array | undefined;
    for (;;) {
      const step = context.step(input);
      if (step.token) await writer.write(encodeGssApiMessage({ type: GssApiMessageType.Context, token: step.token }));
      if (step.complete) break;
      input = await next(GssApiMessageType.Context);
    }
    const level = new Uint8Array([asked]);
    await writer.write(encodeGssApiMessage({
      type: GssApiMessageType.Protection,
      token: options.nec ? level : context.wrap(level, false),
    }));
    const answer = await next(GssApiMessageType.Protection);
    const data = options.nec ? answer : context.unwrap(answer).data;
    if (data.length !== 1) throw new SocksError("auth-failed", `GSS-API protection answer of ${data.length} bytes`);
    const granted = data[0];
    if (granted > asked || granted < (options.minProtection ?? 0)) {
      throw new SocksError("auth-failed", `SOCKS5 proxy granted GSS-API protection level ${granted}; asked ${asked}`);
    }
    if (granted === GssApiProtection.None) return { protection: granted };
    handedOver = true;
    return { protection: granted, channel: gssChannel(reader, writer, context, granted) };
  } finally {
    if (!handedOver) context.release();
  }
}
