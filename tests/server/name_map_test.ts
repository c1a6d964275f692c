import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { NameMap } from "../../lib/server/name_map.ts";
import { SocksError } from "../../lib/wire/socks_error.ts";

describe("NameMap", () => {
  it("gives each name one address per family, stable while mapped, and back", () => {
    const map = new NameMap();
    const a4 = map.addressFor("a.example", "ipv4")!;
    const b4 = map.addressFor("b.example", "ipv4")!;
    const a6 = map.addressFor("A.Example.", "ipv6")!;
    assert.notEqual(a4, b4);
    assert.equal(map.addressFor("a.example", "ipv4"), a4);
    assert.equal(map.nameFor(a4), "a.example");
    assert.equal(map.nameFor(a6), "a.example");
    assert.equal(map.nameFor(a6.toUpperCase()), "a.example", "IPv6 in another spelling");
    assert.equal(map.nameFor(`::ffff:${b4}`), "b.example", "IPv4-mapped IPv6");
    assert.ok(map.inRange(a4) && map.inRange(a6) && map.inRange("127.255.255.254"));
    assert.ok(!map.inRange("127.0.0.1") && !map.inRange("fd74:6162:6901::1"));
    assert.equal(map.counters().mapped, 2);
  });

  it("evicts the least recently used name, never one in use", () => {
    const map = new NameMap({ size: 2 });
    const a = map.addressFor("a", "ipv4")!;
    map.addressFor("b", "ipv4");
    map.acquire("a");
    map.addressFor("c", "ipv4"); // "a" is older but in use: "b" goes.
    assert.equal(map.nameFor(a), "a");
    assert.equal(map.addressFor("b", "ipv4") === undefined, false);
    assert.equal(map.counters().evictions, 2, "b, then c for b again");
    map.acquire("b");
    assert.equal(map.addressFor("d", "ipv4"), undefined, "full of names in use: nothing is mapped");
    map.release("a");
    assert.ok(map.addressFor("d", "ipv4"));
    assert.equal(map.nameFor(a), undefined, "a went once released");
    assert.equal(map.counters().mapped, 2);
  });

  it("a use refreshes a name: the one looked up last stays", () => {
    const map = new NameMap({ size: 2 });
    const a = map.addressFor("a", "ipv4")!;
    map.addressFor("b", "ipv4");
    map.nameFor(a);
    map.addressFor("c", "ipv4");
    assert.equal(map.nameFor(a), "a");
  });

  it("hands a freed address out again only after going round the range", () => {
    const map = new NameMap({ ipv4Range: "10.0.0.0/29", ipv6Range: "fd00::/125", size: 2 });
    const seen = new Set<string>();
    for (const name of ["a", "b", "c", "d", "e", "f"]) seen.add(map.addressFor(name, "ipv4")!);
    assert.deepEqual([...seen], ["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6"]);
    assert.equal(map.addressFor("g", "ipv4"), "10.0.0.1", "neither the network's first nor last address");
  });

  it("a reload changes the size (evicting down to it), never the ranges", () => {
    const map = new NameMap({ size: 3 });
    for (const name of ["a", "b", "c"]) map.addressFor(name, "ipv4");
    map.reconfigure({ size: 1 });
    assert.equal(map.counters().mapped, 1);
    assert.throws(() => map.reconfigure({ ipv4Range: "10.0.0.0/8" }), /restart/);
  });

  it("refuses ranges and sizes that cannot work", () => {
    const bad = (options: ConstructorParameters<typeof NameMap>[0]) =>
      assert.throws(() => new NameMap(options), (e) => e instanceof SocksError && e.code === "bad-field");
    bad({ ipv4Range: "fd00::/96" });
    bad({ ipv6Range: "10.0.0.0/8" });
    bad({ ipv4Range: "10.0.0.0/31" });
    bad({ ipv6Range: "fd00::/48" });
    bad({ size: 0 });
    bad({ ipv4Range: "10.0.0.0/30", size: 3 });
  });
});
