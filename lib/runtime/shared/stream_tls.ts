/**
 * A TLS client over any pair of WHATWG byte streams, with node:tls: `tls.connect({ socket })` accepts a plain
 * Duplex, and a Duplex over the two streams is a few lines. Measured to work, certificate and name checks
 * included, in Node 20, Deno 2.9 and Bun 1.4 alike; Deno's own `Deno.startTls` only upgrades a `Deno.TcpConn`, and
 * Bun's `tls` option of `Bun.connect` only a socket it opened, so neither can run inside a SOCKS tunnel.
 *
 * @module
 */
// node:stream and node:tls come from process.getBuiltinModule when TLS starts, never a static import: this file is
// in the package root's graph (mod.ts imports it dynamically under Deno), and a bundler hoists a static node: import
// to the top of a Worker's bundle, which workerd without nodejs_compat then refuses to load ("No such module").
import type { Duplex as DuplexType } from "node:stream";
import type { TLSSocket } from "node:tls";
import { builtinModule } from "./builtin_module.ts";
import { streamsDuplex } from "./streams_duplex.ts";
import type { StartTlsOptions, TlsStreams } from "../../net/network.ts";
import type { ByteStreams } from "../../fetch/http_client/stream_tls.ts";

/** An IP literal, which SNI must not carry (RFC 6066 section 3). */
const IP_LITERAL = /^(?:[0-9.]+|.*:.*)$/;

/**
 * Starts TLS over `streams`, checking the certificate against `options.serverName` (sent as SNI unless it is an IP
 * literal) and the runtime's trust store plus `options.ca`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { startStreamTls } from "./stream_tls.ts";
 * // A peer that closes at once: the handshake fails, and the promise says so.
 * const readable = new ReadableStream<Uint8Array>({ start: (c) => c.close() });
 * const writable = new WritableStream<Uint8Array>();
 * await assert.rejects(startStreamTls({ readable, writable }, { serverName: "example.com" }));
 * ```
 */
export function startStreamTls(streams: ByteStreams, options: StartTlsOptions): Promise<TlsStreams> {
  const { connect, rootCertificates } = builtinModule<typeof import("node:tls")>("node:tls");
  const duplex = streamsDuplex(streams.readable, streams.writable);
  const { serverName, ca, alpn } = options;
  const socket = connect({
    socket: duplex,
    host: serverName,
    ...(IP_LITERAL.test(serverName) ? {} : { servername: serverName }),
    // node:tls's `ca` replaces the default store: keep the default one and add the extra certificates.
    ...(ca === undefined ? {} : { ca: [...rootCertificates, ca] }),
    ...(alpn === undefined ? {} : { ALPNProtocols: [...alpn] }),
  });
  return new Promise((resolve, reject) => {
    const failed = (error: Error) => {
      socket.destroy();
      duplex.destroy();
      reject(error);
    };
    socket.once("error", failed);
    socket.once("secureConnect", () => {
      socket.off("error", failed);
      resolve(tlsStreams(socket, duplex));
    });
  });
}

/** How long a TLS socket whose raw bytes ended may stay quiet before its readable is ended for it (Deno, below). */
const TLS_END_GRACE_MS = 250;

/** The plaintext side of an established TLS socket (client or server) as byte streams; closing them destroys both. */
export function tlsStreams(socket: TLSSocket, duplex: DuplexType): TlsStreams {
  const close = () => {
    socket.destroy();
    duplex.destroy();
  };
  // An error ends the readable below; this listener only keeps an error with no reader from being "unhandled".
  socket.on("error", () => {});
  const readable = new ReadableStream<Uint8Array>({
    start(controller) {
      // Deno 2.9's TLSSocket over a Duplex sometimes emits no 'end' after the peer's close_notify and FIN, though every
      // byte before them came out (about 1 HTTPS tunnel in 15 ending that way here: the relay then held the tunnel
      // open). Once the raw bytes ended, a TLS socket that stays quiet for TLS_END_GRACE_MS has nothing left to give:
      // its readable ends here. Node and Bun emit 'end' first, and this never acts.
      let ended = false;
      let lastData = 0;
      const endAfterQuiet = () => {
        if (ended || socket.destroyed) return;
        const quietFor = Date.now() - lastData;
        if (quietFor < TLS_END_GRACE_MS) return void setTimeout(endAfterQuiet, TLS_END_GRACE_MS - quietFor);
        ended = true;
        try {
          controller.close();
        } catch {
          // Already errored or cancelled: nothing left to end.
        }
      };
      duplex.once("end", () => setTimeout(endAfterQuiet, TLS_END_GRACE_MS));
      socket.on("data", (data: Uint8Array) => {
        lastData = Date.now();
        controller.enqueue(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
        if ((controller.desiredSize ?? 0) <= 0) socket.pause();
      });
      socket.once("end", () => {
        if (ended) return;
        ended = true;
        try {
          controller.close();
        } catch {
          // Already errored or cancelled: nothing left to end.
        }
      });
      socket.once("error", (error) => controller.error(error));
      socket.once("close", () => {
        try {
          controller.error(new Error("the TLS connection closed"));
        } catch {
          // Closed at its end already: the usual case.
        }
      });
    },
    pull() {
      socket.resume();
    },
    cancel: close,
  });
  const writable = new WritableStream<Uint8Array>({
    write: (chunk) => new Promise((resolve, reject) => socket.write(chunk, (e) => (e ? reject(e) : resolve()))),
    close: () =>
      new Promise((resolve) => {
        // Bun 1.4.5's TLSSocket over a Duplex ends and closes itself at the peer's close_notify (docs/tls.md) and then
        // never calls end's callback, where Node calls it (with an error): a relay waiting on it would hold the
        // session, its log record and its per-address count forever. A closed socket has nothing left to end.
        if (socket.destroyed) return resolve();
        socket.end(() => resolve());
      }),
    abort: close,
  });
  return { readable, writable, close };
}
