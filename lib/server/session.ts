/**
 * One client connection from accept to close: handshake under a deadline, the command, the one log record.
 * Every failure ends here: answered with its reply code (if the request was read and no final reply went out),
 * then the connection closes.
 *
 * @module
 */
import { afterTimeout } from "../deadline.ts";
import { ByteReader } from "../io/byte_reader.ts";
import type { Connection } from "../net.ts";
import { SocksVersion } from "../wire/constants.ts";
import { SocksError } from "../wire/socks_error.ts";
import { toSocksError } from "../net_error.ts";
import { bindCommand } from "./commands/bind.ts";
import { bindsThrough, bindThroughUpstream } from "./commands/bind_upstream.ts";
import { connectCommand } from "./commands/connect.ts";
import { resolveCommand } from "./commands/resolve.ts";
import { udpAssociateCommand } from "./commands/udp_associate.ts";
import { associatesThrough, udpAssociateThroughUpstream } from "./commands/udp_upstream.ts";
import type { ServerConfig } from "./config.ts";
import type { ConnectionRecord } from "./connection_record.ts";
import type { AdmissionControl } from "./limits.ts";
import { formatEndpoint } from "../endpoint.ts";
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

/**
 * What one connection's session keeps from accept to close. One plain object: the handshake's async function ends
 * when the command starts (its frame, locals and awaited promises go), and only this stays for the ending.
 */
interface ConnectionState {
  readonly accepted: Connection;
  readonly config: ServerConfig;
  readonly signal: AbortSignal;
  readonly admission: AdmissionControl;
  readonly started: number;
  readonly record: ConnectionRecord;
  /** The connection as the session sees it: the accepted one, or the same with the client a PROXY header named. */
  connection: Connection;
  /** False until admitted: behind a trusted balancer, the PROXY header comes first. */
  admitted: boolean;
  replier: Replier | undefined;
  handshakeDone: boolean;
  timedOut: boolean;
  /** The HTTP side logs one record per request itself. */
  loggedElsewhere: boolean;
  cancelDeadline: () => void;
}

/** Serves one accepted connection to its end, then reports its record. Never rejects. */
export function serveConnection(
  accepted: Connection,
  config: ServerConfig,
  signal: AbortSignal,
  admission: AdmissionControl,
): Promise<void> {
  const state: ConnectionState = {
    accepted,
    config,
    signal,
    admission,
    started: Date.now(),
    record: { client: formatEndpoint(accepted.remoteAddress), outcome: "ok", bytesUp: 0, bytesDown: 0, durationMs: 0 },
    connection: accepted,
    // From a trusted balancer, admission waits for the PROXY header: limits count the real client.
    admitted: !isTrustedPeer(accepted.remoteAddress, config.proxyProtocolRanges),
    replier: undefined,
    handshakeDone: false,
    timedOut: false,
    loggedElsewhere: false,
    cancelDeadline: () => {},
  };
  state.cancelDeadline = afterTimeout(config.handshakeTimeoutMs, () => {
    state.timedOut = true;
    state.connection.close();
  });
  // The command's promise (a tunnel's relay) is what the ending waits for; nothing else stays suspended meanwhile.
  return handshakeAndCommand(state).then(undefined, (error) => answerFailure(state, error)).finally(() =>
    finish(state)
  );
}

