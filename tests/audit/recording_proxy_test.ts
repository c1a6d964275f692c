import assert from "node:assert/strict";
import dgram from "node:dgram";
import { after, before, describe, it } from "node:test";
import { startAudit } from "../../lib/audit/audit.ts";
import { newAuditSite } from "../../lib/audit/audit_site.ts";
import { startDnsResponder } from "../../lib/audit/dns_responder.ts";
import { type RecordingProxy, startRecordingProxy } from "../../lib/audit/recording_proxy.ts";
import { decodeSocks4Reply, encodeSocks4Request } from "../../lib/wire/socks4.ts";
import { decodeSocks5MethodSelection, encodeSocks5Greeting } from "../../lib/wire/socks5_greeting.ts";
import { decodeSocks5Reply, encodeSocks5Request } from "../../lib/wire/socks5_request.ts";
import { decodeUserPassReply, encodeUserPassRequest } from "../../lib/wire/userpass.ts";
import { concat, hexBytes } from "../helpers/bytes.ts";
import { echoServer, network, rawClient, socks5Connect } from "../helpers/net.ts";

const site = newAuditSite();
const name = (host: string, port: number) => ({ address: { type: "domain" as const, host }, port });

/** Reads until the peer closes and returns the text. */
async function textToEnd(client: Awaited<ReturnType<typeof rawClient>>): Promise<string> {
  return new TextDecoder().decode(await client.readToEnd());
}

/** Waits until the proxy has recorded `n` requests. */
async function recorded(proxy: RecordingProxy, n: number) {
  while (proxy.requests.length < n) await new Promise((resolve) => setTimeout(resolve, 10));
  return proxy.requests[n - 1];
}

describe("the audit's recording proxy", () => {
  let proxy: RecordingProxy;
  let echo: Awaited<ReturnType<typeof echoServer>>;
  before(async () => {
    proxy = await startRecordingProxy(network, site);
    echo = await echoServer();
  });
  after(async () => {
    echo.close();
    await proxy.close();
  });

  it("SOCKS5 by name to the site: the page is served; recorded as domain, no-auth", async () => {
    const { client, reply } = await socks5Connect(proxy.address, name(site.host, 80));
    assert.equal(reply.reply, 0);
    await client.send(new TextEncoder().encode(`GET / HTTP/1.1\r\nHost: ${site.host}\r\n\r\n`));
    const page = await textToEnd(client);
    assert.match(page, /^HTTP\/1\.1 200 OK\r\n[\s\S]*tabi audit/);
    client.close();
    const r = await recorded(proxy, 1);
    assert.deepEqual(
      { version: r.version, addressType: r.addressType, host: r.host, method: r.method, outcome: r.outcome },
      { version: "5", addressType: "domain", host: site.host, method: "no-auth", outcome: "page" },
    );
  });

  it("SOCKS4 to the site's address with a USERID: page, the USERID recorded", async () => {
    const client = await rawClient(proxy.address);
    const destination = { address: { type: "ipv4" as const, host: site.ipv4 }, port: 80 };
    await client.send(concat(
      encodeSocks4Request({ command: 1, destination, userId: "jdoe" }),
      new TextEncoder().encode("GET / HTTP/1.0\r\n\r\n"),
    ));
    assert.equal((await client.reader.read(decodeSocks4Reply)).reply, 90);
    assert.match(await textToEnd(client), /200 OK/);
    client.close();
    const r = await recorded(proxy, 2);
    assert.equal(r.version, "4");
    assert.equal(r.method, "userid");
    assert.equal(r.userId, "jdoe");
    assert.equal(r.addressType, "ipv4");
    assert.equal(r.outcome, "page");
  });

  it("SOCKS5 username/password: the username is recorded, never the password", async () => {
    const client = await rawClient(proxy.address);
    await client.send(encodeSocks5Greeting({ methods: [0, 2] }));
    assert.equal((await client.reader.read(decodeSocks5MethodSelection)).method, 2);
    await client.send(concat(
      encodeUserPassRequest({ username: "site-1", password: "hunter2" }),
      encodeSocks5Request({ command: 1, destination: name(site.host, 80) }),
    ));
    assert.equal((await client.reader.read(decodeUserPassReply)).status, 0);
    assert.equal((await client.reader.read(decodeSocks5Reply)).reply, 0);
    client.close();
    const r = await recorded(proxy, 3);
    assert.equal(r.method, "username-password");
    assert.equal(r.userId, "site-1");
    assert.ok(!JSON.stringify(proxy.requests).includes("hunter2"));
  });

  it("any other destination is refused and recorded, even one that listens on this machine", async () => {
    const destination = { address: { type: "ipv4" as const, host: "127.0.0.1" }, port: echo.address.port };
    const { client, reply } = await socks5Connect(proxy.address, destination);
    assert.notEqual(reply.reply, 0);
    client.close();
    const r = await recorded(proxy, 4);
    assert.equal(r.address, `127.0.0.1:${echo.address.port}`);
    assert.notEqual(r.outcome, "page");
    assert.equal(echo.accepted.length, 0, "nothing was forwarded");
  });

  it("BIND and UDP ASSOCIATE are refused", async () => {
    for (const command of [2, 3] as const) {
      const client = await rawClient(proxy.address);
      await client.send(concat(
        encodeSocks5Greeting({ methods: [0] }),
        encodeSocks5Request({ command, destination: { address: { type: "ipv4", host: "0.0.0.0" }, port: 0 } }),
      ));
      await client.reader.read(decodeSocks5MethodSelection);
      assert.notEqual((await client.reader.read(decodeSocks5Reply)).reply, 0);
      client.close();
    }
  });

  it("something that is not SOCKS is recorded as such", async () => {
    const client = await rawClient(proxy.address);
    await client.send(new TextEncoder().encode(`CONNECT ${site.host}:443 HTTP/1.1\r\n\r\n`));
    await client.readToEnd();
    const r = await recorded(proxy, 7);
    assert.equal(r.version, null);
    assert.equal(r.outcome, "unsupported");
  });
});

