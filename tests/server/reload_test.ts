import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SocksError } from "../../lib/wire/socks_error.ts";
import { boundSocks5 } from "../helpers/bound_client.ts";
import { echoServer, network, testServer } from "../helpers/net.ts";

describe("server.reload()", () => {
  it("new users, rules and limits apply to new connections; open ones go on; wrong options change nothing", async () => {
    const echo = await echoServer();
    const server = await testServer({ users: new Map([["alice", "a"]]) });
    try {
      const port = server.endpoint.port;
      const target = echo.address.port;
      const open = await boundSocks5(port, "127.0.0.2", target, { user: ["alice", "a"] });
      assert.equal(open.reply, 0);
      assert.equal((await boundSocks5(port, "127.0.0.2", target, { user: ["bob", "b"] })).reply, undefined);

      await server.reload({
        network,
        users: new Map([["alice", "a"], ["bob", "b"]]),
        rules: [{ action: "deny", clients: ["127.0.0.3"] }, { action: "allow" }],
        limits: { maxClientsPerAddress: 2 },
      });
      assert.equal(server.limits.maxClientsPerAddress, 2);
      assert.deepEqual([...(await open.echo(new Uint8Array([1, 2])))], [1, 2], "the open tunnel goes on");
      const bob = await boundSocks5(port, "127.0.0.2", target, { user: ["bob", "b"] });
      assert.equal(bob.reply, 0, "bob gets in");
      // alice's tunnel and bob's: 127.0.0.2 is at the new per-address limit of 2.
      assert.equal((await boundSocks5(port, "127.0.0.2", target, { user: ["bob", "b"] })).reply, undefined);
      assert.equal((await boundSocks5(port, "127.0.0.3", target, { user: ["bob", "b"] })).reply, 2, "rule applies");
      bob.close();

      await assert.rejects(
        server.reload({ network, users: new Map([["carol", "c"]]), limits: { maxClients: 0 } }),
        (error: unknown) => error instanceof SocksError && /maxClients/.test(error.message),
      );
      await assert.rejects(
        server.reload({ network, proxyProtocol: ["not a range"] }),
        (error: unknown) => error instanceof SocksError && /proxyProtocol/.test(error.message),
      );
      assert.equal((await boundSocks5(port, "127.0.0.4", target, { user: ["carol", "c"] })).reply, undefined);
      const still = await boundSocks5(port, "127.0.0.4", target, { user: ["bob", "b"] });
      assert.equal(still.reply, 0, "the failed reloads changed nothing");
      still.close();
      open.close();
    } finally {
      await server.close();
      await echo.close();
    }
  });
});
