/**
 * The SOCKS side of a connection: the SOCKS4/4a or SOCKS5 handshake under the deadline that runs from accept, the
 * command, the one log record. Every failure ends here: answered with its reply code (if the request was read and
 * no final reply went out), then the connection closes.
 *
 * @module
 */
import { SocksError } from "../wire/socks_error.ts";
import { toSocksError } from "../net/net_error.ts";
import { bindCommand } from "./commands/bind.ts";
import { bindsThrough, bindThroughUpstream } from "./commands/bind_upstream.ts";
import { connectCommand } from "./commands/connect.ts";
import { resolveCommand } from "./commands/resolve.ts";
import { udpAssociateCommand } from "./commands/udp_associate.ts";
import { associatesThrough, udpAssociateThroughUpstream } from "./commands/udp_upstream.ts";
import type { ClientConnection } from "./client_connection.ts";
import type { ConnectionRecord } from "./connection_record.ts";
import { type ClientRequest, socks4Handshake, socks5Handshake } from "./handshake.ts";
import { type Replier, socks4Replier, socks5Replier } from "./replier.ts";
import { recordRequest } from "./request_record.ts";
import { releaseMapped, unmapRequest } from "./mapped_destination.ts";
import { judgeSafety } from "./safe_socks.ts";
import type { Session } from "./session_context.ts";
import { ByteReader } from "../io/byte_reader.ts";

const COMMANDS = {
  "connect": connectCommand,
  "bind": bindCommand,
  "udp-associate": udpAssociateCommand,
  "resolve": resolveCommand,
  "resolve-ptr": resolveCommand,
} as const;

/** Serves a SOCKS connection the dispatcher handed over to its end, then logs its record. Never rejects. */
export async function serveSocks(client: ClientConnection, version: "socks4" | "socks5"): Promise<void> {
  const { config, connection } = client;
  const record: ConnectionRecord = { client: client.client, outcome: "ok", bytesUp: 0, bytesDown: 0, durationMs: 0 };
  // The client's streams: the connection's, or the protected pair a GSS-API method (RFC 1961) hands over.
  let streams: { readable: ReadableStream<Uint8Array>; writable: WritableStream<Uint8Array> } = connection;
  // The dispatcher's writer stays on `client` alone (no local here): clientEnd lets it go when a command takes the
  // client's streams over, and nothing in this suspended frame may keep it alive past that.
  let replier: Replier | undefined;
  let request: ClientRequest | undefined;
  try {
    if (version === "socks4") {
      record.version = "4";
      replier = socks4Replier(client.writer!);
      request = await socks4Handshake(client.reader, replier, config, connection);
    } else {
      record.version = "5";
      replier = socks5Replier(client.writer!);
      request = await socks5Handshake(
        client.reader,
        client.writer!,
        replier,
        config,
        connection.remoteAddress,
        (result) => {
          record.user = result.user;
          const channel = result.channel;
          if (channel === undefined) return undefined;
          streams = channel;
          client.reader = new ByteReader(channel.readable);
          client.writer = channel.writable.getWriter();
          replier = socks5Replier(client.writer);
          return { reader: client.reader, replier };
        },
      );
      if (streams !== connection && request.command === "udp-associate") {
        throw new SocksError("unsupported", "UDP ASSOCIATE under GSS-API per-message protection is not implemented");
      }
    }
    client.handshakeDone();
    try {
      request = unmapRequest(config, request);
    } finally {
      recordRequest(record, request, config);
    }
    judgeSafety(record, request, config);
    if (request.identUser !== undefined) record.ident = request.identUser;
    const session: Session = {
      config,
      connection,
      request,
      reply: replier,
      record,
      signal: client.signal,
      admission: client.admission,
      clientEnd: () => {
        const handedOver = client.writer;
        if (handedOver === undefined) throw new SocksError("failed", "client streams already handed over");
        // Nothing here keeps a stream object past this point: a tunnel relayed natively then holds none at all.
        client.writer = undefined;
        const { leftover, reader: locked } = client.reader.detach();
        return {
          // Asked for only by a relay that cannot go native: a direct handshake made no stream (io/byte_source.ts).
          get readable() {
            return streams.readable;
          },
          get writable() {
            return streams.writable;
          },
          leftover,
          reader: locked,
          writer: handedOver,
          close: () => connection.close(),
          reset: () => (connection.reset ?? connection.close).call(connection),
          // Only the connection's own streams may be relayed natively: a GSS-API channel must wrap every byte.
          native: streams === connection ? connection.native : undefined,
        };
      },
    };
    if (request.command !== "connect" && config.upstream.length > 0) {
      // With an upstream, CONNECT goes through it, and BIND and UDP ASSOCIATE too when it is one SOCKS5 proxy. Any
      // other chain cannot carry them, and RESOLVE would look a name up here: refused, never served directly.
      if (request.command === "bind" && bindsThrough(config.upstream)) {
        return await bindThroughUpstream(session, config.upstream[0]);
      }
      if (request.command === "udp-associate" && associatesThrough(config.upstream)) {
        return await udpAssociateThroughUpstream(session, config.upstream[0]);
      }
      throw new SocksError("unsupported", `${request.command} is not available through the upstream proxies`);
    }
    await COMMANDS[request.command as Exclude<typeof request.command, "http">](session);
  } catch (error) {
    const failure = toSocksError(error);
    const handshakeDone = client.handshakeFinished;
    record.outcome = client.timedOut && !handshakeDone ? "handshake-timeout" : failure.code;
    record.error = failure.message;
    // A client that went away mid-request (or timed out) is not answered: there is nobody to read it. Once the
    // request is read, every failure is answered, whatever it was: a destination that reset the connection is not
    // the client gone away (if the client did go, the write fails, which is harmless).
    const clientGone = !handshakeDone && (failure.code === "closed" || failure.code === "reset");
    if (replier?.armed && !replier.final && !client.timedOut && !clientGone) {
      await replier.failure(failure).catch(() => {});
    }
  } finally {
    if (replier?.lastCode !== undefined) record.reply = replier.lastCode;
    releaseMapped(config, request);
    client.end();
    // The log also counts the record for /metrics.
    client.log(record);
  }
}
