import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { newAuditSite } from "../../lib/audit/audit_site.ts";
import type { DnsLookup } from "../../lib/audit/dns_responder.ts";
import type { AuditRequest } from "../../lib/audit/recording_proxy.ts";
import { judgeAudit } from "../../lib/audit/verdict.ts";

const site = newAuditSite();
const time = "2026-11-24T00:00:00.000Z";

function request(host: string, addressType: "domain" | "ipv4" | "ipv6"): AuditRequest {
  const address = addressType === "ipv6" ? `[${host}]:80` : `${host}:80`;
  return {
    time,
    version: "5",
    command: "connect",
    address,
    host,
    port: 80,
    addressType,
    method: "no-auth",
    userId: null,
    outcome: "page",
    error: null,
  };
}
const lookup = (name: string, type = "A"): DnsLookup => ({ time, name, type, answers: [] });

describe("judgeAudit", () => {
  it("the name reached the proxy, no lookup: no-leak", () => {
    const judged = judgeAudit({ site, requests: [request(site.host, "domain")], lookups: [], lookupsObserved: true });
    assert.equal(judged.verdict, "no-leak");
  });

  it("the name in another case, with the root dot: still the site", () => {
    const requests = [request(`${site.host.toUpperCase()}.`, "domain")];
    assert.equal(judgeAudit({ site, requests, lookups: [], lookupsObserved: true }).verdict, "no-leak");
  });

  for (const [type, host] of [["ipv4", site.ipv4], ["ipv6", site.ipv6]] as const) {
    it(`an ${type} the audit's DNS handed out arrived: dns-leak, naming the address`, () => {
      const judged = judgeAudit({
        site,
        requests: [request(host, type)],
        lookups: [lookup(site.host, type === "ipv4" ? "A" : "AAAA")],
        lookupsObserved: true,
      });
      assert.equal(judged.verdict, "dns-leak");
      assert.ok(judged.reasons[0].includes(host), judged.reasons[0]);
    });
  }

  it("the name was looked up, then sent by name anyway: dns-leak", () => {
    const judged = judgeAudit({
      site,
      requests: [request(site.host, "domain")],
      lookups: [lookup(site.host)],
      lookupsObserved: true,
    });
    assert.equal(judged.verdict, "dns-leak");
  });

  it("a lookup and no request: dns-leak (it resolved the name itself)", () => {
    const judged = judgeAudit({ site, requests: [], lookups: [lookup(site.host)], lookupsObserved: true });
    assert.equal(judged.verdict, "dns-leak");
    assert.match(judged.reasons[0], /no request/);
  });

  it("nothing at all: no-request; unobserved lookups are said", () => {
    assert.equal(judgeAudit({ site, requests: [], lookups: [], lookupsObserved: true }).reasons.length, 1);
    const blind = judgeAudit({ site, requests: [], lookups: [], lookupsObserved: false });
    assert.equal(blind.verdict, "no-request");
    assert.match(blind.reasons.join(" "), /could not be observed/);
  });

  it("requests, but none for the site, and an unrelated address: no-request", () => {
    const judged = judgeAudit({
      site,
      requests: [request("198.51.100.1", "ipv4")],
      lookups: [],
      lookupsObserved: true,
    });
    assert.equal(judged.verdict, "no-request");
    assert.match(judged.reasons[0], /never for the audit site/);
  });

  it("other names resolved locally are named, and do not change the verdict", () => {
    const judged = judgeAudit({
      site,
      requests: [request(site.host, "domain")],
      lookups: [lookup("background.example"), lookup("background.example", "AAAA")],
      lookupsObserved: true,
    });
    assert.equal(judged.verdict, "no-leak");
    assert.match(judged.reasons[1], /1 other name: background\.example/);
  });
});
