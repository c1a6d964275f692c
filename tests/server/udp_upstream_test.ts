// UDP ASSOCIATE through a single SOCKS5 upstream: a client's association on a front server (with `upstream`) whose
// datagrams go on through another tabi server's relay, both ways, with the front server's rules and counts.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { associate, type RelayedDatagram, type UdpAssociation } from "../../lib/client/associate.ts";
import type { Network, UdpSocket } from "../../lib/net/network.ts";
import type { HostPort } from "../../lib/wire/address.ts";
import { closedPort, loopbackOnly, network, rawClient, sleep, testServer } from "../helpers/net.ts";
import { concat } from "../helpers/bytes.ts";
import { decodeSocks5MethodSelection, encodeSocks5Greeting } from "../../lib/wire/socks5_greeting.ts";
import { decodeSocks5Reply, encodeSocks5Request } from "../../lib/wire/socks5_request.ts";

type Server = Awaited<ReturnType<typeof testServer>>;

/** The loopback network with every name lookup recorded; with `refuse`, a lookup also fails. */
function recordingLookups(refuse: boolean): Network & { lookups: string[] } {
  const inner = loopbackOnly();
  const lookups: string[] = [];
  return {
    ...inner,
    lookups,
    resolve: (name) => {
      lookups.push(name);
      return refuse ? Promise.reject(new Error(`local DNS lookup of ${name}`)) : inner.resolve(name);
    },
  };
}

/** Datagrams of an association, queued, with a bounded wait for the next. */
function inbox(association: UdpAssociation) {
  const queue: RelayedDatagram[] = [];
  const waiters: ((d: RelayedDatagram) => void)[] = [];
  (async () => {
    for await (const d of association.datagrams) {
      const waiter = waiters.shift();
      if (waiter) waiter(d);
      else queue.push(d);
    }
  })().catch(() => {});
  return (ms = 3000) =>
    new Promise<RelayedDatagram | undefined>((resolve) => {
      const queued = queue.shift();
      if (queued) return resolve(queued);
      const timer = setTimeout(() => {
        waiters.splice(waiters.indexOf(deliver), 1);
        resolve(undefined);
      }, ms);
      const deliver = (d: RelayedDatagram) => {
        clearTimeout(timer);
        resolve(d);
      };
      waiters.push(deliver);
    });
}

async function udpEcho(hostname: string): Promise<UdpSocket> {
  const socket: UdpSocket = await network.bindUdp({ hostname, port: 0 }, (d) => void socket.send(d.data, d.from));
  return socket;
}

const url = (scheme: string, server: Server, auth = "") => `${scheme}://${auth}127.0.0.1:${server.endpoint.port}`;
const bytes = (...values: number[]) => new Uint8Array(values);
const hostOf = (from: HostPort) => from.address.host;

