/** Access rules: validation that names the rule, first-match decisions on every condition, range-only openings. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decide, explicitlyAllows, type RequestFacts, type Rule, validateRules } from "../../lib/server/rules.ts";
import { SocksError } from "../../lib/wire/socks_error.ts";

/** A SOCKS5 CONNECT from 127.0.0.1 to www.example.com:443, the name not resolved yet; override what a case needs. */
const facts = (overrides: Partial<RequestFacts> = {}): RequestFacts => ({
  client: "127.0.0.1",
  version: 5,
  user: undefined,
  command: "connect",
  destinationName: "www.example.com",
  destinationAddresses: undefined,
  port: 443,
  ...overrides,
});

const allow: Rule = { action: "allow" };

describe("validateRules", () => {
  it("accepts a well-formed list", () => {
    validateRules([
      {
        action: "allow",
        clients: ["10.0.0.0/8", "::1"],
        destinations: ["192.0.2.0/24", "*.example.com", "example.org", "2001:db8::/32"],
        ports: ["443", "1000-2000", "0-65535"],
        users: ["alice"],
        commands: ["connect", "bind", "udp-associate", "resolve", "resolve-ptr"],
        versions: [4, 5],
      },
      { action: "deny" },
    ]);
  });

  for (
    const [label, rule, expected] of [
      ["an unknown action", { action: "maybe" }, /rule 2: action/],
      ["a bad client range", { action: "allow", clients: ["10.0.0.0/40"] }, /rule 2: clients: .*10\.0\.0\.0\/40/],
      ["a port above 65535", { action: "allow", ports: ["70000"] }, /rule 2: ports: bad port range "70000"/],
      ["a reversed port range", { action: "allow", ports: ["2000-1000"] }, /rule 2: ports: bad port range "2000-1000"/],
      ["an open port range", { action: "allow", ports: ["80-"] }, /rule 2: ports: bad port range "80-"/],
      ["an unknown command", { action: "allow", commands: ["ping"] }, /rule 2: commands: unknown command "ping"/],
      ["an unknown version", { action: "allow", versions: [6] }, /rule 2: "versions" must be an array of 4 and 5/],
      ["an empty destination", { action: "allow", destinations: [""] }, /rule 2: destinations: bad destination ""/],
    ] as const
  ) {
    it(`refuses ${label}, naming the rule`, () => {
      assert.throws(
        () => validateRules([allow, rule as unknown as Rule]),
        (error: unknown) => error instanceof SocksError && error.code === "bad-field" && expected.test(error.message),
      );
    });
  }

  it("refuses a bad destination range", () => {
    assert.throws(() => validateRules([{ action: "deny", destinations: ["192.0.2.0/33"] }]), SocksError);
  });
});

