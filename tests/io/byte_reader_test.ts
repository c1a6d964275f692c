import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ByteReader } from "../../lib/io/byte_reader.ts";
import { SocksError } from "../../lib/wire/socks_error.ts";
import { decodeSocks5Request } from "../../lib/wire/socks5_request.ts";
import { hexBytes } from "../helpers/bytes.ts";

/** A byte stream that delivers `chunks` one per pull, like a socket would. */
function byteStream(chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream({
    type: "bytes",
    pull(controller) {
      if (i < chunks.length) controller.enqueue(chunks[i++].slice());
      else {
        controller.close();
        controller.byobRequest?.respond(0);
      }
    },
  });
}

/** A default (non-byte) stream over the same chunks. */
function defaultStream(chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  return ReadableStream.from(chunks.map((c) => c.slice()));
}

async function drain(stream: ReadableStream<Uint8Array>): Promise<number[]> {
  const out: number[] = [];
  for await (const chunk of stream) out.push(...chunk);
  return out;
}

for (const [kind, make] of [["byte stream", byteStream], ["default stream", defaultStream]] as const) {
  describe(`ByteReader over a ${kind}`, () => {
    const request = hexBytes("05 01 00 03 0b 65 78 61 6d 70 6c 65 2e 63 6f 6d 01 bb");
    it("reads a message split byte by byte, then hands over the rest intact", async () => {
      const tail = [hexBytes("47 45"), hexBytes("54 20")];
      const chunks = [...[...request, 0x16].map((b) => new Uint8Array([b])), ...tail];
      const reader = new ByteReader(make(chunks));
      const message = await reader.read(decodeSocks5Request);
      assert.equal(message.destination.port, 443);
      const { leftover, readable } = reader.release();
      assert.deepEqual([...leftover, ...(await drain(readable))], [0x16, 0x47, 0x45, 0x54, 0x20]);
    });
    it("keeps bytes that arrived in the same chunk as the message", async () => {
      const reader = new ByteReader(make([new Uint8Array([...request, 1, 2, 3])]));
      await reader.read(decodeSocks5Request);
      const { leftover, readable } = reader.release();
      assert.deepEqual([...leftover, ...(await drain(readable))], [1, 2, 3]);
    });
    it("readExactly, readByte, peekByte, readUntilNul", async () => {
      const reader = new ByteReader(make([hexBytes("04 01 00"), hexBytes("50 61 62 00 63")]));
      assert.equal(await reader.peekByte(), 4);
      assert.equal(await reader.readByte(), 4);
      assert.deepEqual([...await reader.readExactly(3)], [1, 0, 0x50]);
      assert.deepEqual([...await reader.readUntilNul(2)], [0x61, 0x62]);
      assert.equal(reader.buffered, 1);
    });
    it("readUntilNul refuses a field past its limit", async () => {
      const reader = new ByteReader(make([hexBytes("61 62 63 64")]));
      await assert.rejects(reader.readUntilNul(3), (e) => e instanceof SocksError && e.code === "too-long");
    });
    it("an early end is a SocksError 'closed'", async () => {
      const reader = new ByteReader(make([hexBytes("05 01")]));
      await assert.rejects(reader.readExactly(3), (e) => e instanceof SocksError && e.code === "closed");
    });
    it("a malformed message rejects with the decoder's error", async () => {
      const reader = new ByteReader(make([hexBytes("05 09 00 01")]));
      await assert.rejects(reader.read(decodeSocks5Request), (e) => e instanceof SocksError && e.reply === 7);
    });
    it("refuses use after release", async () => {
      const reader = new ByteReader(make([hexBytes("01")]));
      reader.release();
      await assert.rejects(reader.readByte(), SocksError);
    });
  });
}
