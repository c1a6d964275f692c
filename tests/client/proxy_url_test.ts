import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { noProxyMatches, proxyFromEnv } from "../../lib/client/env.ts";
import { formatProxy, parseProxyUrl } from "../../lib/client/proxy_url.ts";
import { SocksError } from "../../lib/wire/socks_error.ts";

describe("proxy URLs", () => {
  it("reads every scheme, with curl's meaning of where names are resolved", () => {
    const cases: [string, 4 | 5 | "http", boolean][] = [
      ["http://127.0.0.1", "http", true],
      ["socks4://127.0.0.1", 4, false],
      ["socks4a://127.0.0.1", 4, true],
      ["socks5://127.0.0.1", 5, false],
      ["socks5h://127.0.0.1", 5, true],
      ["socks://127.0.0.1", 5, true],
    ];
    for (const [url, version, remoteDns] of cases) {
      const proxy = parseProxyUrl(url);
      assert.equal(proxy.version, version, url);
      assert.equal(proxy.remoteDns, remoteDns, url);
      assert.equal(proxy.port, 1080);
    }
  });
  it("decodes user:pass@, IPv6 literals and ports", () => {
    assert.deepEqual(parseProxyUrl("socks5h://us%3Aer:p%40ss%2Fw@[2001:DB8::1]:9050"), {
      version: 5,
      remoteDns: true,
      address: { type: "ipv6", host: "2001:db8::1" },
      port: 9050,
      username: "us:er",
      password: "p@ss/w",
    });
    assert.deepEqual(parseProxyUrl("socks4a://Fred@proxy.local:1081").username, "Fred");
    assert.equal(formatProxy(parseProxyUrl("socks5h://a:b@[::1]:1")), "socks5h://a@[::1]:1");
  });
  it("http:// keeps an explicit :80 (which URL drops) and credentials", () => {
    assert.equal(parseProxyUrl("http://proxy.local:80").port, 80);
    assert.equal(parseProxyUrl("http://proxy.local:8080/").port, 8080);
    assert.deepEqual(parseProxyUrl("http://u:p%3A@[::1]:3128"), {
      version: "http",
      remoteDns: true,
      address: { type: "ipv6", host: "::1" },
      port: 3128,
      username: "u",
      password: "p:",
    });
    assert.equal(formatProxy(parseProxyUrl("http://u:p@127.0.0.1:3128")), "http://u@127.0.0.1:3128");
  });
  it("reads TLS proxies: https:// (HTTP CONNECT inside TLS) and a SOCKS scheme with +tls (gost's names)", () => {
    const localhost = { type: "domain", host: "localhost" } as const;
    assert.deepEqual(parseProxyUrl("https://u:p@localhost:443"), {
      version: "http",
      remoteDns: true,
      address: localhost,
      port: 443,
      username: "u",
      password: "p",
      tls: true,
    });
    assert.deepEqual(parseProxyUrl("http+tls://localhost"), parseProxyUrl("https://localhost:1080"));
    assert.deepEqual(parseProxyUrl("socks5h+tls://[::1]:9"), {
      version: 5,
      remoteDns: true,
      address: { type: "ipv6", host: "::1" },
      port: 9,
      tls: true,
    });
    assert.equal(parseProxyUrl("socks5+tls://localhost").remoteDns, false);
    assert.equal(parseProxyUrl("socks4a+tls://localhost").version, 4);
    assert.equal(formatProxy(parseProxyUrl("socks+tls://localhost")), "socks5h+tls://localhost:1080");
    assert.equal(formatProxy(parseProxyUrl("https://localhost")), "https://localhost:1080");
    // Plain URLs stay as they were: no tls field.
    assert.equal("tls" in parseProxyUrl("socks5h://localhost"), false);
  });
  const bad: [string, RegExp][] = [
    ["127.0.0.1:1080", /unknown scheme|not a URL/],
    ["ftp://127.0.0.1:8080", /unknown scheme "ftp"/],
    ["socks5://", /no host|not a URL/],
    ["socks5://host:99999", /not a URL|port/],
    ["httpss://127.0.0.1:8080", /unknown scheme "httpss"/],
    ["socks6+tls://127.0.0.1:8080", /unknown scheme "socks6\+tls"/],
    ["https+tls://127.0.0.1:8080", /unknown scheme "https\+tls"/],
    ["socks5://host/path", /unexpected path/],
    ["socks5://host?x=1", /unexpected query/],
    ["socks4://u:p@host", /SOCKS4 has a USERID but no password/],
    ["socks5://[::g]", /not a URL|IPv6/],
    ["socks5://u:%zz@host", /bad percent-escape/],
  ];
  for (const [url, message] of bad) {
    it(`rejects ${url}`, () => {
      assert.throws(
        () => parseProxyUrl(url),
        (e) => e instanceof SocksError && e.code === "bad-url" && message.test(e.message),
      );
    });
  }
  it("never puts the password in an error", () => {
    assert.throws(
      () => parseProxyUrl("socks5://user:hunter2@host/x"),
      (e) => e instanceof Error && !e.message.includes("hunter2"),
    );
  });
});

describe("ALL_PROXY and NO_PROXY", () => {
  const env = (vars: Record<string, string>) => (name: string) => vars[name];
  it("uses ALL_PROXY, lowercase first", () => {
    assert.equal(proxyFromEnv("https://a.example/", env({ ALL_PROXY: "socks5h://1.1.1.1" })), "socks5h://1.1.1.1");
    assert.equal(proxyFromEnv("a:1", env({ ALL_PROXY: "socks5h://up", all_proxy: "socks5h://low" })), "socks5h://low");
    assert.equal(proxyFromEnv("a:1", env({})), undefined);
  });
  it("NO_PROXY: names and their subdomains, .suffix, *, IPs, CIDR, IPv6", () => {
    const list = "localhost, .internal,example.com ,10.0.0.0/8,192.168.1.5,::1";
    for (
      const host of [
        "localhost",
        "db.internal",
        "example.com",
        "www.example.com",
        "10.2.3.4",
        "192.168.1.5",
        "[::1]",
        "::1",
      ]
    ) {
      assert.ok(noProxyMatches(list, host), host);
    }
    for (const host of ["notexample.com", "internal.com", "11.0.0.1", "192.168.1.6", "::2", "example.org"]) {
      assert.ok(!noProxyMatches(list, host), host);
    }
    assert.ok(noProxyMatches("*", "anything"));
    assert.equal(
      proxyFromEnv("ssh://10.9.9.9:22", env({ ALL_PROXY: "socks5h://p", NO_PROXY: "10.0.0.0/8" })),
      undefined,
    );
  });
});
