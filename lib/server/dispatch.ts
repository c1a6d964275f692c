/**
 * The decision about an accepted connection, made once and in one place: the PROXY header from a trusted balancer
 * (and a forged one from anyone else refused), then the first byte: 0x04 and 0x05 go to the SOCKS session, anything
 * else to the HTTP side ("C" of CONNECT, "G" of GET, ...). With a certificate, 0x16 (a TLS handshake record) first
 * upgrades the connection to a TLS server session, and the first byte inside it decides the same way. The session that takes the connection over ends it; a
 * connection that fails before that (a bad header, a protocol turned off, a client silent until the handshake
 * timeout) is ended and logged here.
 *
 * @module
 */
import type { Connection } from "../net/network.ts";
import { toSocksError } from "../net/net_error.ts";
import { formatEndpoint } from "../net/endpoint.ts";
import { SocksVersion } from "../wire/constants.ts";
import { SocksError } from "../wire/socks_error.ts";
import { isTrustedPeer, readClientAddress, refuseUntrustedHeader, withClientAddress } from "./client_address.ts";
import { ClientConnection } from "./client_connection.ts";
import type { ServerConfig, ServerProtocol } from "./config.ts";
import type { ConnectionRecord } from "./connection_record.ts";
import type { AdmissionControl } from "./limits.ts";
import type { HttpContext } from "./http/exchange.ts";
import { serveHttp } from "./http/http_session.ts";
import { serveSocks } from "./socks_session.ts";
import { TLS_RECORD, upgradeClientToTls } from "./tls_upgrade.ts";

/**
 * Admits a just-accepted connection: the limits that need no client address for a trusted balancer's (its client
 * is named by the PROXY header, read later), all of them for anyone else. False when a limit refuses it (the refusal counted): close it unread.
 */
export function admitAtAccept(connection: Connection, config: ServerConfig, admission: AdmissionControl): boolean {
  const named = !isTrustedPeer(connection.remoteAddress, config.proxyProtocolRanges);
  const refusal = named ? admission.admit(connection.remoteAddress.hostname) : admission.admitUnnamed();
  if (refusal === undefined) return true;
  config.metrics.refused(refusal);
  return false;
}

/**
 * Serves one connection admitted by {@link admitAtAccept} to its end, then calls `ended` with it. Never rejects; the
 * promise settles when the connection is handed to its session (or ended here), not when it ends: no promise chain
 * is kept per connection for its whole life.
 */
export async function dispatchConnection(
  accepted: Connection,
  config: ServerConfig,
  signal: AbortSignal,
  admission: AdmissionControl,
  ended: (accepted: Connection) => void,
): Promise<void> {
  const behindBalancer = isTrustedPeer(accepted.remoteAddress, config.proxyProtocolRanges);
  const client = new ClientConnection(
    accepted,
    config,
    signal,
    admission,
    behindBalancer ? undefined : accepted.remoteAddress.hostname,
    ended,
  );
  try {
    if (behindBalancer) {
      const address = await readClientAddress(client.reader, accepted.remoteAddress, config.proxyProtocolRanges);
      client.connection = withClientAddress(accepted, address);
      client.client = formatEndpoint(address);
      const refusal = admission.admitAddress(address.hostname);
      if (refusal !== undefined) {
        // Over a per-address limit: closed without a record, as a refusal at accept is.
        config.metrics.refused(refusal);
        client.end();
        return;
      }
      client.admittedAs = address.hostname;
    } else {
      // A header from anyone else is a forgery or a balancer left out of proxyProtocol: refused, never parsed as HTTP.
      await refuseUntrustedHeader(client.reader, accepted.remoteAddress);
    }
    let first = await client.reader.peekByte();
    if (config.tls !== undefined && first === TLS_RECORD.handshake) {
      await upgradeClientToTls(client, accepted, config.tls);
      first = await client.reader.peekByte();
      // One dispatch inside TLS: sessions do not nest, and neither does TLS.
      if (first === TLS_RECORD.handshake) throw new SocksError("unsupported", "TLS inside TLS");
    } else if (config.tlsOnly) {
      // A plaintext client on a TLS-only server gets no answer it could read: the connection is closed.
      throw new SocksError("unsupported", `plaintext refused: TLS only (first byte 0x${first.toString(16)})`);
    }
    const protocol: ServerProtocol = first === SocksVersion.Socks4
      ? "socks4"
      : first === SocksVersion.Socks5
      ? "socks5"
      : "http";
    if (!config.protocols.has(protocol)) {
      throw new SocksError(
        "unsupported",
        `${protocol} is not enabled on this server (first byte 0x${first.toString(16)})`,
      );
    }
    // Handed over: the session ends the connection and logs its records (the HTTP side one per request). Its promise
    // never rejects and is not kept. (The HTTP side never hands its writer over: it keeps the dispatcher's.)
    if (protocol === "http") serveHttp(client as HttpContext);
    else serveSocks(client, protocol);
  } catch (error) {
    const failure = toSocksError(error);
    const record: ConnectionRecord = {
      client: client.client,
      outcome: client.timedOut ? "handshake-timeout" : failure.code,
      error: failure.message,
      bytesUp: 0,
      bytesDown: 0,
      durationMs: 0,
    };
    client.end();
    client.log(record);
  }
}
