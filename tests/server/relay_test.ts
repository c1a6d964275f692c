import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import type { Connection } from "../../lib/net/network.ts";
import { network, socks5Connect, testServer } from "../helpers/net.ts";

const TOTAL = 256 * 1024 * 1024;
const CHUNK = 256 * 1024;

/** Writes TOTAL pseudo-random bytes (xorshift32 from `seed`) and returns their SHA-256. */
async function sendPattern(writer: WritableStreamDefaultWriter<Uint8Array>, seed: number): Promise<string> {
  const hash = createHash("sha256");
  let x = seed;
  for (let sent = 0; sent < TOTAL; sent += CHUNK) {
    const words = new Uint32Array(CHUNK / 4);
    for (let i = 0; i < words.length; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      words[i] = x;
    }
    const bytes = new Uint8Array(words.buffer);
    hash.update(bytes);
    await writer.write(bytes);
  }
  return hash.digest("hex");
}

/** Reads to EOF; returns the SHA-256 of the first `count` bytes and the bytes after them. */
async function readAll(
  readable: ReadableStream<Uint8Array>,
  count: number,
): Promise<{ digest: string; rest: Uint8Array }> {
  const hash = createHash("sha256");
  let seen = 0;
  const rest: number[] = [];
  for await (const chunk of readable) {
    const body = Math.max(0, Math.min(chunk.length, count - seen));
    if (body > 0) hash.update(chunk.subarray(0, body));
    for (let i = body; i < chunk.length; i++) rest.push(chunk[i]);
    seen += chunk.length;
  }
  return { digest: hash.digest("hex"), rest: new Uint8Array(rest) };
}

describe("relay", () => {
  it("256 MiB each way through one tunnel, checksummed, with a half-close in the middle", async () => {
    // The target downloads 256 MiB to the client while reading the upload; once the client's FIN arrives it
    // appends the digest of what it read, then half-closes. So the digest can only arrive if half-close works.
    let targetDone!: Promise<string>;
    const target = await network.listen({ hostname: "127.0.0.1", port: 0 }, (connection: Connection) => {
      targetDone = (async () => {
        const writer = connection.writable.getWriter();
        const [sentDigest, upload] = await Promise.all([
          sendPattern(writer, 0x9e3779b9),
          readAll(connection.readable, TOTAL),
        ]);
        await writer.write(new TextEncoder().encode(upload.digest));
        await writer.close();
        connection.close();
        return sentDigest;
      })();
    });
    const server = await testServer();
    try {
      const { client, reply } = await socks5Connect(server.endpoint, {
        address: { type: "ipv4", host: "127.0.0.1" },
        port: target.address.port,
      });
      assert.equal(reply.reply, 0);
      const { leftover, readable } = client.reader.release();
      assert.equal(leftover.length, 0);
      const [uploadDigest, download] = await Promise.all([
        sendPattern(client.writer, 0x12345678).then(async (digest) => {
          await client.writer.close(); // the half-close, while the download is still coming
          return digest;
        }),
        readAll(readable, TOTAL),
      ]);
      assert.equal(download.digest, await targetDone, "download arrived whole and in order");
      assert.equal(new TextDecoder().decode(download.rest), uploadDigest, "upload arrived whole and in order");
      client.close();
      const record = await server.nextRecord();
      assert.equal(record.outcome, "ok");
      assert.equal(record.bytesUp, TOTAL);
      assert.equal(record.bytesDown, TOTAL + 64);
    } finally {
      target.close();
      await server.close();
    }
  });
});
