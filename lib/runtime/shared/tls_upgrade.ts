/**
 * `Connection.upgradeToTlsServer` as the Deno, Bun and Node adapters implement it: a TLS server session over the
 * connection's own streams (stream_tls_server.ts), whose module (and node:tls with it) is loaded on the first TLS
 * client only, so that a server without TLS never loads it.
 *
 * @module
 */
import type { Connection, ReleasedBytes, TlsServerSession, TlsServerSettings } from "../../net/network.ts";

/**
 * Upgrades `this` connection to a TLS server session; the adapters put it on their connections as
 * `upgradeToTlsServer`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { upgradeToTlsServer } from "./tls_upgrade.ts";
 * // A peer that is gone before its ClientHello: the upgrade fails and closes the connection.
 * let closed = false;
 * const connection = { writable: new WritableStream<Uint8Array>(), close: () => void (closed = true), upgradeToTlsServer };
 * const readable = new ReadableStream<Uint8Array>({ start: (c) => c.close() });
 * await assert.rejects(connection.upgradeToTlsServer({ cert: "", key: "" }, { leftover: new Uint8Array(0), readable }));
 * assert.ok(closed);
 * ```
 */
export async function upgradeToTlsServer(
  this: Pick<Connection, "writable" | "close">,
  settings: TlsServerSettings,
  released: ReleasedBytes,
): Promise<TlsServerSession> {
  const { acceptStreamTls } = await import("./stream_tls_server.ts");
  return await acceptStreamTls(this, released, settings);
}
