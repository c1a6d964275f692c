// The DNS port with real clients nobody here wrote: dig (bind9-dnsutils) over UDP and TCP, dnspython, and raw
// sockets from Python's standard library for the bad input (tests/helpers/dns_probe.py).
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { type DnsPort, startDnsPort } from "../../lib/server/dns_port.ts";
import { NameMap } from "../../lib/server/name_map.ts";
import { network, sleep } from "../helpers/net.ts";
import { requirePeer } from "../helpers/peers.ts";
import { run } from "../helpers/process.ts";

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

/** dig's status and answer lines for one question. */
async function dig(port: number, ...args: string[]): Promise<{ status: string; answers: string[] }> {
  const result = await run("dig", [
    "@127.0.0.1",
    "-p",
    String(port),
    "+tries=1",
    "+time=5",
    "+noall",
    "+comments",
    "+answer",
    ...args,
  ]);
  assert.equal(result.code, 0, result.stderr + text(result.stdout));
  const out = text(result.stdout);
  const status = /status: (\w+)/.exec(out)?.[1] ?? "none";
  const answers = out.split("\n").filter((l) => l !== "" && !l.startsWith(";")).map((l) =>
    l.split(/\s+/).slice(3).join(" ")
  );
  return { status, answers };
}

describe("DNS port", () => {
  let nameMap: NameMap;
  let dns: DnsPort;
  before(async () => {
    requirePeer("dig");
    nameMap = new NameMap({ size: 50 });
    dns = await startDnsPort(network, { hostname: "127.0.0.1", port: 0 }, nameMap, {
      tcpIdleTimeoutMs: 500,
      maxTcpConnections: 4,
    });
  });
  after(() => dns.close());

  it("dig over UDP: A and AAAA get mapped addresses, PTR the name, HTTPS an empty answer, MX and TXT REFUSED", async () => {
    const port = dns.address.port;
    const a = await dig(port, "www.example.org", "A");
    assert.equal(a.status, "NOERROR");
    assert.equal(a.answers.length, 1);
    const [type, address] = a.answers[0].split(" ");
    assert.equal(type, "A");
    assert.ok(nameMap.inRange(address), address);
    assert.deepEqual((await dig(port, "WWW.Example.Org", "A")).answers, a.answers, "stable, whatever the case");
    const aaaa = await dig(port, "www.example.org", "AAAA");
    assert.match(aaaa.answers[0], /^AAAA fd74:6162:6900::/);
    const ptr = await dig(port, "-x", address);
    assert.deepEqual([ptr.status, ptr.answers], ["NOERROR", ["PTR www.example.org."]]);
    const ptr6 = await dig(port, "-x", aaaa.answers[0].split(" ")[1]);
    assert.deepEqual(ptr6.answers, ["PTR www.example.org."]);
    assert.equal((await dig(port, "-x", "127.192.200.1")).status, "NXDOMAIN", "in the range, not mapped");
    assert.equal((await dig(port, "-x", "192.0.2.1")).status, "REFUSED", "never resolved here");
    assert.deepEqual(await dig(port, "www.example.org", "HTTPS"), { status: "NOERROR", answers: [] });
    assert.deepEqual(await dig(port, "www.example.org", "SVCB"), { status: "NOERROR", answers: [] });
    for (const type of ["MX", "TXT", "SRV", "ANY", "NS"]) {
      assert.equal((await dig(port, "example.org", type)).status, "REFUSED", type);
    }
    assert.equal((await dig(port, "-c", "CH", "version.bind", "TXT")).status, "REFUSED");
  });

  it("dig over TCP (+tcp) answers the same as over UDP", async () => {
    const port = dns.address.port;
    const udp = await dig(port, "tcp.example.org", "A");
    const tcp = await dig(port, "+tcp", "tcp.example.org", "A");
    assert.deepEqual(tcp, udp);
    assert.deepEqual((await dig(port, "+tcp", "tcp.example.org", "MX")).status, "REFUSED");
  });

  it("dnspython over UDP and TCP", async () => {
    requirePeer("/usr/lib/python3/dist-packages/dns/message.py");
    const script = `
import dns.message, dns.query, dns.rdatatype, sys
port = int(sys.argv[1])
out = []
for send in (dns.query.udp, dns.query.tcp):
    for qtype in ("A", "AAAA", "MX"):
        r = send(dns.message.make_query("py.example.net", qtype), "127.0.0.1", port=port, timeout=5)
        out.append(f"{dns.rcode.to_text(r.rcode())} {' '.join(str(i) for rr in r.answer for i in rr)}".strip())
print("|".join(out))
`;
    const result = await run("/usr/bin/python3", ["-c", script, String(dns.address.port)]);
    assert.equal(result.code, 0, result.stderr);
    const [a, aaaa, mx, tcpA, tcpAaaa, tcpMx] = text(result.stdout).trim().split("|");
    assert.match(a, /^NOERROR 127\.(19[2-9]|2[0-5][0-9])\.\d+\.\d+$/);
    assert.match(aaaa, /^NOERROR fd74:6162:6900::/);
    assert.deepEqual([mx, tcpMx], ["REFUSED", "REFUSED"]);
    assert.deepEqual([tcpA, tcpAaaa], [a, aaaa]);
  });

  it("bad input: FORMERR, NOTIMP, REFUSED or dropped as it deserves; TCP liars are hung up on; the port goes on", async () => {
    const before = nameMap.counters();
    const result = await run("python3", [join("tests", "helpers", "dns_probe.py"), String(dns.address.port)], {
      timeoutMs: 30_000,
    });
    assert.equal(result.code, 0, result.stderr);
    const probe = JSON.parse(text(result.stdout));
    // IDs 7 (a response) and 8 (a runt) never come back; the good query (0xbeef) does.
    assert.deepEqual(probe.udp, {
      "0x1": 1,
      "0x2": 1,
      "0x3": 1,
      "0x4": 1,
      "0x5": 5,
      "0x6": 4,
      "0x9": 5,
      "0xbeef": 0,
    });
    assert.deepEqual(probe.tcp_short_prefix, [], "no answer to a prefix shorter than a header");
    assert.deepEqual(probe.tcp_pipelined_then_lying, [0, 0], "both answered, then closed on the unfinished one");
    const after = nameMap.counters();
    assert.equal(after.refusals.formerr - (before.refusals.formerr ?? 0), 4);
    assert.equal(after.refusals.dropped - (before.refusals.dropped ?? 0), 2);
    assert.equal((await dig(dns.address.port, "after.example.org", "A")).status, "NOERROR");
  });

  it("a slow TCP client is cut at the idle timeout; past the connection cap, a new one is closed at once", async () => {
    const held = await Promise.all(
      [0, 1, 2, 3].map(() => network.connect({ hostname: "127.0.0.1", port: dns.address.port })),
    );
    const extra = await network.connect({ hostname: "127.0.0.1", port: dns.address.port });
    const ended = async (c: typeof extra) => {
      const reader = c.readable.getReader();
      for (;;) if ((await reader.read().catch(() => ({ done: true }))).done) return true;
    };
    assert.equal(await ended(extra), true, "the fifth is closed");
    // The four that say nothing are closed by the server (the idle timeout), not by this test.
    assert.deepEqual(await Promise.all(held.map(ended)), [true, true, true, true]);
    for (const c of [...held, extra]) c.close();
    await sleep(0);
    assert.equal((await dig(dns.address.port, "+tcp", "slow.example.org", "A")).status, "NOERROR");
  });

  it("a UDP flood past the budget is dropped, not answered, and counted", async () => {
    const flood = new NameMap();
    const small = await startDnsPort(network, { hostname: "127.0.0.1", port: 0 }, flood, { udpAnswersPerSecond: 20 });
    try {
      // 300 queries at once, then (in a later second, with a fresh budget) one more until it is answered: by then the
      // port has read every datagram of the flood that the kernel did not drop itself.
      const script = `
import socket, struct, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
to = ("127.0.0.1", int(sys.argv[1]))
query = lambda i: struct.pack(">HHHHHH", i, 0x0100, 1, 0, 0, 0) + b"\\x01a\\x00\\x00\\x01\\x00\\x01"
for i in range(300):
    s.sendto(query(i), to)
s.settimeout(1.2)
for attempt in range(10):
    s.sendto(query(0xFFFF), to)
    try:
        while struct.unpack(">H", s.recvfrom(512)[0][:2])[0] != 0xFFFF:
            pass
        print("answered")
        break
    except socket.timeout:
        pass
`;
      const result = await run("python3", ["-c", script, String(small.address.port)], { timeoutMs: 30_000 });
      assert.equal(result.code, 0, result.stderr);
      assert.equal(text(result.stdout).trim(), "answered");
      const { questions, refusals } = flood.counters();
      assert.ok(questions >= 20 && questions < 300, `answered ${questions} of 300`);
      assert.ok(refusals.dropped > 0, "the rest dropped");
    } finally {
      await small.close();
    }
  });
});
