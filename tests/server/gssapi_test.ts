import assert from "node:assert/strict";
import process from "node:process";
import { after, before, describe, it } from "node:test";
import { runtimeName } from "../../lib/runtime/detect.ts";
import { encodeGssApiMessage } from "../../lib/wire/gssapi.ts";
import { decodeSocks5MethodSelection, encodeSocks5Greeting } from "../../lib/wire/socks5_greeting.ts";
import { concat } from "../helpers/bytes.ts";
import { type Realm, startRealm } from "../helpers/kdc.ts";
import { echoServer, rawClient } from "../helpers/net.ts";
import { cliCommand, requireTool, run } from "../helpers/process.ts";
import { requirePeer } from "../helpers/peers.ts";
import { startTabiServe } from "../helpers/tabi_serve.ts";
import { tcpTap } from "../helpers/tcp_tap.ts";
import { spawn } from "node:child_process";
import { join } from "node:path";

const encoder = new TextEncoder();
const SECRET = encoder.encode("the-plaintext-marker-0123456789");

function contains(haystack: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

describe("GSS-API (RFC 1961) with a throwaway MIT Kerberos realm", () => {
  let realm: Realm;
  let echo: Awaited<ReturnType<typeof echoServer>>;
  before(async () => {
    realm = await startRealm();
    echo = await echoServer();
  });
  after(async () => {
    await echo?.close();
    await realm?.stop();
  });

  /** `tabi serve --gssapi` as a child process (its environment points at the realm), with a tap in front of it. */
  const gssServe = async (...extra: string[]) => {
    const serve = await startTabiServe(runtimeName(), ["--listen", "127.0.0.1:0", "--gssapi", ...extra]);
    const port = Number(serve.proxy.split(":").at(-1));
    const tap = await tcpTap({ hostname: "127.0.0.1", port });
    return {
      serve,
      port,
      tap,
      /** Waits until the log has a line matching `pattern`, and answers it. */
      async logLine(pattern: RegExp): Promise<string> {
        const deadline = Date.now() + 5_000;
        while (!pattern.test(serve.stderr()) && Date.now() < deadline) {
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        return serve.stderr().split("\n").find((line) => pattern.test(line)) ?? serve.stderr();
      },
      async stop() {
        await tap.close();
        serve.kill("SIGKILL");
        await serve.exited;
      },
    };
  };

  /** `tabi connect --gssapi ARGS` through `port` to the echo server, SECRET on stdin. */
  const connectCli = (port: number, args: string[] = [], env: Record<string, string> = {}) => {
    const [command, prefix] = cliCommand();
    return run(command, [
      ...prefix,
      "connect",
      "--gssapi",
      ...args,
      "--proxy",
      `socks5h://localhost:${port}`,
      "127.0.0.1",
      String(echo.address.port),
    ], { input: SECRET, timeoutMs: 30_000, env });
  };

  it("confidentiality (the default): request, reply and data are wrapped; no plaintext crosses the wire", async () => {
    const server = await gssServe("--gssapi-keytab", realm.keytab);
    try {
      const result = await connectCli(server.tap.address.port);
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(result.stdout, SECRET);
      const line = await server.logLine(/outcome=ok/);
      assert.match(line, /user=alice@TEST\.REALM command=connect destination=127\.0\.0\.1:[0-9]+ .*outcome=ok/);
      const up = server.tap.upstream();
      assert.ok(up.length > SECRET.length, "nothing went through the tap");
      assert.ok(!contains(up, SECRET), "the plaintext went to the proxy in the clear");
      assert.ok(!contains(server.tap.downstream(), SECRET), "the plaintext came back in the clear");
      // Not even the request is visible: 127.0.0.1 as SOCKS5 address bytes.
      assert.ok(!contains(up, new Uint8Array([1, 127, 0, 0, 1])));
    } finally {
      await server.stop();
    }
  });

  it("integrity is wrapped but readable; none (what curl can do) is the plain relay; the server can cap it", async () => {
    const server = await gssServe("--gssapi-keytab", realm.keytab);
    try {
      const integrity = await connectCli(server.tap.address.port, ["--gssapi-protection", "integrity"]);
      assert.equal(integrity.code, 0, integrity.stderr);
      assert.deepEqual(integrity.stdout, SECRET);
      // gss_wrap without confidentiality carries the data in the clear with a checksum: the tap can read it.
      assert.ok(contains(server.tap.upstream(), SECRET));
      // NEC's variant (the level travels bare, as curl's --socks5-gssapi-nec sends it): the server answers in kind,
      // and confidentiality still hides the data.
      const before = server.tap.upstream().length;
      const nec = await connectCli(server.tap.address.port, ["--gssapi-nec"]);
      assert.equal(nec.code, 0, nec.stderr);
      assert.deepEqual(nec.stdout, SECRET);
      assert.ok(!contains(server.tap.upstream().subarray(before), SECRET));
    } finally {
      await server.stop();
    }
    const capped = await gssServe("--gssapi-keytab", realm.keytab, "--gssapi-protection", "none");
    try {
      // The client asks for confidentiality; the server grants none, and the request goes in the clear.
      const result = await connectCli(capped.tap.address.port);
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(result.stdout, SECRET);
      assert.ok(contains(capped.tap.upstream(), new Uint8Array([5, 1, 0, 1, 127, 0, 0, 1])));
      assert.match(await capped.logLine(/outcome=ok/), /user=alice@TEST\.REALM/);
    } finally {
      await capped.stop();
    }
  });

  it("refuses a client without a ticket, and a server whose key is stale refuses with an abort", async () => {
    const server = await gssServe("--gssapi-keytab", realm.keytab);
    try {
      const result = await connectCli(server.port, [], { KRB5CCNAME: realm.emptyCcache });
      assert.equal(result.code, 1);
      assert.match(result.stderr, /gss_init_sec_context failed: .*No Kerberos credentials available/);
      assert.equal(result.stdout.length, 0);
    } finally {
      await server.stop();
    }
    const stale = await gssServe("--gssapi-keytab", realm.staleKeytab);
    try {
      const result = await connectCli(stale.port);
      assert.equal(result.code, 1);
      assert.match(result.stderr, /refused the GSS-API authentication \(abort message\)/);
      assert.match(await stale.logLine(/outcome=auth-failed/), /kvno [0-9]+ not found in keytab/);
    } finally {
      await stale.stop();
    }
  });

  it("without --gssapi-keytab, the acceptor's keytab comes from KRB5_KTNAME", async () => {
    const saved = process.env.KRB5_KTNAME;
    process.env.KRB5_KTNAME = `FILE:${realm.keytab}`;
    let server;
    try {
      server = await gssServe();
    } finally {
      if (saved === undefined) delete process.env.KRB5_KTNAME;
      else process.env.KRB5_KTNAME = saved;
    }
    try {
      const result = await connectCli(server.port);
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(result.stdout, SECRET);
    } finally {
      await server.stop();
    }
  });

  it("answers a forged context token with the abort message 01 FF", async () => {
    const server = await gssServe("--gssapi-keytab", realm.keytab);
    try {
      const client = await rawClient({ hostname: "127.0.0.1", port: server.port });
      await client.send(concat(
        encodeSocks5Greeting({ methods: [1] }),
        encodeGssApiMessage({ type: 1, token: encoder.encode("not a kerberos token") }),
      ));
      assert.equal((await client.reader.read(decodeSocks5MethodSelection)).method, 1);
      assert.deepEqual([...await client.readToEnd()], [1, 0xff]);
      assert.match(await server.logLine(/outcome=auth-failed/), /gss_accept_sec_context failed/);
    } finally {
      await server.stop();
    }
  });

  it("tabi serve --gssapi with a missing keytab stops at start with a clear error", async () => {
    const [command, prefix] = cliCommand();
    const result = await run(command, [
      ...prefix,
      "serve",
      "--listen",
      "127.0.0.1:0",
      "--gssapi",
      "--gssapi-keytab",
      `${realm.dir}/missing.keytab`,
    ], { timeoutMs: 30_000 });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /GSS-API .*keytab.*missing\.keytab is nonexistent or empty/);
  });

  for (const variant of ["--socks5-gssapi", "--socks5-gssapi-nec"]) {
    it(`curl ${variant} completes RFC 1961 with tabi serve --gssapi (curl 7.88's own limits below)`, async () => {
      await requireTool("curl");
      const serve = await startTabiServe(runtimeName(), [
        "--listen",
        "127.0.0.1:0",
        "--gssapi",
        "--gssapi-keytab",
        realm.keytab,
        "--gssapi-protection",
        "none",
      ]);
      // curl 7.88 (Debian 12) forgets that it offered GSS-API unless the method selection is already waiting on
      // its first read ("SOCKS5 GSSAPI per-message authentication is not supported"), whatever the server. A tap
      // in Python answers the greeting with 05 01 at accept time (tabi's own 05 01 is dropped); that wins curl's
      // race most of the time, so curl is run until one attempt gets past the method selection (at most 40).
      const port = serve.proxy.split(":").at(-1)!;
      const tap = spawn(requirePeer("python3"), [join("tests", "helpers", "greeting_tap.py"), port], {
        stdio: ["ignore", "pipe", "inherit"],
      });
      try {
        const tapPort = await new Promise<string>((resolve, reject) => {
          tap.stdout.once("data", (chunk: Uint8Array) => resolve(new TextDecoder().decode(chunk).trim()));
          tap.once("error", reject);
        });
        let result: Awaited<ReturnType<typeof run>> | undefined;
        for (let attempt = 0; attempt < 40; attempt++) {
          result = await run("curl", [
            "-v",
            "-sS",
            "--max-time",
            "20",
            variant,
            "--socks5-hostname",
            `localhost:${tapPort}`,
            `http://127.0.0.1:${echo.address.port}/`,
          ], { timeoutMs: 30_000 });
          if (!/per-message authentication is not supported/.test(result.stderr)) break;
        }
        assert.ok(result);
        assert.match(result.stderr, /SOCKS5 server authenticated user alice@TEST\.REALM with GSS-API/);
        assert.match(result.stderr, /SOCKS5 access without GSS-API data protection granted/);
        // curl 7.88 then gives up by itself, before sending its request: a bug of its state machine, whatever
        // the server (the GSS-API branch falls through to this error).
        assert.match(result.stderr, /Undocumented SOCKS5 mode attempted to be used by server/);
        const deadline = Date.now() + 5_000;
        while (!/user=alice@TEST\.REALM/.test(serve.stderr()) && Date.now() < deadline) {
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        assert.match(serve.stderr(), /version=socks5 user=alice@TEST\.REALM outcome=closed/);
      } finally {
        tap.kill("SIGKILL");
        serve.kill("SIGKILL");
        await serve.exited;
      }
    });
  }
});
