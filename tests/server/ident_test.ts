import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { decodeSocks4Reply, encodeSocks4Request } from "../../lib/wire/socks4.ts";
import { closedPort, echoServer, network, rawClient, testServer, waitForPort } from "../helpers/net.ts";
import { currentUser, type Daemon, daemon } from "../helpers/process.ts";
import { requirePeer } from "../helpers/peers.ts";

describe("SOCKS4 IDENT check (RFC 1413) against oidentd", () => {
  let identd: Daemon;
  let identPort: number;
  let echo: Awaited<ReturnType<typeof echoServer>>;
  before(async () => {
    const oidentd = requirePeer("oidentd");
    identPort = await closedPort();
    const id = (flag: string) => execFileSync("id", [flag], { encoding: "utf8" }).trim();
    // In the foreground, on loopback and a free port, as whoever runs the test (it reads /proc/net/tcp).
    identd = daemon(oidentd, ["-i", "-S", "-a", "127.0.0.1", "-p", String(identPort), "-u", id("-u"), "-g", id("-g")]);
    await waitForPort(identPort, "oidentd");
    echo = await echoServer();
  });
  after(async () => {
    await identd?.stop();
    await echo?.close();
  });

  const ask = async (server: Awaited<ReturnType<typeof testServer>>, userId: string) => {
    const client = await rawClient(server.endpoint);
    try {
      await client.send(encodeSocks4Request({
        command: 1,
        destination: { address: { type: "ipv4", host: "127.0.0.1" }, port: echo.address.port },
        userId,
      }));
      const { reply } = await client.reader.read(decodeSocks4Reply);
      if (reply === 90) {
        await client.send([1, 2, 3]);
        assert.deepEqual([...await client.reader.readExactly(3)], [1, 2, 3]);
      }
      return reply;
    } finally {
      client.close();
    }
  };

  it("grants (90) when identd reports the USERID, and logs the reported user", async () => {
    const server = await testServer({ ident: { port: identPort, timeoutMs: 5_000 } });
    try {
      assert.equal(await ask(server, currentUser()), 90);
      const record = await server.nextRecord();
      assert.equal(record.ident, currentUser());
      assert.equal(record.userId, currentUser());
    } finally {
      await server.close();
    }
  });

  it("answers 93 when identd reports another user, naming both in the log", async () => {
    const server = await testServer({ ident: { port: identPort, timeoutMs: 5_000 } });
    try {
      assert.equal(await ask(server, "somebody-else"), 93);
      const record = await server.nextRecord();
      assert.equal(record.reply, 93);
      assert.match(record.error ?? "", new RegExp(`reports user "${currentUser()}", USERID is "somebody-else"`));
      assert.equal(await ask(server, ""), 93);
    } finally {
      await server.close();
    }
  });

  it("answers 92 when no identd answers on the client's host", async () => {
    const server = await testServer({ ident: { port: await closedPort(), timeoutMs: 5_000 } });
    try {
      assert.equal(await ask(server, currentUser()), 92);
      assert.match((await server.nextRecord()).error ?? "", /no answer from identd/);
    } finally {
      await server.close();
    }
  });

  it("answers 92 when the identd accepts but says nothing within the timeout", async () => {
    const held: { close(): void }[] = [];
    const silent = await network.listen({ hostname: "127.0.0.1", port: 0 }, (connection) => void held.push(connection));
    const server = await testServer({ ident: { port: silent.address.port, timeoutMs: 300 } });
    try {
      assert.equal(await ask(server, currentUser()), 92);
      assert.match((await server.nextRecord()).error ?? "", /none within 300 ms/);
    } finally {
      await server.close();
      held.forEach((c) => c.close());
      await silent.close();
    }
  });

  it("is off by default: the same request is granted without asking", async () => {
    const server = await testServer();
    try {
      assert.equal(await ask(server, "somebody-else"), 90);
      assert.equal((await server.nextRecord()).ident, undefined);
    } finally {
      await server.close();
    }
  });
});
