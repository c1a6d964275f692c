/**
 * Streaming a message body from one side to the other without holding it whole: by length, chunked (re-framed,
 * trailers dropped), or until the sender closes (re-chunked for a keep-alive client). Every write is awaited, so
 * a slow receiver slows the sender down.
 *
 * @module
 */
import type { ByteReader } from "../../io/byte_reader.ts";
import { quotaReached, type RelayMeter } from "../../net/relay_result.ts";
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

/** The writer a body's payload goes through: `to` itself, or `to` paced and counted by a usage meter. */
type Writer = Pick<WritableStreamDefaultWriter<Uint8Array>, "write">;

/**
 * The payload writer of a limited user's (or client's) body: the same meter, so the same rate limiter and quota
 * count, as the key's tunnels (lib/relay.ts). Framing bytes (chunk sizes, CRLFs) bypass it, as a tunnel's meter
 * sees only what the two ends send. At the quota's crossing the bytes still allowed go out and SocksError
 * "quota-exceeded" is thrown: the body stops short, which the client sees as an incomplete message.
 */
function meteredWriter(to: Writer, meter: RelayMeter, aToB: boolean): Writer {
  return {
    async write(data: Uint8Array): Promise<void> {
      const allowed = meter.allow(aToB, data.length);
      if (allowed < data.length) {
        if (allowed > 0) {
          await to.write(data.subarray(0, allowed));
          meter.passed(aToB, allowed);
        }
        throw quotaReached(meter);
      }
      await to.write(data);
      const waitMs = meter.passed(aToB, data.length);
      if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs));
    },
  };
}

/**
 * Copies one body from `from` to `to`; returns the body's byte count (payload, framing excluded). Throws SocksError
 * "closed" when the sender ends early, and a 400-class error on bad chunked framing. With a `meter`, the payload is
 * paced and counted as one direction (`aToB`: client to destination) of the user's or client's tunnels, and a quota
 * crossed inside the body throws SocksError "quota-exceeded" after the bytes still allowed.
 */
export async function copyBody(
  from: ByteReader,
  to: Writer,
  framing: BodyFraming,
  output: BodyOutput = "same",
  meter?: RelayMeter,
  aToB = false,
): Promise<number> {
  const chunked = output === "chunked" || framing.kind === "chunked";
  const data = meter === undefined ? to : meteredWriter(to, meter, aToB);
  const put = async (piece: Uint8Array) => {
    if (!chunked) return await data.write(piece);
    await to.write(encoder.encode(`${piece.length.toString(16)}\r\n`));
    await data.write(piece);
    await to.write(CRLF);
  };
  switch (framing.kind) {
    case "none":
      return 0;
    case "length":
      return await copyExactly(from, framing.length, (d) => data.write(d));
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
        total += await copyExactly(from, size, (d) => data.write(d));
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
