// `tabi serve` with its HTTP side and --upstream, as a process under the running runtime: docs/http.md's claims
// (`curl -x http://` and `curl --socks5-hostname` on one port; `--upstream socks5h://` in front of another proxy).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { runtimeName } from "../../lib/runtime/detect.ts";
import { loopbackOnly, testServer } from "../helpers/net.ts";
import { run } from "../helpers/process.ts";
import { startTabiServe, type TabiServe } from "../helpers/tabi_serve.ts";
import { httpServer, payload, sameBytes } from "../helpers/targets.ts";

const cleanEnv = { no_proxy: "", NO_PROXY: "", http_proxy: "", all_proxy: "", ALL_PROXY: "" };
const body = payload(100_000, 3);

describe("tabi serve: HTTP and --upstream", () => {
  let origin: { port: number; close(): void };
  let hop: Awaited<ReturnType<typeof testServer>>;
  let tabi: TabiServe;
  before(async () => {
    origin = await httpServer("127.0.0.1", body);
    hop = await testServer({ network: loopbackOnly() });
    tabi = await startTabiServe(runtimeName(), [
      "--listen",
      "127.0.0.1:0",
      "--upstream",
      `socks5h://127.0.0.1:${hop.endpoint.port}`,
      "--protocols",
      "socks5,http",
    ]);
  });
  after(async () => {
    tabi?.kill("SIGTERM");
    await tabi?.exited;
    origin?.close();
    await hop?.close();
  });

  it("says what it speaks and where it goes, without a password", () => {
    assert.match(
      tabi.stderr(),
      /listening on \S+ \(SOCKS5, HTTP; no authentication; upstream socks5h:\/\/127\.0\.0\.1:\d+\)/,
    );
  });

  for (const args of [["-x", "http://"], ["-p", "-x", "http://"], ["--socks5-hostname", ""]]) {
    it(`curl ${args.join(" ")}... reaches a name through the upstream, which resolves it`, async () => {
      const proxyArgs = [...args.slice(0, -1), `${args.at(-1)}${tabi.proxy}`];
      const result = await run("curl", ["-sS", "--fail", ...proxyArgs, `http://localhost:${origin.port}/`], {
        env: cleanEnv,
      });
      assert.equal(result.code, 0, result.stderr);
      assert.ok(sameBytes(result.stdout, body));
      // The hop logs a tunnel when it ends, a moment after curl is done.
      for (let i = 0; i < 100 && !hop.records.some((r) => r.destination === `localhost:${origin.port}`); i++) {
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.ok(hop.records.some((r) => r.destination === `localhost:${origin.port}`), "the hop saw the name");
    });
  }

  it("SOCKS4 is off (--protocols): closed unanswered", async () => {
    const result = await run("curl", ["-sS", "--socks4a", tabi.proxy, `http://localhost:${origin.port}/`], {
      env: cleanEnv,
    });
    assert.notEqual(result.code, 0);
  });
});

describe("tabi serve: port 0, the same refusal on both sides", () => {
  let tabi: TabiServe;
  before(async () => {
    tabi = await startTabiServe(runtimeName(), ["--listen", "127.0.0.1:0"]);
  });
  after(async () => {
    tabi?.kill("SIGTERM");
    await tabi?.exited;
  });

  // No service can listen on port 0: the server refuses it by its own rule, 0x02 on SOCKS and 403 on HTTP (the
  // README's "rule denial 0x02 / 403"), never trying a connection whose error differs between kernels and runtimes.
  for (const args of [["-x", "http://"], ["-p", "-x", "http://"]]) {
    it(`curl ${args.join(" ")}... to port 0: 403, as SOCKS answers 0x02`, async () => {
      const proxyArgs = [...args.slice(0, -1), `${args.at(-1)}${tabi.proxy}`];
      const result = await run("curl", [
        "-sS",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code} %{http_connect}",
        ...proxyArgs,
        "http://127.0.0.1:0/",
      ], {
        env: cleanEnv,
      });
      const [status, connect] = new TextDecoder().decode(result.stdout).split(" ");
      assert.equal(args[0] === "-p" ? connect : status, "403", result.stderr);
    });
  }

  it("curl --socks5 to port 0: 0x02, and both sides log the refusal as not-allowed", async () => {
    const result = await run("curl", ["-sS", "--socks5", tabi.proxy, "http://127.0.0.1:0/"], { env: cleanEnv });
    assert.equal(result.code, 97);
    assert.match(result.stderr, /\(2\)/);
    const logged = () => tabi.stderr().split("\n").filter((line) => / destination=127\.0\.0\.1:0 /.test(line));
    // A request's line is written as it ends, a moment after the client has its answer.
    for (let i = 0; i < 100 && logged().length < 3; i++) await new Promise((r) => setTimeout(r, 50));
    const lines = logged();
    assert.equal(lines.length, 3, tabi.stderr());
    for (const line of lines) assert.match(line, / outcome=not-allowed /);
  });
});
