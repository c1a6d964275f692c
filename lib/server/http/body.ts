/**
 * Streaming a message body from one side to the other without holding it whole: by length, chunked (re-framed,
 * trailers dropped), or until the sender closes (re-chunked for a keep-alive client). Every write is awaited, so
 * a slow receiver slows the sender down.
 *
 * @module
 */
import type { ByteReader } from "../../io/byte_reader.ts";
import { type BodyFraming, decodeChunkEnd, decodeChunkSize } from "../../wire/http_framing.ts";
import { httpTrailerDecoder } from "../../wire/http_head.ts";
import { SocksError } from "../../wire/socks_error.ts";

const PIECE = 64 * 1024;
const encoder = new TextEncoder();
const LAST_CHUNK = encoder.encode("0\r\n\r\n");
const CRLF = encoder.encode("\r\n");

/**
 * How a body is written out: as it came (`length`, `chunked`, `close`), chunked whatever it came as, or `plain`:
 * a chunked body's data alone, for an HTTP/1.0 recipient, which knows no chunked coding (RFC 9112 section 6.1).
 */
export type BodyOutput = "same" | "chunked" | "plain";

/**
 * Copies one body from `from` to `to`; returns the body's byte count (payload, framing excluded). Throws SocksError
 * "closed" when the sender ends early, and a 400-class error on bad chunked framing.
 */
export async function copyBody(
  from: ByteReader,
  to: Pick<WritableStreamDefaultWriter<Uint8Array>, "write">,
  framing: BodyFraming,
  output: BodyOutput = "same",
): Promise<number> {
  const chunked = output === "chunked" || framing.kind === "chunked";
  const put = async (data: Uint8Array) => {
    if (!chunked) return await to.write(data);
    await to.write(encoder.encode(`${data.length.toString(16)}\r\n`));
    await to.write(data);
    await to.write(CRLF);
  };
  switch (framing.kind) {
    case "none":
      return 0;
    case "length":
      return await copyExactly(from, framing.length, (d) => to.write(d));
    case "close": {
      let total = 0;
      for (;;) {
        const data = await from.readAtMost(PIECE);
        if (data.length === 0) break;
        await put(data);
        total += data.length;
      }
      if (chunked) await to.write(LAST_CHUNK);
      return total;
    }
    case "chunked": {
      let total = 0;
      for (;;) {
        const size = await from.read(decodeChunkSize);
        if (size === 0) {
          await from.read(httpTrailerDecoder());
          if (output !== "plain") await to.write(LAST_CHUNK);
          return total;
        }
        if (output !== "plain") await to.write(encoder.encode(`${size.toString(16)}\r\n`));
        total += await copyExactly(from, size, (d) => to.write(d));
        await from.read(decodeChunkEnd);
        if (output !== "plain") await to.write(CRLF);
      }
    }
  }
}

async function copyExactly(
  from: ByteReader,
  length: number,
  write: (data: Uint8Array) => Promise<void>,
): Promise<number> {
  let left = length;
  while (left > 0) {
    const data = await from.readAtMost(Math.min(left, PIECE));
    if (data.length === 0) throw new SocksError("closed", `body ended ${left} bytes short of ${length}`);
    await write(data);
    left -= data.length;
  }
  return length;
}
