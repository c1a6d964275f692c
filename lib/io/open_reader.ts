/**
 * Choosing how to read a stream: a BYOB reader on a byte stream (the caller's buffer is filled in place, no chunk
 * is allocated per read), a default reader on any other stream.
 *
 * @module
 */

/** A reader of either kind. */
export type AnyReader = ReadableStreamBYOBReader | ReadableStreamDefaultReader<Uint8Array>;

/**
 * Locks `readable` with a BYOB reader if it is a byte stream, a default reader otherwise.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { openReader } from "./open_reader.ts";
 * const plain = openReader(ReadableStream.from([new Uint8Array([1])]));
 * assert.ok(plain instanceof ReadableStreamDefaultReader);
 * const bytes = openReader(new ReadableStream({ type: "bytes" }));
 * assert.ok(bytes instanceof ReadableStreamBYOBReader);
 * ```
 */
export function openReader(readable: ReadableStream<Uint8Array>): AnyReader {
  try {
    return readable.getReader({ mode: "byob" });
  } catch {
    // Not a byte stream: a default reader is the only kind it has.
    return readable.getReader();
  }
}