/** Reads the handshake under the deadline, then starts the command and returns its promise without awaiting it. */
async function handshakeAndCommand(state: ConnectionState): Promise<void> {
  const { accepted, config, signal, admission, record, started } = state;
  let connection = accepted;
  let reader = new ByteReader(connection.readable);
  // Undefined once a command took the client's streams over (see clientEnd).
  let writer: WritableStreamDefaultWriter<Uint8Array> | undefined = connection.writable.getWriter();
  // The client's streams: the connection's, or the protected pair a GSS-API method (RFC 1961) hands over.
  let streams: { readable: ReadableStream<Uint8Array>; writable: WritableStream<Uint8Array> } = connection;
  if (!state.admitted) {
    const client = await readClientAddress(reader, accepted.remoteAddress, config.proxyProtocolRanges);
    connection = state.connection = withClientAddress(accepted, client);
    record.client = formatEndpoint(client);
    const refusal = admission.admit(client.hostname);
    if (refusal !== undefined) {
      config.metrics.refused(refusal);
      return;
    }
    state.admitted = true;
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
    state.cancelDeadline();
    state.loggedElsewhere = true;
    return serveHttp({
      connection,
      reader,
      writer,
      config,
      signal,
      started,
      client: record.client,
      handshakeDone: () => {
        state.handshakeDone = true;
        admission.handshakeDone();
        config.metrics.handshake((Date.now() - started) / 1000);
      },
    });
  }
  if (version === SocksVersion.Socks4) {
    record.version = "4";
    state.replier = socks4Replier(writer);
    request = await socks4Handshake(reader, state.replier, config, connection);
  } else {
    record.version = "5";
    state.replier = socks5Replier(writer);
    request = await socks5Handshake(reader, writer, state.replier, config, connection.remoteAddress, (result) => {
      record.user = result.user;
      const channel = result.channel;
      if (channel === undefined) return undefined;
      streams = channel;
      reader = new ByteReader(channel.readable);
      writer = channel.writable.getWriter();
      const replier = state.replier = socks5Replier(writer);
      return { reader, replier };
    });
    if (streams !== connection && request.command === "udp-associate") {
      throw new SocksError("unsupported", "UDP ASSOCIATE under GSS-API per-message protection is not implemented");
    }
  }
  state.cancelDeadline();
  state.handshakeDone = true;
  admission.handshakeDone();
  config.metrics.handshake((Date.now() - started) / 1000);
  recordRequest(record, request, config);
  judgeSafety(record, request, config);
  if (request.identUser !== undefined) record.ident = request.identUser;
  const session: Session = {
    config,
    connection,
    request,
    reply: state.replier!,
    record,
    signal,
    admission,
    clientEnd: () => {
      const handedOver = writer;
      if (handedOver === undefined) throw new SocksError("failed", "client streams already handed over");
      // The session keeps no stream object past this point: a tunnel relayed natively then holds none at all.
      writer = undefined;
      const { leftover, reader: locked } = reader.detach();
      const client = connection;
      return {
        readable: streams.readable,
        writable: streams.writable,
        leftover,
        reader: locked,
        writer: handedOver,
        close: () => client.close(),
        reset: () => (client.reset ?? client.close).call(client),
        // Only the connection's own streams may be relayed natively: a GSS-API channel must wrap every byte.
        native: streams === client ? client.native : undefined,
      };
    },
  };
  if (request.command !== "connect" && config.upstream.length > 0) {
    // With an upstream, CONNECT goes through it, and BIND and UDP ASSOCIATE too when it is one SOCKS5 proxy. Any
    // other chain cannot carry them, and RESOLVE would look a name up here: refused, never served directly.
    if (request.command === "bind" && bindsThrough(config.upstream)) {
      return bindThroughUpstream(session, config.upstream[0]);
    }
    if (request.command === "udp-associate" && associatesThrough(config.upstream)) {
      return udpAssociateThroughUpstream(session, config.upstream[0]);
    }
    throw new SocksError("unsupported", `${request.command} is not available through the upstream proxies`);
  }
  // Returned, not awaited: this function's frame need not live as long as the tunnel.
  return COMMANDS[request.command as Exclude<typeof request.command, "http">](session);
}

/** Every failure ends here: recorded, and answered with its reply code when the client is there to read it. */
async function answerFailure(state: ConnectionState, error: unknown): Promise<void> {
  const { record, replier, timedOut, handshakeDone } = state;
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
}

/** Closes the connection, gives its admission back, and reports its one record. */
function finish(state: ConnectionState): void {
  const { record, replier, connection, config } = state;
  state.cancelDeadline();
  if (replier?.lastCode !== undefined) record.reply = replier.lastCode;
  connection.close();
  if (state.admitted) state.admission.release(connection.remoteAddress.hostname, state.handshakeDone);
  record.durationMs = Date.now() - state.started;
  record.time = new Date().toISOString();
  // Over a limit behind a balancer: closed without a record, as a refusal at accept is.
  const refusedByLimit = !state.admitted && record.outcome === "ok";
  try {
    // onConnectionEnd also counts the record for /metrics.
    if (!state.loggedElsewhere && !refusedByLimit) config.onConnectionEnd(record);
  } catch {
    // A logger that throws must not take the server down.
  }
}
