/**
 * A response body read off the connection as its framing says (RFC 9112 section 6.3): a length, the chunked coding
 * (trailers read and dropped), or up to the end of the connection. A body that ends early is an error, never a
 * short success: a truncated download must not look complete.
 *
 * @module
 */
import type { ByteReader } from "../../io/byte_reader.ts";
import { type BodyFraming, decodeChunkEnd, decodeChunkSize } from "../../wire/http_framing.ts";
import { httpTrailerDecoder } from "../../wire/http_head.ts";
import { SocksError } from "../../wire/socks_error.ts";

const PIECE = 64 * 1024;

/**
 * The body framed by `framing` on `reader`, as a stream. `finish` is called once: with no argument when the body was
 * read to its end, with the error when reading failed, with the reason when the stream was cancelled or `signal`
 * aborted (the stream errors with the abort's reason at once, as fetch's do). A read error reaches the stream as
 * `failure` makes it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ByteReader } from "../../io/byte_reader.ts";
 * import { framedBody } from "./response_body.ts";
 * const wire = new TextEncoder().encode("5\r\nhello\r\n0\r\n\r\n");
 * const body = framedBody(new ByteReader(ReadableStream.from([wire])), { kind: "chunked" }, () => {});
 * assert.equal(await new Response(body).text(), "hello");
 * ```
 */
export function framedBody(
  reader: ByteReader,
  framing: BodyFraming,
  finish: (error?: unknown) => void,
  signal?: AbortSignal,
  failure: (error: unknown) => unknown = (error) => error,
): ReadableStream<Uint8Array> {
  let left = framing.kind === "length" ? framing.length : 0;
  let chunkLeft = 0;
  let ended = false;
  const end = (error?: unknown) => {
    if (ended) return;
    ended = true;
    finish(error);
  };
  const next = async (): Promise<Uint8Array | undefined> => {
    switch (framing.kind) {
      case "none":
        return undefined;
      case "length": {
        if (left === 0) return undefined;
        const data = await reader.readAtMost(Math.min(left, PIECE));
        if (data.length === 0) throw new SocksError("closed", `the response body ended ${left} bytes short`);
        left -= data.length;
        return data;
      }
      case "close": {
        const data = await reader.readAtMost(PIECE);
        return data.length === 0 ? undefined : data;
      }
      case "chunked": {
        if (chunkLeft === 0) {
          const size = await reader.read(decodeChunkSize);
          if (size === 0) {
            await reader.read(httpTrailerDecoder());
            return undefined;
          }
          chunkLeft = size;
        }
        const data = await reader.readAtMost(Math.min(chunkLeft, PIECE));
        if (data.length === 0) throw new SocksError("closed", "the response body ended inside a chunk");
        chunkLeft -= data.length;
        if (chunkLeft === 0) await reader.read(decodeChunkEnd);
        return data;
      }
    }
  };
  let onAbort: (() => void) | undefined;
  const stop = (error?: unknown) => {
    if (onAbort !== undefined) signal?.removeEventListener("abort", onAbort);
    end(error);
  };
  return new ReadableStream<Uint8Array>({
    start(controller) {
      if (signal === undefined) return;
      onAbort = () => {
        controller.error(signal.reason);
        stop(signal.reason);
      };
      signal.addEventListener("abort", onAbort, { once: true });
    },
    async pull(controller) {
      try {
        signal?.throwIfAborted();
        const data = await next();
        // Aborted while reading: whatever the read saw (an end, perhaps), the stream is already errored.
        if (ended) return;
        if (data === undefined) {
          controller.close();
          stop();
        } else controller.enqueue(data);
      } catch (error) {
        if (ended) return;
        const reported = signal?.aborted ? signal.reason : failure(error);
        controller.error(reported);
        stop(reported);
      }
    },
    cancel(reason) {
      stop(reason);
    },
  }, { highWaterMark: 0 });
}
