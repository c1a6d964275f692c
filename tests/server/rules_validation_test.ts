/** Rule lists are checked field by field at start: a typo or a wrong type must not open (or break) the proxy. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { validateRules } from "../../lib/server/rules.ts";
import { startServer } from "../../mod.ts";

const refusals: [unknown, RegExp][] = [
  [[{ action: "allow", client: ["10.0.0.0/8"] }], /^rule 1: unknown field "client"/],
  [[{ action: "allow" }, { action: "deny", Users: ["x"] }], /^rule 2: unknown field "Users"/],
  [[{ action: "allow", users: "alice" }], /^rule 1: "users" must be an array of strings$/],
  [[{ action: "allow", users: [""] }], /^rule 1: users: a user name is not empty$/],
  [[{ action: "allow", ports: [443] }], /^rule 1: "ports" must be an array of strings$/],
  [[{ action: "allow", ports: ["443-80"] }], /^rule 1: ports: bad port range "443-80"$/],
  [[{ action: "allow", destinations: "x" }], /^rule 1: "destinations" must be an array of strings$/],
  [[{ action: "allow", destinations: ["10.0.0.0/40"] }], /^rule 1: destinations: /],
  [[{ action: "allow", clients: "10.0.0.0/8" }], /^rule 1: "clients" must be an array of strings$/],
  [[{ action: "allow", commands: "connect" }], /^rule 1: "commands" must be an array of strings$/],
  [[{ action: "allow", commands: ["CONNECT"] }], /^rule 1: commands: unknown command "CONNECT"/],
  [[{ action: "allow", versions: ["5"] }], /^rule 1: "versions" must be an array of 4 and 5/],
  [[{ action: "allow", versions: 5 }], /^rule 1: "versions" must be an array of 4 and 5/],
  [[{ action: "permit" }], /^rule 1: action must be "allow" or "deny"$/],
  [[{ clients: ["10.0.0.0/8"] }], /^rule 1: action must be "allow" or "deny"$/],
  [["allow"], /^rule 1: a rule must be an object$/],
  [[null], /^rule 1: a rule must be an object$/],
  [{ action: "allow" }, /^rules must be an array of rules$/],
];

describe("rule validation", () => {
  it("refuses every wrong field name and type, naming the rule number and the field", () => {
    for (const [rules, message] of refusals) {
      assert.throws(() => validateRules(rules), (error: Error) => {
        assert.equal(error.name, "SocksError");
        assert.match(error.message, message, JSON.stringify(rules));
        return true;
      });
    }
  });

  it("accepts every field of the right type", () => {
    validateRules([
      {
        action: "allow",
        clients: ["10.0.0.0/8", "::1"],
        destinations: ["*.example.com", "192.0.2.0/24", "example.org"],
        ports: ["443", "1000-2000"],
        users: ["alice"],
        commands: ["connect", "bind", "udp-associate", "resolve", "resolve-ptr"],
        versions: [4, 5],
      },
      { action: "deny" },
    ]);
  });

  it("the library refuses a bad rule list at start too", async () => {
    // A caller in plain JavaScript (or reading its own JSON) can pass anything.
    const rules = JSON.parse('[{"action": "allow", "client": ["127.0.0.1"]}]');
    await assert.rejects(
      startServer({ listen: [{ hostname: "127.0.0.1", port: 0 }], rules }),
      /rule 1: unknown field "client"/,
    );
  });
});
