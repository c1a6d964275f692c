/**
 * One client connection from accept to close: handshake under a deadline, the command, the one log record.
 * Every failure ends here: answered with its reply code (if the request was read and no final reply went out),
 * then the connection closes.
 *
 * @module
 */
import { ByteReader } from "../io/byte_reader.ts";
import type { Connection, Endpoint } from "../net.ts";
import type { RelayEnd } from "../relay.ts";
import { formatHostPort } from "../wire/address.ts";
import { SocksVersion } from "../wire/constants.ts";
import { SocksError } from "../wire/socks_error.ts";
import { toSocksError } from "../net_error.ts";
import { bindCommand } from "./commands/bind.ts";
import { connectCommand } from "./commands/connect.ts";
import { resolveCommand } from "./commands/resolve.ts";
import { udpAssociateCommand } from "./commands/udp_associate.ts";
import type { ServerConfig } from "./config.ts";
import type { ConnectionRecord } from "./connection_record.ts";
import type { AdmissionControl } from "./limits.ts";
import { endpointToHostPort } from "../endpoint.ts";
import { type ClientRequest, socks4Handshake, socks5Handshake } from "./handshake.ts";
import { type Replier, socks4Replier, socks5Replier } from "./replier.ts";

/** What a command works with. */
export interface Session {
  readonly config: ServerConfig;
  readonly connection: Connection;
  readonly request: ClientRequest;
  readonly reply: Replier;
  readonly record: ConnectionRecord;
  /** Aborted when the server stops for good. */
  readonly signal: AbortSignal;
  /** The server's admission limits (UDP associations are admitted per command). */
  readonly admission: AdmissionControl;
  /** The client's side for a relay: the bytes read past the request, then the streams (unlocked). */
  clientEnd(): RelayEnd;
}

/** Formats an endpoint as `ip:port`, IPv6 in brackets. */
export function formatEndpoint(endpoint: Endpoint): string {
  return formatHostPort(endpointToHostPort(endpoint));
}

const COMMANDS = {
  "connect": connectCommand,
  "bind": bindCommand,
  "udp-associate": udpAssociateCommand,
  "resolve": resolveCommand,
  "resolve-ptr": resolveCommand,
} as const;

/** Serves one accepted connection to its end, then reports its record. Never rejects. */
export async function serveConnection(
  connection: Connection,
  config: ServerConfig,
  signal: AbortSignal,
  admission: AdmissionControl,
): Promise<void> {
  const started = Date.now();
  const record: ConnectionRecord = {
    client: formatEndpoint(connection.remoteAddress),
    outcome: "ok",
    bytesUp: 0,
    bytesDown: 0,
    durationMs: 0,
  };
  const reader = new ByteReader(connection.readable);
  const writer = connection.writable.getWriter();
  let replier: Replier | undefined;
  let handshakeDone = false;
  let timedOut = false;
  const deadline = setTimeout(() => {
    timedOut = true;
    connection.close();
  }, config.handshakeTimeoutMs);
  try {
    const version = await reader.peekByte();
    let request: ClientRequest;
    if (version === SocksVersion.Socks4) {
      record.version = 4;
      replier = socks4Replier(writer);
      request = await socks4Handshake(reader, replier, config);
    } else if (version === SocksVersion.Socks5) {
      record.version = 5;
      replier = socks5Replier(writer);
      request = await socks5Handshake(reader, writer, replier, config, connection.remoteAddress);
    } else {
      // Room for HTTP (a later issue) goes here: "C" of CONNECT, "G" of GET ...
      throw new SocksError("bad-version", `first byte 0x${version.toString(16).padStart(2, "0")} is no SOCKS version`);
    }
    clearTimeout(deadline);
    handshakeDone = true;
    admission.handshakeDone();
    record.user = request.user;
    record.command = request.command;
    record.destination = formatHostPort(request.destination);
    let released = false;
    const session: Session = {
      config,
      connection,
      request,
      reply: replier,
      record,
      signal,
      admission,
      clientEnd: () => {
        if (released) throw new SocksError("failed", "client streams already handed over");
        released = true;
        const { leftover, reader: locked } = reader.detach();
        return {
          readable: connection.readable,
          writable: connection.writable,
          leftover,
          reader: locked,
          writer,
          close: () => connection.close(),
          reset: () => connection.reset(),
        };
      },
    };
    await COMMANDS[request.command](session);
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
    clearTimeout(deadline);
    if (replier?.lastCode !== undefined) record.reply = replier.lastCode;
    connection.close();
    admission.release(connection.remoteAddress.hostname, handshakeDone);
    record.durationMs = Date.now() - started;
    try {
      config.onConnectionEnd(record);
    } catch {
      // A logger that throws must not take the server down.
    }
  }
}
