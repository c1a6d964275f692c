/**
 * The SOCKS fetch cases every proxy must pass (tabi's server, microsocks, Dante), run by fetch_test.ts and
 * fetch_interop_test.ts under each runtime.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createSocksFetch, runtimeName, socksCause, type SocksFetch } from "../../mod.ts";
import { network } from "../helpers/net.ts";
import { run } from "../helpers/process.ts";
import { payload } from "../helpers/targets.ts";
import {
  establishedOn,
  eventually,
  makePki,
  type Origin,
  ownListeningPorts,
  sha256,
  startOrigin,
  startTlsOrigin,
  type TestPki,
} from "./fetch_fixtures.ts";

/** A proxy under test, started by its suite. */
export interface ProxyUnderTest {
  /** Its URL with remote DNS (socks4a:// or socks5h://). */
  readonly proxy: string;
  /** Its URL with local DNS (socks4:// or socks5://). */
  readonly leakyProxy: string;
  /** Its port on 127.0.0.1. */
  readonly port: number;
  /** A chain of two proxies of different versions, this one among them. */
  readonly chain: readonly string[];
  /** A proxy that refuses `url(origin)` with SOCKS reply `reply` (SOCKS5 REP). */
  readonly refusing: { readonly proxy: string; readonly url: (originPort: number) => string; readonly reply: number };
  /** True when its log shows the destination `localhost:port` by name. */
  logShowsName(port: number): boolean;
  close(): Promise<void>;
}

const MiB = payload(1 << 20, 14) as Uint8Array<ArrayBuffer>;

/**
 * Whether this runtime's socksFetch runs its fetch through the in-process bridge (Bun, Node) or sends requests
 * with tabi's HTTP client over the tunnel and listens on nothing (Deno, whose proxied fetch looks names up here).
 */
export const usesBridge: boolean = runtimeName() !== "deno";

async function text(response: Response): Promise<string> {
  assert.equal(response.status, 200, `status ${response.status}`);
  return await response.text();
}