describe("UDP ASSOCIATE through an upstream SOCKS5 proxy", () => {
  let hop: Server;
  let authHop: Server;
  let echo4: UdpSocket;
  let echo6: UdpSocket;
  before(async () => {
    hop = await testServer({ network: loopbackOnly() });
    authHop = await testServer({ network: loopbackOnly(), users: new Map([["u", "pw"]]) });
    echo4 = await udpEcho("127.0.0.1");
    echo6 = await udpEcho("::1");
  });
  after(async () => {
    echo4.close();
    echo6.close();
    await hop.close();
    await authHop.close();
  });

  async function front(upstream: string[], options: Parameters<typeof testServer>[0] = {}, refuseLookups = true) {
    const net = recordingLookups(refuseLookups);
    const server = await testServer({ network: net, upstream, ...options });
    return Object.assign(server, { lookups: net.lookups });
  }

  it("socks5h: IPv4, IPv6 and a name go through the upstream's relay and back; no name is looked up here", async () => {
    const server = await front([url("socks5h", hop)]);
    const before = hop.records.length;
    const association = await associate(url("socks5h", server), { network });
    const next = inbox(association);
    try {
      const cases: [string, string][] = [
        [`127.0.0.1:${echo4.address.port}`, "127.0.0.1"],
        [`[::1]:${echo6.address.port}`, "::1"],
        [`localhost:${echo4.address.port}`, "127.0.0.1"],
      ];
      for (const [i, [destination, answeredFrom]] of cases.entries()) {
        const payload = bytes(i, 0xaa, 0x55, 7);
        await association.send(payload, destination);
        const answer = await next();
        assert.ok(answer, `no answer from ${destination}`);
        assert.deepEqual([...answer.data], [...payload]);
        // The source is the one the upstream named: the echo's address, not the front server's.
        assert.equal(hostOf(answer.from), answeredFrom);
        assert.equal(answer.from.port, i === 1 ? echo6.address.port : echo4.address.port);
      }
      association.close();
      const record = await server.nextRecord();
      assert.equal(record.command, "udp-associate");
      assert.equal(record.reply, 0);
      assert.equal(record.bytesUp, 12);
      assert.equal(record.bytesDown, 12);
      assert.equal(record.error, undefined);
      assert.deepEqual(server.lookups, [], "the front server resolved a name itself");
      // The upstream served one association, the front server's, and carried the same bytes.
      for (let i = 0; i < 250 && hop.records.length === before; i++) await sleep(20);
      const upstreamRecord = hop.records[before];
      assert.equal(upstreamRecord.command, "udp-associate");
      assert.equal(upstreamRecord.bytesUp, 12);
      assert.equal(upstreamRecord.bytesDown, 12);
    } finally {
      association.close();
      await server.close();
    }
  });

  it("socks5:// with a password: a name is resolved by the front server and an address passed on", async () => {
    const server = await front([url("socks5", authHop, "u:pw@")], {}, false);
    const association = await associate(url("socks5h", server), { network });
    const next = inbox(association);
    try {
      await association.send(bytes(1, 2, 3), `localhost:${echo4.address.port}`);
      const answer = await next();
      assert.ok(answer);
      assert.deepEqual([...answer.data], [1, 2, 3]);
      assert.deepEqual(server.lookups, ["localhost"]);
    } finally {
      association.close();
      await server.close();
    }
  });

  it("the front server's rules decide per datagram; with socks5h a name is decided on the name alone", async () => {
    const other = await udpEcho("127.0.0.1");
    const server = await front([url("socks5h", hop)], {
      rules: [
        { action: "deny", ports: [String(other.address.port)] },
        { action: "deny", destinations: ["127.0.0.0/8"] },
        { action: "allow" },
      ],
    });
    const association = await associate(url("socks5h", server), { network });
    const next = inbox(association);
    try {
      // Denied by port, by name and by address: none of them is sent on.
      await association.send(bytes(1), `localhost:${other.address.port}`);
      await association.send(bytes(2), `127.0.0.1:${echo4.address.port}`);
      // A range rule cannot match a name nobody resolved: this one goes through.
      await association.send(bytes(3), `localhost:${echo4.address.port}`);
      const answer = await next();
      assert.ok(answer);
      assert.deepEqual([...answer.data], [3]);
      assert.equal(await next(300), undefined);
      association.close();
      const record = await server.nextRecord();
      assert.equal(record.error, "2 datagrams dropped");
      assert.equal(record.bytesUp, 1);
      assert.deepEqual(server.lookups, []);
    } finally {
      association.close();
      other.close();
      await server.close();
    }
  });

  it("fragments are put together by the front server, then sent on whole", async () => {
    const server = await front([url("socks5h", hop)], { udpReassembly: true });
    const association = await associate(url("socks5h", server), { network });
    const next = inbox(association);
    try {
      const payload = new Uint8Array(1000).map((_, i) => i % 251);
      await association.send(payload, `localhost:${echo4.address.port}`, { fragmentSize: 300 });
      const answer = await next();
      assert.ok(answer);
      assert.deepEqual([...answer.data], [...payload]);
    } finally {
      association.close();
      await server.close();
    }
  });

  it("the association ends when the upstream ends its own", async () => {
    const doomed = await testServer({ network: loopbackOnly() });
    const server = await front([url("socks5h", doomed)]);
    const association = await associate(url("socks5h", server), { network });
    const next = inbox(association);
    try {
      await association.send(bytes(9), `127.0.0.1:${echo4.address.port}`);
      assert.ok(await next());
      await doomed.close();
      const record = await server.nextRecord();
      assert.equal(record.error, "the upstream proxy ended the association");
    } finally {
      association.close();
      await server.close();
    }
  });

  /** A raw UDP ASSOCIATE request to `server`; returns the reply code. */
  async function requestUdp(server: Server): Promise<number> {
    const client = await rawClient(server.endpoint);
    try {
      await client.send(concat(
        encodeSocks5Greeting({ methods: [0] }),
        encodeSocks5Request({ command: 3, destination: { address: { type: "ipv4", host: "127.0.0.1" }, port: 0 } }),
      ));
      await client.reader.read(decodeSocks5MethodSelection);
      return (await client.reader.read(decodeSocks5Reply)).reply;
    } finally {
      client.close();
    }
  }

  it("an upstream that cannot be reached: general failure 0x01", async () => {
    const server = await front([`socks5h://127.0.0.1:${await closedPort()}`]);
    try {
      assert.equal(await requestUdp(server), 0x01);
    } finally {
      await server.close();
    }
  });

  it("a chain of two, a SOCKS4 or an HTTP upstream: refused with 0x07, and nothing reaches the hop", async () => {
    const httpHop = await testServer({ network: loopbackOnly(), protocols: ["http"] });
    const socks4Hop = await testServer({ network: loopbackOnly(), protocols: ["socks4"] });
    try {
      const chains = [
        [url("socks5h", hop), url("socks5h", authHop, "u:pw@")],
        [url("socks4a", socks4Hop)],
        [url("http", httpHop)],
      ];
      const seen = hop.records.length + authHop.records.length + socks4Hop.records.length + httpHop.records.length;
      for (const chain of chains) {
        const server = await front(chain);
        try {
          assert.equal(await requestUdp(server), 0x07, chain.join(" -> "));
        } finally {
          await server.close();
        }
      }
      await sleep(100);
      const now = hop.records.length + authHop.records.length + socks4Hop.records.length + httpHop.records.length;
      assert.equal(now, seen);
    } finally {
      await httpHop.close();
      await socks4Hop.close();
    }
  });
});
