/**
 * The client side of the handshakes: SOCKS4/4a (one request, one reply) and SOCKS5 (method negotiation,
 * RFC 1929 when the proxy asks for it, then the request). A failure reply becomes a SocksError carrying the code
 * and its meaning.
 *
 * @module
 */
import type { ByteReader } from "../io/byte_reader.ts";
import type { DomainAddress, HostPort, Ipv4Address } from "../wire/address.ts";
import { Socks4Reply, type Socks5CommandCode, Socks5Method, Socks5Reply, UserPass } from "../wire/constants.ts";
import { decodeSocks4Reply, encodeSocks4Request, type Socks4ReplyMessage } from "../wire/socks4.ts";
import { decodeSocks5MethodSelection, encodeSocks5Greeting } from "../wire/socks5_greeting.ts";
import { decodeSocks5Reply, encodeSocks5Request, type Socks5ReplyMessage } from "../wire/socks5_request.ts";
import { SocksError } from "../wire/socks_error.ts";
import { decodeUserPassReply, encodeUserPassRequest } from "../wire/userpass.ts";
import type { ProxySpec } from "./proxy_url.ts";
import { type GssApiClientOptions, gssApiNegotiate, type GssApiSession } from "./gssapi_negotiate.ts";
import { replyMeaning } from "./reply_meaning.ts";

/** Sends a SOCKS4/4a request and reads its reply; throws unless the reply is 90. */
export async function socks4Request(
  reader: ByteReader,
  writer: WritableStreamDefaultWriter<Uint8Array>,
  proxy: ProxySpec,
  command: 1 | 2,
  destination: { address: Ipv4Address | DomainAddress; port: number },
): Promise<Socks4ReplyMessage> {
  await writer.write(encodeSocks4Request({ command, destination, userId: proxy.username ?? "" }));
  return checkSocks4(await reader.read(decodeSocks4Reply));
}

/** Reads another SOCKS4 reply (BIND's second); throws unless it is 90. */
export async function readSocks4Reply(reader: ByteReader): Promise<Socks4ReplyMessage> {
  return checkSocks4(await reader.read(decodeSocks4Reply));
}

function checkSocks4(reply: Socks4ReplyMessage): Socks4ReplyMessage {
  if (reply.reply !== Socks4Reply.Granted) {
    const [code, meaning] = replyMeaning(4, reply.reply);
    throw new SocksError(code, `SOCKS4 proxy: ${meaning} (${reply.reply})`, { reply: reply.reply });
  }
  return reply;
}

/**
 * SOCKS5 method negotiation, and RFC 1929 when the proxy picks it. With GSS-API options, only method 0x01 is
 * offered, and a protected channel may come back (RFC 1961): everything after goes through it.
 */
export async function socks5Negotiate(
  reader: ByteReader,
  writer: WritableStreamDefaultWriter<Uint8Array>,
  proxy: ProxySpec,
  gssapi?: GssApiClientOptions,
): Promise<GssApiSession | void> {
  if (gssapi !== undefined) {
    await writer.write(encodeSocks5Greeting({ methods: [Socks5Method.GssApi] }));
    const { method } = await reader.read(decodeSocks5MethodSelection);
    if (method !== Socks5Method.GssApi) {
      throw new SocksError(
        "auth-failed",
        `SOCKS5 proxy does not accept GSS-API (it answered method 0x${method.toString(16)})`,
        {
          reply: method,
        },
      );
    }
    return await gssApiNegotiate(reader, writer, proxy.address.host, gssapi);
  }
  const hasCredentials = proxy.username !== undefined;
  const methods = hasCredentials ? [Socks5Method.NoAuth, Socks5Method.UserPass] : [Socks5Method.NoAuth];
  await writer.write(encodeSocks5Greeting({ methods }));
  const { method } = await reader.read(decodeSocks5MethodSelection);
  if (method === Socks5Method.NoAuth) return;
  if (method === Socks5Method.NoAcceptable) {
    const offered = hasCredentials ? "no authentication or username/password" : "no authentication";
    throw new SocksError(
      "auth-failed",
      `SOCKS5 proxy accepts none of the offered methods (${offered})${
        hasCredentials ? "" : "; give user:pass@ in the URL"
      }`,
      { reply: method },
    );
  }
  if (method !== Socks5Method.UserPass || !hasCredentials) {
    throw new SocksError("auth-failed", `SOCKS5 proxy chose method 0x${method.toString(16)}, which was not offered`);
  }
  await writer.write(encodeUserPassRequest({ username: proxy.username!, password: proxy.password ?? "" }));
  const { status } = await reader.read(decodeUserPassReply);
  if (status !== UserPass.Success) {
    throw new SocksError("auth-failed", `SOCKS5 proxy refused username/password for "${proxy.username}"`, {
      reply: status,
    });
  }
}

/** Sends a SOCKS5 request and reads its reply; throws unless it succeeded. */
export async function socks5Request(
  reader: ByteReader,
  writer: WritableStreamDefaultWriter<Uint8Array>,
  command: Socks5CommandCode,
  destination: HostPort,
): Promise<Socks5ReplyMessage> {
  await writer.write(encodeSocks5Request({ command, destination }));
  return await readSocks5Reply(reader);
}

/** Reads a SOCKS5 reply (BIND's second too); throws unless it succeeded. */
export async function readSocks5Reply(reader: ByteReader): Promise<Socks5ReplyMessage> {
  const reply = await reader.read(decodeSocks5Reply);
  if (reply.reply !== Socks5Reply.Succeeded) {
    const [code, meaning] = replyMeaning(5, reply.reply);
    throw new SocksError(code, `SOCKS5 proxy: ${meaning} (0x${reply.reply.toString(16).padStart(2, "0")})`, {
      reply: reply.reply,
    });
  }
  return reply;
}
