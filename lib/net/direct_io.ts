/**
 * The reader and the writer of a connection's handshake: the socket itself where the adapter reads and writes it
 * directly (Connection `read` and `sink`), its WHATWG streams everywhere else (custom Networks, the in-memory one,
 * the edge, a TLS session's plaintext side). The protocol code reads a ByteReader and writes a ByteSink either way.
 *
 * @module
 */
import { ByteReader, type ByteReaderOptions } from "../io/byte_reader.ts";
import type { ByteSink } from "../io/byte_sink.ts";
import type { ByteSource } from "../io/byte_source.ts";
import type { Connection } from "./network.ts";

/**
 * A ByteReader of `connection`: over the socket itself where the adapter reads it directly, over `readable`
 * otherwise.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { connectionReader } from "./direct_io.ts";
 * const connection = {
 *   readable: ReadableStream.from([new Uint8Array([5, 1, 0])]),
 *   writable: new WritableStream<Uint8Array>(),
 *   localAddress: { hostname: "127.0.0.1", port: 1080 },
 *   remoteAddress: { hostname: "127.0.0.1", port: 40000 },
 *   close() {},
 * };
 * assert.deepEqual([...await connectionReader(connection).readExactly(3)], [5, 1, 0]);
 * ```
 */
export function connectionReader(connection: Connection, options?: ByteReaderOptions): ByteReader {
  return new ByteReader(connection.read !== undefined ? connection as ByteSource : connection.readable, options);
}

/**
 * A writer of `connection`: the socket itself where the adapter writes it directly, a writer of `writable`
 * otherwise.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { connectionWriter } from "./direct_io.ts";
 * const written: number[] = [];
 * const connection = {
 *   readable: ReadableStream.from<Uint8Array>([]),
 *   writable: new WritableStream<Uint8Array>({ write: (chunk) => void written.push(...chunk) }),
 *   localAddress: { hostname: "127.0.0.1", port: 1080 },
 *   remoteAddress: { hostname: "127.0.0.1", port: 40000 },
 *   close() {},
 * };
 * await connectionWriter(connection).write(new Uint8Array([5, 0]));
 * assert.deepEqual(written, [5, 0]);
 * ```
 */
export function connectionWriter(connection: Connection): ByteSink {
  return connection.sink?.() ?? connection.writable.getWriter();
}