/** The cases, against the proxy `start` gives. */
export function fetchSuite(name: string, start: () => Promise<ProxyUnderTest>): void {
  describe(`SOCKS fetch through ${name}`, () => {
    let proxy: ProxyUnderTest;
    let origin: Origin;
    let tlsOrigin: Origin;
    let pki: TestPki;
    let fetch: SocksFetch;
    let baseline: Set<number>;
    let bridgePort = 0;
    before(async () => {
      pki = makePki();
      origin = await startOrigin();
      tlsOrigin = await startTlsOrigin(pki);
      proxy = await start();
      baseline = ownListeningPorts();
      fetch = createSocksFetch({ proxy: proxy.proxy, ca: pki.caPem });
    });
    after(async () => {
      await fetch?.close();
      await proxy?.close();
      await origin?.close();
      await tlsOrigin?.close();
    });

    it("GET by name and by IPv6 literal; the bridge is one new 127.0.0.1 port (Deno: none, no bridge)", async () => {
      assert.equal(await text(await fetch(`http://localhost:${origin.port}/hello`)), "hello from /hello");
      assert.equal(await text(await fetch(`http://[::1]:${origin.port}/v6`)), "hello from /v6");
      const fresh = [...ownListeningPorts()].filter((p) => !baseline.has(p));
      assert.equal(fresh.length, usesBridge ? 1 : 0, `new listening ports: ${fresh.join(", ")}`);
      bridgePort = fresh[0] ?? 0;
    });

    it("POST of 1 MiB by name and by IPv6 literal arrives whole (SHA-256)", async () => {
      for (const host of ["localhost", "[::1]"]) {
        const response = await fetch(`http://${host}:${origin.port}/sum`, { method: "POST", body: MiB });
        assert.deepEqual(JSON.parse(await text(response)), { bytes: MiB.length, sha256: sha256(MiB) });
      }
    });

    it("a Request object, and a request body streamed in 64 KiB chunks", async () => {
      const request = new Request(`http://localhost:${origin.port}/sum`, { method: "POST", body: MiB });
      assert.deepEqual(JSON.parse(await text(await fetch(request))), { bytes: MiB.length, sha256: sha256(MiB) });
      let at = 0;
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (at >= MiB.length) return controller.close();
          controller.enqueue(MiB.slice(at, at += 65_536));
        },
      });
      const init = { method: "POST", body, duplex: "half" } as RequestInit;
      const response = await fetch(`http://[::1]:${origin.port}/sum`, init);
      assert.deepEqual(JSON.parse(await text(response)), { bytes: MiB.length, sha256: sha256(MiB) });
    });

    it("HTTPS with the private CA given as `ca`; without it, a rejection", async () => {
      assert.equal(await text(await fetch(`https://localhost:${tlsOrigin.port}/secure`)), "hello from /secure");
      const response = await fetch(`https://localhost:${tlsOrigin.port}/sum`, { method: "POST", body: MiB });
      assert.deepEqual(JSON.parse(await text(response)), { bytes: MiB.length, sha256: sha256(MiB) });
      await using plain = createSocksFetch({ proxy: proxy.proxy });
      const error = await plain(`https://localhost:${tlsOrigin.port}/secure`).then(
        (r) => assert.fail(`no rejection: ${r.status}`),
        (e) => e,
      );
      assert.ok(error instanceof Error);
      assert.equal(socksCause(error), undefined, "a certificate failure is not the proxy's");
    });

    it("a redirect is followed", async () => {
      const response = await fetch(`http://localhost:${origin.port}/redirect`);
      assert.equal(await text(response), "hello from /hello");
      assert.equal(response.redirected, true);
      assert.equal(response.url, `http://localhost:${origin.port}/hello`);
    });

    it("404, and the origin's own 502, are Responses", async () => {
      const response = await fetch(`http://localhost:${origin.port}/missing`);
      assert.ok(response instanceof Response);
      assert.equal(response.status, 404);
      assert.equal(await response.text(), "no such page");
      const own502 = await fetch(`http://localhost:${origin.port}/bad-gateway`);
      assert.equal(own502.status, 502);
      assert.equal(await own502.text(), "the origin's own 502");
    });

    it("20 fetches at once", async () => {
      const all = await Promise.all(
        Array.from({ length: 20 }, (_, i) => fetch(`http://localhost:${origin.port}/n${i}`).then(text)),
      );
      assert.deepEqual(all, Array.from({ length: 20 }, (_, i) => `hello from /n${i}`));
    });

    it("a chain of two proxies of different versions", async () => {
      await using chained = createSocksFetch({ proxy: proxy.chain, ca: pki.caPem });
      assert.equal(await text(await chained(`http://localhost:${origin.port}/chain`)), "hello from /chain");
      assert.equal(await text(await chained(`https://localhost:${tlsOrigin.port}/chain`)), "hello from /chain");
    });

    it("a proxy that refuses: the rejection's cause names its reply", async () => {
      await using refused = createSocksFetch({ proxy: proxy.refusing.proxy });
      const error = await refused(proxy.refusing.url(origin.port)).then(
        (r) => assert.fail(`no rejection: ${r.status}`),
        (e) => e,
      );
      assert.ok(error instanceof TypeError, String(error));
      assert.equal(socksCause(error)?.reply, proxy.refusing.reply, String(socksCause(error)));
    });

    it("socks4:// and socks5:// with a name: dns-leak, before any socket opens", async () => {
      const before = ownListeningPorts();
      const connections = establishedOn(proxy.port);
      for (const leaky of [proxy.leakyProxy, proxy.leakyProxy.replace(/^socks5?/, "socks4")]) {
        await using leakyFetch = createSocksFetch({ proxy: leaky });
        const error = await leakyFetch(`http://localhost:${origin.port}/leak`).catch((e) => e);
        assert.equal(socksCause(error)?.code, "dns-leak", String(error));
      }
      assert.deepEqual(ownListeningPorts(), before);
      assert.ok(establishedOn(proxy.port) <= connections);
    });

    it("an aborted fetch leaves no connection open on the proxy", async () => {
      const drip = await startOrigin();
      try {
        await using aborting = createSocksFetch({ proxy: proxy.proxy });
        const controller = new AbortController();
        const response = await aborting(`http://localhost:${drip.port}/drip`, { signal: controller.signal });
        const reader = (response.body as ReadableStream<Uint8Array>).getReader();
        assert.equal(new TextDecoder().decode((await reader.read()).value), "first\n");
        assert.ok(establishedOn(drip.port) > 0);
        controller.abort();
        await assert.rejects(async () => {
          for (;;) if ((await reader.read()).done) break;
        });
        assert.ok(await eventually(() => establishedOn(drip.port) === 0), "the proxy kept its connection open");
        // The origin notices the proxy's close at its next write (every 100 ms): wait for it, as for the proxy.
        assert.ok(await eventually(() => drip.openConnections() === 0), "the origin kept its connection open");
      } finally {
        await drip.close();
      }
    });

    it("another local client without the secret gets 407 from the bridge (Deno: nothing listens)", async () => {
      if (!usesBridge) {
        // No bridge: after all the fetches above, this process listens on no new port another client could use.
        assert.deepEqual(ownListeningPorts(), baseline);
        return;
      }
      assert.ok(bridgePort > 0);
      const target = `http://localhost:${origin.port}/hello`;
      for (const extra of [[], ["-U", "someone:guess"]]) {
        const plain = await run("curl", [
          "-s",
          "-o",
          "/dev/null",
          "-w",
          "%{http_code}",
          ...extra,
          "-x",
          `http://127.0.0.1:${bridgePort}`,
          target,
        ]);
        assert.equal(new TextDecoder().decode(plain.stdout), "407");
        const tunnel = await run("curl", [
          "-s",
          "-p",
          "-o",
          "/dev/null",
          "-w",
          "%{http_connect}",
          ...extra,
          "-x",
          `http://127.0.0.1:${bridgePort}`,
          target,
        ]);
        assert.equal(new TextDecoder().decode(tunnel.stdout), "407");
      }
    });

    it("after close(): calls reject, the bridge port refuses connections, nothing is left open", async () => {
      await fetch.close();
      const error = await fetch(`http://localhost:${origin.port}/hello`).catch((e) => e);
      assert.equal(socksCause(error)?.code, "closed");
      if (usesBridge) await assert.rejects(network.connect({ hostname: "127.0.0.1", port: bridgePort }));
      assert.deepEqual(ownListeningPorts(), baseline);
      assert.ok(await eventually(() => establishedOn(proxy.port) === 0), "connections to the proxy stayed open");
      assert.ok(await eventually(() => origin.openConnections() === 0 && tlsOrigin.openConnections() === 0));
    });
    it("the proxy's log shows the destination by name, never resolved here", () => {
      assert.ok(proxy.logShowsName(origin.port));
    });
  });
}
