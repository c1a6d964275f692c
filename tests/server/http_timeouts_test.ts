/** The HTTP side's response-head timeout: a destination that never answers is answered 504 for it. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { resolveConfig } from "../../lib/server/config.ts";
import { closesWithin, network, rawClient, sleep, testServer } from "../helpers/net.ts";
import { ascii, readResponse, scriptedOrigin } from "../helpers/http.ts";

const json = (body: Uint8Array) => JSON.parse(new TextDecoder().decode(body));

/** `promise`, or a failure after `ms`: without the timeout under test, the answer would never come. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, limit]);
  } finally {
    clearTimeout(timer);
  }
}

describe("HTTP proxy: the response-head timeout", () => {
  it("is 120 s unless set; 0 means never", () => {
    assert.equal(resolveConfig({ network }).responseTimeoutMs, 120_000);
    assert.equal(resolveConfig({ network, responseTimeoutMs: 0 }).responseTimeoutMs, 0);
    assert.throws(() => resolveConfig({ network, responseTimeoutMs: -1 }), /responseTimeoutMs must be/);
  });

  it("a destination that reads the request and never answers: 504, both connections closed", async () => {
    let originClosed: Promise<boolean> | undefined;
    const silent = await scriptedOrigin(async (_, peer) => {
      // Reads on until the proxy lets go, answering nothing.
      originClosed = peer.reader.readExactly(1).then(() => false, () => true);
      await originClosed;
    });
    const server = await testServer({ responseTimeoutMs: 300, idleTimeoutMs: 0 });
    try {
      const client = await rawClient(server.endpoint);
      await client.send(ascii(`GET http://127.0.0.1:${silent.address.port}/ HTTP/1.1\r\nHost: x\r\n\r\n`));
      const response = await within(readResponse(client), 10_000, "answer").catch((error) => {
        client.close();
        throw error;
      });
      assert.equal(response.status, 504);
      assert.equal(response.headers["connection"], "close");
      assert.ok(await closesWithin(client, 5000));
      assert.equal(await within(originClosed!, 10_000, "close at the destination"), true);
      const record = await server.nextRecord();
      assert.deepEqual([record.reply, record.outcome], [504, "timeout"]);
    } finally {
      await within(server.close(), 10_000, "server close").catch(() => {});
      // Bounded: without the timeout, the proxy never lets go of the destination (nor stops), and nothing ends.
      await within(silent.close(), 5000, "origin close").catch(() => {});
    }
  });

  it("a destination that does not read a request body: 504 as well", async () => {
    const stuck = await scriptedOrigin(async (_, peer) => {
      await peer.reader.readExactly(1).catch(() => {});
      await new Promise<void>((resolve) => setTimeout(resolve, 10_000)).catch(() => {});
    });
    const server = await testServer({ responseTimeoutMs: 300 });
    try {
      const client = await rawClient(server.endpoint);
      const size = 64 << 20;
      await client.send(ascii(
        `POST http://127.0.0.1:${stuck.address.port}/ HTTP/1.1\r\nHost: x\r\nContent-Length: ${size}\r\n\r\n`,
      ));
      // The body goes up until the buffers on the way are full; the destination reads none of it.
      const sending = (async () => {
        const piece = new Uint8Array(1 << 20);
        for (let sent = 0; sent < size; sent += piece.length) await client.send(piece);
      })().catch(() => {});
      const response = await within(readResponse(client), 10_000, "answer").finally(() => client.close());
      assert.equal(response.status, 504);
      await sending;
      assert.equal((await server.nextRecord()).reply, 504);
    } finally {
      await within(server.close(), 10_000, "server close").catch(() => {});
      await within(stuck.close(), 5000, "origin close").catch(() => {});
    }
  });

  it("with no timeout (0), stopping the server still lets go of a destination that never answers", async () => {
    let originClosed: Promise<boolean> | undefined;
    const silent = await scriptedOrigin(async (_, peer) => {
      originClosed = peer.reader.readExactly(1).then(() => false, () => true);
      await originClosed;
    });
    const server = await testServer({ responseTimeoutMs: 0 });
    const client = await rawClient(server.endpoint);
    try {
      await client.send(ascii(`GET http://127.0.0.1:${silent.address.port}/ HTTP/1.1\r\nHost: x\r\n\r\n`));
      while (originClosed === undefined) await sleep(20);
      await within(server.close(), 10_000, "server close");
      assert.equal(await within(originClosed, 10_000, "close at the destination"), true);
      assert.ok(await closesWithin(client, 5000));
    } finally {
      client.close();
      await within(server.close(), 10_000, "server close").catch(() => {});
      await within(silent.close(), 5000, "origin close").catch(() => {});
    }
  });

  it("counts quiet time only: a body sent slowly but steadily for longer than the timeout gets its answer", async () => {
    const origin = await scriptedOrigin(async (head, peer) => {
      const length = Number(/content-length: (\d+)/i.exec(head)![1]);
      const body = await peer.reader.readExactly(length);
      await sleep(100);
      const text = JSON.stringify({ length: body.length });
      await peer.send(ascii(`HTTP/1.1 200 OK\r\nContent-Length: ${text.length}\r\n\r\n${text}`));
    });
    const server = await testServer({ responseTimeoutMs: 800 });
    try {
      const client = await rawClient(server.endpoint);
      await client.send(ascii(
        `POST http://127.0.0.1:${origin.address.port}/ HTTP/1.1\r\nHost: x\r\nContent-Length: 20\r\n\r\n`,
      ));
      for (let i = 0; i < 20; i++) {
        await sleep(100);
        await client.send(ascii("x"));
      }
      const response = await readResponse(client);
      assert.equal(response.status, 200);
      assert.equal(json(response.body).length, 20);
      client.close();
      assert.equal((await server.nextRecord()).reply, 200);
    } finally {
      await server.close();
      await origin.close();
    }
  });
});
