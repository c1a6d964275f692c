/**
 * What reading a request head costs when it is dripped in one byte per read (a slowloris, or just a slow link): the
 * bytes copied must grow linearly with the head, not with its square. Work is counted, not timed: every
 * `Uint8Array.prototype.set` the reading code makes is summed while a head is read.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ByteReader } from "../../lib/io/byte_reader.ts";
import { type HttpRequestHead, httpRequestHeadDecoder } from "../../lib/wire/http_head.ts";

/** A request head of about `size` bytes: the request line, then 100-byte headers. */
function headOf(size: number): Uint8Array {
  let text = "GET http://example.com/ HTTP/1.1\r\nHost: example.com\r\n";
  for (let i = 0; text.length + 104 < size; i++) text += `X-${String(i).padStart(4, "0")}: ${"v".repeat(92)}\r\n`;
  text += "\r\n";
  return Uint8Array.from(text, (c) => c.charCodeAt(0));
}

/** A stream that delivers `bytes` one byte per pull, as a byte stream (BYOB reads) or a default one. */
function dripped(bytes: Uint8Array, type: "bytes" | "default"): ReadableStream<Uint8Array> {
  let i = 0;
  if (type === "default") {
    return new ReadableStream<Uint8Array>({
      pull(controller) {
        if (i < bytes.length) controller.enqueue(bytes.slice(i, ++i));
        else controller.close();
      },
    });
  }
  return new ReadableStream({
    type: "bytes",
    pull(controller) {
      if (i < bytes.length) controller.enqueue(bytes.slice(i, ++i));
      else {
        controller.close();
        controller.byobRequest?.respond(0);
      }
    },
  });
}

/** Reads one head from a dripped stream, counting the bytes copied with `set` meanwhile. */
async function copiedWhileReading(
  size: number,
  type: "bytes" | "default",
): Promise<{ head: HttpRequestHead; length: number; copied: number }> {
  const bytes = headOf(size);
  const stream = dripped(bytes, type);
  const reader = new ByteReader(stream);
  const set = Uint8Array.prototype.set;
  let copied = 0;
  Uint8Array.prototype.set = function (this: Uint8Array, source: ArrayLike<number>, offset?: number) {
    copied += source.length;
    return set.call(this, source, offset);
  } as typeof set;
  try {
    const head = await reader.read(httpRequestHeadDecoder());
    return { head, length: bytes.length, copied };
  } finally {
    Uint8Array.prototype.set = set;
  }
}

describe("HTTP request head read byte by byte", () => {
  for (const type of ["bytes", "default"] as const) {
    it(`copies O(n) bytes, not O(n^2) (${type} stream)`, async () => {
      const copies: number[] = [];
      for (const size of [2048, 8192, 32768]) {
        const { head, length, copied } = await copiedWhileReading(size, type);
        assert.equal(head.headers[0].value, "example.com");
        assert.ok(head.headers.length > size / 120, `${head.headers.length} headers`);
        // A growing buffer copies each byte once when it arrives and about once more over all its doublings.
        assert.ok(copied <= 4 * length + 8192, `${copied} bytes copied to read a ${length}-byte head`);
        copies.push(copied / length);
      }
      // Linear: the bytes copied per byte of head stay flat as the head grows 16 times.
      assert.ok(copies[2] <= copies[0] * 2 + 1, `copies per byte: ${copies.map((c) => c.toFixed(2)).join(", ")}`);
    });
  }

  it("earlier reads keep their bytes while later ones fill the buffer in place", async () => {
    const bytes = headOf(4096);
    const reader = new ByteReader(dripped(bytes, "bytes"));
    const pieces: Uint8Array[] = [];
    for (let at = 0; at < bytes.length; at += 700) {
      pieces.push(await reader.readExactly(Math.min(700, bytes.length - at)));
    }
    const joined = pieces.flatMap((piece) => [...piece]);
    assert.deepEqual(joined, [...bytes]);
  });
});