describe("the audit's DNS responder", () => {
  it("answers the site (A and AAAA), NXDOMAIN for other names, and records every question", async () => {
    const responder = await startDnsResponder(network, { hostname: "127.0.0.1", port: 0 }, site);
    const socket = dgram.createSocket("udp4");
    const ask = (id: number, qname: string, type: number) =>
      new Promise<Uint8Array>((resolve) => {
        socket.once("message", (message: Uint8Array) => resolve(message));
        const labels = qname.split(".").map((l) => concat(new Uint8Array([l.length]), new TextEncoder().encode(l)));
        const query = concat(
          new Uint8Array([id >> 8, id & 0xff, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]),
          ...labels,
          new Uint8Array([0, 0, type, 0, 1]),
        );
        socket.send(query, responder.address.port, "127.0.0.1");
      });
    try {
      const a = await ask(1, site.host, 1);
      assert.equal(a[3] & 0xf, 0);
      assert.deepEqual([...a.subarray(-4)], site.ipv4.split(".").map(Number));
      const aaaa = await ask(2, site.host.toUpperCase(), 28);
      assert.equal(new DataView(aaaa.buffer, aaaa.byteOffset).getUint16(6), 1, "one answer");
      const other = await ask(3, "example.org", 1);
      assert.equal(other[3] & 0xf, 3, "NXDOMAIN");
      assert.deepEqual(
        responder.lookups.map((l) => [l.name, l.type, l.answers]),
        [[site.host, "A", [site.ipv4]], [site.host.toUpperCase(), "AAAA", [site.ipv6]], ["example.org", "A", []]],
      );
      socket.send(hexBytes("00 01 02"), responder.address.port, "127.0.0.1");
    } finally {
      socket.close();
      responder.close();
    }
  });
});

describe("an audit's session", () => {
  it("substitutes {socks} and {url}, and reports no-request when nothing came", async () => {
    const audit = await startAudit({ network, dns: { hostname: "127.0.0.1", port: 0 } });
    assert.equal(audit.substitute("x={socks};y={url}"), `x=${audit.proxy};y=${audit.site.url}`);
    const report = await audit.finish({ command: ["true"], exitCode: 0, signal: null, timedOut: false });
    assert.equal(report.verdict, "no-request");
    assert.equal(report.lookupsObserved, true);
  });
});
