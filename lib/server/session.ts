/**
 * One client connection from accept to close: handshake under a deadline, the command, the one log record.
 * Every failure ends here: answered with its reply code (if the request was read and no final reply went out),
 * then the connection closes.
 *
 * @module
 */
import { afterTimeout } from "../time/deadline.ts";
import { ByteReader } from "../io/byte_reader.ts";
import type { Connection } from "../net/network.ts";
import { SocksVersion } from "../wire/constants.ts";
import { SocksError } from "../wire/socks_error.ts";
import { toSocksError } from "../net/net_error.ts";
import { bindCommand } from "./commands/bind.ts";
import { bindsThrough, bindThroughUpstream } from "./commands/bind_upstream.ts";
import { connectCommand } from "./commands/connect.ts";
import { resolveCommand } from "./commands/resolve.ts";
import { udpAssociateCommand } from "./commands/udp_associate.ts";
import { associatesThrough, udpAssociateThroughUpstream } from "./commands/udp_upstream.ts";
import type { ServerConfig } from "./config.ts";
import type { ConnectionRecord } from "./connection_record.ts";
import type { AdmissionControl } from "./limits.ts";
import { formatEndpoint } from "../net/endpoint.ts";
import { type ClientRequest, socks4Handshake, socks5Handshake } from "./handshake.ts";
import { type Replier, socks4Replier, socks5Replier } from "./replier.ts";
import { recordRequest } from "./request_record.ts";
import { judgeSafety } from "./safe_socks.ts";
import type { Session } from "./session_context.ts";
import { isTrustedPeer, readClientAddress, refuseUntrustedHeader, withClientAddress } from "./client_address.ts";
import { serveHttp } from "./http/http_session.ts";

const COMMANDS = {
  "connect": connectCommand,
  "bind": bindCommand,
  "udp-associate": udpAssociateCommand,
  "resolve": resolveCommand,
  "resolve-ptr": resolveCommand,
} as const;

/** Serves one accepted connection to its end, then reports its record. Never rejects. */
export async function serveConnection(
  accepted: Connection,
  config: ServerConfig,
  signal: AbortSignal,
  admission: AdmissionControl,
): Promise<void> {
  const started = Date.now();
  // From a trusted balancer, admission waits for the PROXY header: limits count the real client.
  const behindBalancer = isTrustedPeer(accepted.remoteAddress, config.proxyProtocolRanges);
  let admitted = !behindBalancer;
  let connection = accepted;
  const record: ConnectionRecord = {
    client: formatEndpoint(connection.remoteAddress),
    outcome: "ok",
    bytesUp: 0,
    bytesDown: 0,
    durationMs: 0,
  };
  let reader = new ByteReader(connection.readable);
  // Undefined once a command took the client's streams over (see clientEnd).
  let writer: WritableStreamDefaultWriter<Uint8Array> | undefined = connection.writable.getWriter();
  // The client's streams: the connection's, or the protected pair a GSS-API method (RFC 1961) hands over.
  let streams: { readable: ReadableStream<Uint8Array>; writable: WritableStream<Uint8Array> } = connection;
  let replier: Replier | undefined;
  let handshakeDone = false;
  let timedOut = false;
  // The HTTP side logs one record per request itself.
  let loggedElsewhere = false;
  const cancelDeadline = afterTimeout(config.handshakeTimeoutMs, () => {
    timedOut = true;
    connection.close();
  });
  try {
    if (behindBalancer) {
      const client = await readClientAddress(reader, accepted.remoteAddress, config.proxyProtocolRanges);
      connection = withClientAddress(accepted, client);
      record.client = formatEndpoint(client);
      const refusal = admission.admit(client.hostname);
      if (refusal !== undefined) {
        config.metrics.refused(refusal);
        return;
      }
      admitted = true;
    } else {
      // A header from anyone else is a forgery or a balancer left out of proxyProtocol: refused, never parsed as HTTP.
      await refuseUntrustedHeader(reader, accepted.remoteAddress);
    }
    const version = await reader.peekByte();
    let request: ClientRequest;
    // The first byte decides: 0x04 and 0x05 are SOCKS; anything else is taken for HTTP ("C" of CONNECT ...).
    const protocol = version === SocksVersion.Socks4 ? "socks4" : version === SocksVersion.Socks5 ? "socks5" : "http";
    if (!config.protocols.has(protocol)) {
      throw new SocksError(
        "unsupported",
        `${protocol} is not enabled on this server (first byte 0x${version.toString(16)})`,
      );
    }
    if (protocol === "http") {
      cancelDeadline();
      loggedElsewhere = true;
      await serveHttp({
        connection,
        reader,
        writer,
        config,
        signal,
        started,
        client: record.client,
        handshakeDone: () => {
          handshakeDone = true;
          admission.handshakeDone();
          config.metrics.handshake((Date.now() - started) / 1000);
        },
      });
      return;
    }
    if (version === SocksVersion.Socks4) {
      record.version = "4";
      replier = socks4Replier(writer);
      request = await socks4Handshake(reader, replier, config, connection);
    } else {
      record.version = "5";
      replier = socks5Replier(writer);
      request = await socks5Handshake(reader, writer, replier, config, connection.remoteAddress, (result) => {
        record.user = result.user;
        const channel = result.channel;
        if (channel === undefined) return undefined;
        streams = channel;
        reader = new ByteReader(channel.readable);
        writer = channel.writable.getWriter();
        replier = socks5Replier(writer);
        return { reader, replier };
      });
      if (streams !== connection && request.command === "udp-associate") {
        throw new SocksError("unsupported", "UDP ASSOCIATE under GSS-API per-message protection is not implemented");
      }
    }
    cancelDeadline();
    handshakeDone = true;
    admission.handshakeDone();
    config.metrics.handshake((Date.now() - started) / 1000);
    recordRequest(record, request, config);
    judgeSafety(record, request, config);
    if (request.identUser !== undefined) record.ident = request.identUser;
    const session: Session = {
      config,
      connection,
      request,
      reply: replier,
      record,
      signal,
      admission,
      clientEnd: () => {
        const handedOver = writer;
        if (handedOver === undefined) throw new SocksError("failed", "client streams already handed over");
        // The session keeps no stream object past this point: a tunnel relayed natively then holds none at all.
        writer = undefined;
        const { leftover, reader: locked } = reader.detach();
        return {
          readable: streams.readable,
          writable: streams.writable,
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
    record.outcome = timedOut && !handshakeDone ? "handshake-timeout" : failure.code;
    record.error = failure.message;
    // A client that went away mid-request (or timed out) is not answered: there is nobody to read it. Once the
    // request is read, every failure is answered, whatever it was: a destination that reset the connection is not
    // the client gone away (if the client did go, the write fails, which is harmless).
    const clientGone = !handshakeDone && (failure.code === "closed" || failure.code === "reset");
    if (replier?.armed && !replier.final && !timedOut && !clientGone) {
      await replier.failure(failure).catch(() => {});
    }
  } finally {
    cancelDeadline();
    if (replier?.lastCode !== undefined) record.reply = replier.lastCode;
    connection.close();
    if (admitted) admission.release(connection.remoteAddress.hostname, handshakeDone);
    record.durationMs = Date.now() - started;
    record.time = new Date().toISOString();
    // Over a limit behind a balancer: closed without a record, as a refusal at accept is.
    const refusedByLimit = !admitted && record.outcome === "ok";
    try {
      // onConnectionEnd also counts the record for /metrics.
      if (!loggedElsewhere && !refusedByLimit) config.onConnectionEnd(record);
    } catch {
      // A logger that throws must not take the server down.
    }
  }
}