describe("decide", () => {
  it("allows everything with no rules; denies what no rule matches", () => {
    assert.equal(decide([], facts()), "allow");
    assert.equal(decide([{ action: "allow", ports: ["80"] }], facts()), "deny");
  });

  it("takes the first rule that matches, in order", () => {
    assert.equal(decide([{ action: "deny" }, allow], facts()), "deny");
    assert.equal(decide([allow, { action: "deny" }], facts()), "allow");
    assert.equal(decide([{ action: "deny", ports: ["80"] }, allow], facts()), "allow");
  });

  it("destination names: exact (case and trailing dot ignored) and *.suffix (subdomains, not the suffix itself)", () => {
    const rules: Rule[] = [{ action: "deny", destinations: ["*.example.com", "Example.ORG"] }, allow];
    assert.equal(decide(rules, facts({ destinationName: "www.example.com" })), "deny");
    assert.equal(decide(rules, facts({ destinationName: "a.b.EXAMPLE.com." })), "deny");
    assert.equal(decide(rules, facts({ destinationName: "example.com" })), "allow");
    assert.equal(decide(rules, facts({ destinationName: "notexample.com" })), "allow");
    assert.equal(decide(rules, facts({ destinationName: "example.org." })), "deny");
    assert.equal(decide(rules, facts({ destinationName: "www.example.org" })), "allow");
  });

  it("a name pattern does not match a request made by address", () => {
    const rules: Rule[] = [{ action: "deny", destinations: ["*.example.com"] }, allow];
    assert.equal(decide(rules, facts({ destinationName: undefined, destinationAddresses: ["192.0.2.1"] })), "allow");
  });

  it("destination ranges: asks for the addresses of a name not resolved yet, then decides on them", () => {
    const rules: Rule[] = [{ action: "deny", destinations: ["192.0.2.0/24"] }, allow];
    assert.equal(decide(rules, facts()), "need-addresses");
    assert.equal(decide(rules, facts({ destinationAddresses: ["198.51.100.1", "192.0.2.9"] })), "deny");
    assert.equal(decide(rules, facts({ destinationAddresses: ["198.51.100.1"] })), "allow");
    assert.equal(
      decide(rules, facts({ destinationName: undefined, destinationAddresses: ["::ffff:192.0.2.1"] })),
      "deny",
    );
  });

  it("a name pattern that matches decides without the addresses, even beside a range", () => {
    const rules: Rule[] = [{ action: "deny", destinations: ["192.0.2.0/24", "www.example.com"] }, allow];
    assert.equal(decide(rules, facts()), "deny");
  });

  it("an earlier rule that does not depend on addresses decides before a range rule is reached", () => {
    const rules: Rule[] = [{ action: "allow", users: ["alice"] }, { action: "deny", destinations: ["10.0.0.0/8"] }];
    assert.equal(decide(rules, facts({ user: "alice" })), "allow");
    assert.equal(decide(rules, facts({ user: "bob" })), "need-addresses");
  });

  it("clients, ports, users, commands and versions each narrow a rule", () => {
    const only = (rule: Omit<Rule, "action">): Rule[] => [{ action: "allow", ...rule }];
    assert.equal(decide(only({ clients: ["127.0.0.0/8"] }), facts()), "allow");
    assert.equal(decide(only({ clients: ["10.0.0.0/8"] }), facts()), "deny");
    assert.equal(decide(only({ clients: ["127.0.0.1"] }), facts({ client: "::ffff:127.0.0.1" })), "allow");
    assert.equal(decide(only({ ports: ["400-500"] }), facts()), "allow");
    assert.equal(decide(only({ ports: ["400-442", "444"] }), facts()), "deny");
    assert.equal(decide(only({ users: ["alice"] }), facts({ user: "alice" })), "allow");
    assert.equal(decide(only({ users: ["alice"] }), facts({ user: "Alice" })), "deny");
    assert.equal(decide(only({ users: ["alice"] }), facts()), "deny");
    assert.equal(decide(only({ commands: ["bind"] }), facts()), "deny");
    assert.equal(decide(only({ commands: ["bind", "connect"] }), facts()), "allow");
    assert.equal(decide(only({ versions: [4] }), facts()), "deny");
    assert.equal(decide(only({ versions: [4] }), facts({ version: 4 })), "allow");
  });

  it("every condition of a rule must hold", () => {
    const rules: Rule[] = [{ action: "allow", users: ["alice"], ports: ["443"], commands: ["connect"] }];
    assert.equal(decide(rules, facts({ user: "alice" })), "allow");
    assert.equal(decide(rules, facts({ user: "alice", port: 80 })), "deny");
    assert.equal(decide(rules, facts({ user: "alice", command: "bind" })), "deny");
  });
});

describe("explicitlyAllows", () => {
  const loopback = facts({ destinationName: undefined, destinationAddresses: ["127.0.0.1"] });

  it("is true only for an allow rule that names a range holding the address", () => {
    assert.equal(explicitlyAllows([{ action: "allow", destinations: ["127.0.0.0/8"] }], loopback, "127.0.0.1"), true);
    assert.equal(explicitlyAllows([{ action: "allow", destinations: ["127.0.0.1"] }], loopback, "127.0.0.1"), true);
  });

  it("is false for a catch-all allow, a name, another range, or a deny that comes first", () => {
    assert.equal(explicitlyAllows([allow], loopback, "127.0.0.1"), false);
    const byName = facts({ destinationName: "localhost" });
    assert.equal(explicitlyAllows([{ action: "allow", destinations: ["localhost"] }], byName, "127.0.0.1"), false);
    assert.equal(
      explicitlyAllows([{ action: "allow", destinations: ["10.0.0.0/8"] }, allow], loopback, "127.0.0.1"),
      false,
    );
    const denyFirst: Rule[] = [{ action: "deny", ports: ["443"] }, { action: "allow", destinations: ["127.0.0.0/8"] }];
    assert.equal(explicitlyAllows(denyFirst, loopback, "127.0.0.1"), false);
  });

  it("judges the given address, not the request's other addresses", () => {
    const rules: Rule[] = [{ action: "allow", destinations: ["127.0.0.0/8"] }];
    const both = facts({ destinationAddresses: ["192.0.2.1", "127.0.0.1"] });
    assert.equal(explicitlyAllows(rules, both, "127.0.0.1"), true);
    assert.equal(explicitlyAllows(rules, both, "192.0.2.1"), false);
  });
});
