// IP_TRANSPARENT set through each runtime's FFI on tabi's own listener: with every address routed locally and a TPROXY
// rule, connections to any address and port (IPv4 and IPv6) arrive there, their local address the destination.
// Inside `unshare --net`: nothing leaves the machine.
import assert from "node:assert/strict";
import { join } from "node:path";
import process from "node:process";
import { describe, it } from "node:test";
import { runtimeName } from "../../lib/runtime/detect.ts";
import { makeTransparent } from "../../lib/runtime/transparent.ts";
import { network } from "../helpers/net.ts";
import { requirePeer } from "../helpers/peers.ts";
import { run } from "../helpers/process.ts";

/** The command that runs a TypeScript file under the runtime running this test. */
function runFile(file: string): string[] {
  switch (runtimeName()) {
    case "deno":
      return [process.execPath, "run", "-A", file];
    case "bun":
      return [process.execPath, file];
    default:
      return [process.execPath, "--import", "tsx", file];
  }
}

describe("transparent listener", () => {
  it("captures connections to every address and port, IPv4 and IPv6, with their destination", async () => {
    for (const peer of ["unshare", "ip", "nft"]) requirePeer(peer);
    const result = await run("unshare", ["--net", "--", ...runFile(join("tests", "runtime", "transparent_probe.ts"))], {
      timeoutMs: 60_000,
    });
    assert.equal(result.code, 0, result.stderr);
    const { results, seen } = JSON.parse(new TextDecoder().decode(result.stdout));
    assert.deepEqual(results, [
      "93.184.216.34 80 connected",
      "10.1.2.3 443 connected",
      "2001:db8::5 8443 connected",
      "127.192.0.7 22 connected",
    ]);
    assert.deepEqual(seen, ["10.1.2.3 443", "127.192.0.7 22", "2001:db8::5 8443", "93.184.216.34 80"]);
  });

  it("refuses a socket this process does not listen on", async () => {
    const listener = await network.listen({ hostname: "127.0.0.1", port: 0 }, (c) => c.close());
    await listener.close();
    await assert.rejects(makeTransparent(listener.address), { code: "unsupported" });
  });
});
