/**
 * TLS before dispatch: a connection whose first byte opens a TLS handshake record (content type 22, RFC 8446
 * section 5.1; every TLS version's ClientHello starts so) becomes a TLS server session, and the dispatcher then reads
 * the first byte again inside it: an HTTPS proxy (HTTP inside TLS) or SOCKS over TLS on the same port. The
 * handshake runs under the connection's handshake deadline, so a client stalling inside it is closed like any other.
 *
 * @module
 */
import { ByteReader } from "../io/byte_reader.ts";
import type { Connection, Endpoint, TlsServerSession, TlsServerSettings } from "../net/network.ts";
import { SocksError } from "../wire/socks_error.ts";
import type { ClientConnection } from "./client_connection.ts";

/** The first byte of a TLS record carrying a handshake message (RFC 8446 section 5.1, RFC 5246 section 6.2.1). */
export const TLS_RECORD = { handshake: 0x16 } as const;

/**
 * Runs the TLS handshake on `client` (the raw connection `accepted` does the TLS) and puts the session's plaintext
 * streams in place of the connection's: reader, writer and connection, with the client's address (the PROXY
 * header's, if any) kept. Rejects with a SocksError when the handshake fails; the caller ends the connection.
 */
export async function upgradeClientToTls(
  client: ClientConnection,
  accepted: Connection,
  settings: TlsServerSettings,
): Promise<void> {
  if (accepted.upgradeToTlsServer === undefined) {
    throw new SocksError("unsupported", "TLS is not available on this network (its connections cannot upgrade)");
  }
  const released = client.reader.release();
  client.writer?.releaseLock();
  client.writer = undefined;
  const session = await accepted.upgradeToTlsServer(settings, released);
  const outer = client.connection;
  client.connection = new TlsClientConnection(session, outer.localAddress, outer.remoteAddress);
  client.reader = new ByteReader(session.readable);
  client.writer = session.writable.getWriter();
}

/** The plaintext side of a client's TLS session as the sessions see their connection. */
class TlsClientConnection implements Connection {
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;
  readonly localAddress: Endpoint;
  readonly remoteAddress: Endpoint;
  readonly tlsProtocol: string;
  readonly #session: TlsServerSession;

  constructor(session: TlsServerSession, localAddress: Endpoint, remoteAddress: Endpoint) {
    this.#session = session;
    this.readable = session.readable;
    this.writable = session.writable;
    this.localAddress = localAddress;
    this.remoteAddress = remoteAddress;
    this.tlsProtocol = session.protocol;
  }

  /** Ends the session and the connection under it. */
  close(): void {
    this.#session.close();
  }
}
