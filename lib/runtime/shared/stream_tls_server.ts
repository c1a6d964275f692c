/**
 * A TLS server session over any pair of WHATWG byte streams, with node:tls: `new tls.TLSSocket(duplex, { isServer:
 * true })` over a Duplex made of the accepted connection's streams (the bytes the dispatcher already read put back
 * in front). Measured to work in Node 20, Deno 2.9 and Bun 1.4 alike, over each adapter's own sockets (Deno's
 * `Deno.listen` and Bun's `Bun.listen` included): neither Deno nor Bun can upgrade one of its own accepted sockets
 * to a TLS server in place (`Deno.startTls` is client only; Bun's `upgradeTLS` wants a socket of `Bun.connect`),
 * and the stream path needs no socket at all. The server side of {@link startStreamTls}.
 *
 * @module
 */
// node:stream, node:crypto and node:tls come from process.getBuiltinModule when they are first needed, never a static
// import: this file is in the package root's graph through the adapters, and a bundler hoists a static node: import
// into a Cloudflare Worker, which cannot load one (as stream_tls.ts does).
import type { SecureContext } from "node:tls";
import { builtinModule } from "./builtin_module.ts";
import { streamsDuplex } from "./streams_duplex.ts";
import type { Connection, ReleasedBytes, TlsServerSession, TlsServerSettings } from "../../net/network.ts";
import { SocksError } from "../../wire/socks_error.ts";
import { tlsStreams } from "./stream_tls.ts";

/** What a tabi TLS server offers: HTTP/1.1 only (a browser speaks HTTP/2 to a proxy that offers h2), TLS 1.2+. */
export const TLS_SERVER_OFFER = { alpn: ["http/1.1"], minVersion: "TLSv1.2" } as const;

// One context per settings object: made on the first handshake after a start or a reload, shared by every session.
const contexts = new WeakMap<TlsServerSettings, SecureContext>();

/**
 * The secure context of `settings`; throws a SocksError saying what is wrong with the certificate or the key (not
 * PEM, or a key that is not the certificate's), which is how a server checks them before it listens or reloads.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tlsServerContext } from "./stream_tls_server.ts";
 * assert.throws(() => tlsServerContext({ cert: "not a certificate", key: "not a key" }), /TLS/);
 * ```
 */
export function tlsServerContext(settings: TlsServerSettings): SecureContext {
  let context = contexts.get(settings);
  if (context) return context;
  try {
    // createSecureContext takes a key that is not the certificate's (Node sets the key first): check the pair.
    const { constants, createPrivateKey, X509Certificate } = builtinModule<typeof import("node:crypto")>("node:crypto");
    const { createSecureContext } = builtinModule<typeof import("node:tls")>("node:tls");
    if (!new X509Certificate(settings.cert).checkPrivateKey(createPrivateKey(settings.key))) {
      throw new Error("the key is not the certificate's (the first certificate of the file must be the server's)");
    }
    context = createSecureContext({
      cert: settings.cert,
      key: settings.key,
      minVersion: TLS_SERVER_OFFER.minVersion,
      // RFC 5746 renegotiation started by a client is refused outright (OpenSSL; BoringSSL and rustls never allow it).
      secureOptions: constants.SSL_OP_NO_RENEGOTIATION ?? 0,
    });
  } catch (error) {
    throw new SocksError("bad-field", `TLS certificate and key: ${(error as Error).message}`, { cause: error });
  }
  contexts.set(settings, context);
  return context;
}

/**
 * Runs the server side of a TLS handshake over `connection`'s streams: `released` is its readable (unlocked) with
 * the bytes already read from it, and its writable must be unlocked. Resolves once the handshake is done; rejects
 * (and closes the connection) when it fails or the connection closes first.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { acceptStreamTls } from "./stream_tls_server.ts";
 * // A ClientHello that is not one: the handshake fails, and the promise says so.
 * const garbage = new Uint8Array([0x16, 3, 1, 0, 2, 9, 9]);
 * const readable = new ReadableStream<Uint8Array>({ start: (c) => c.close() });
 * let closed = false;
 * const connection = { writable: new WritableStream<Uint8Array>(), close: () => void (closed = true) };
 * await assert.rejects(acceptStreamTls(connection, { leftover: garbage, readable }, { cert: "", key: "" }));
 * assert.ok(closed);
 * ```
 */
export function acceptStreamTls(
  connection: Pick<Connection, "writable" | "close">,
  released: ReleasedBytes,
  settings: TlsServerSettings,
): Promise<TlsServerSession> {
  let secureContext: SecureContext;
  try {
    secureContext = tlsServerContext(settings);
  } catch (error) {
    connection.close();
    return Promise.reject(error);
  }
  // Half-close inside TLS (a client's close_notify, then our answer) works in Node and Deno, which take it from the
  // Duplex; Bun 1.4.5's TLSSocket over a Duplex ends its own side at the client's close_notify (docs/tls.md).
  // Deno's TLSSocket starts its handshake on a tick after it is made, and throws an uncaught TypeError (its handle
  // gone) when a bad ClientHello or an early end destroyed it before that: the bytes flow from the next turn on.
  const started = new Promise<void>((resolve) => setTimeout(resolve, 0));
  let failed: (error?: Error) => void = () => {};
  // An end of the client's bytes before the handshake is done fails it here: Deno's TLSSocket reports no error and
  // no close for it, and the connection would wait for a handshake that cannot come.
  const duplex = streamsDuplex(released.readable, connection.writable, {
    leftover: released.leftover,
    started,
    // A turn later: a ClientHello and its FIN may come in one read, and the handshake go on from its bytes.
    ended: () => setTimeout(() => failed(), 0),
    destroyed: () => connection.close(),
  });
  const { TLSSocket } = builtinModule<typeof import("node:tls")>("node:tls");
  const socket = new TLSSocket(duplex as unknown as import("node:net").Socket, {
    isServer: true,
    secureContext,
    ALPNProtocols: [...TLS_SERVER_OFFER.alpn],
  });
  let done = false;
  return new Promise((resolve, reject) => {
    failed = (error?: Error) => {
      if (done) return;
      done = true;
      socket.destroy();
      duplex.destroy();
      reject(new SocksError("bad-field", `TLS handshake: ${error?.message ?? "connection closed"}`, { cause: error }));
    };
    socket.once("error", failed);
    socket.once("close", failed);
    socket.once("secure", () => {
      done = true;
      socket.off("error", failed);
      socket.off("close", failed);
      const streams = tlsStreams(socket, duplex);
      resolve({
        readable: streams.readable,
        writable: streams.writable,
        protocol: socket.getProtocol() ?? "TLS",
        close: () => {
          streams.close();
          connection.close();
        },
      });
    });
  });
}
