/**
 * The names the DNS port handed out addresses for (Tor's AutomapHostsOnResolve): each name gets an address from a
 * mapped range, IPv4 and IPv6, and keeps it while it stays mapped; a connection to that address is turned back into
 * the name (mapped_destination.ts). The map is bounded: the least recently used name goes first, never one an open
 * tunnel still uses. See docs/dns_port.md for why the default ranges are safe to connect to by mistake.
 *
 * @module
 */
import { type Cidr, cidrContains, parseCidr } from "../net/cidr.ts";
import { ipAddress } from "../net/endpoint.ts";
import { ipv4FromBytes, ipv4ToBytes, ipv6FromBytes, ipv6ToBytes } from "../wire/address.ts";
import { SocksError } from "../wire/socks_error.ts";

/** The defaults of a name map. */
export const NAME_MAP_DEFAULTS = {
  /** Loopback (RFC 1122 section 3.2.1.3), the range Tor's VirtualAddrNetworkIPv4 uses: never leaves the host. */
  ipv4Range: "127.192.0.0/10",
  /** A unique local /96 (RFC 4193), global ID 74:6162:6900 ("tabi"): routed by no one on the Internet. */
  ipv6Range: "fd74:6162:6900::/96",
  /** Names mapped at most. */
  size: 10_000,
  /** Seconds a DNS answer with a mapped address may be cached: short, so a stale one does not outlive its name. */
  ttlSeconds: 60,
} as const;

/** How a name map is set up. */
export interface NameMapOptions {
  /** The IPv4 range addresses come from (CIDR, a /30 at most). */
  readonly ipv4Range?: string;
  /** The IPv6 range addresses come from (CIDR, from /64 to /126; 2^32 addresses are used at most). */
  readonly ipv6Range?: string;
  /** Names mapped at most; fewer than either range holds. */
  readonly size?: number;
}

/** What a name map has done, for /metrics. */
export interface NameMapCounters {
  /** DNS questions read. */
  readonly questions: number;
  /** Names mapped now. */
  readonly mapped: number;
  /** Names dropped to make room. */
  readonly evictions: number;
  /** Questions answered with an error or dropped, by why ("formerr", "refused", "notimp", "nxdomain", "dropped"). */
  readonly refusals: Readonly<Record<string, number>>;
}

/** An address family a name gets an address in. */
export type MappedFamily = "ipv4" | "ipv6";

interface Entry {
  readonly name: string;
  ipv4?: string;
  ipv6?: string;
  /** Open tunnels to this name. */
  uses: number;
}

class Pool {
  readonly cidr: Cidr;
  readonly text: string;
  /** Indexes 1 .. capacity - 2: the range's first and last addresses are never handed out. */
  readonly capacity: number;
  #next = 1;

  constructor(text: string, family: MappedFamily) {
    this.text = text;
    const given = parseCidr(text);
    const bits = given.bytes.length * 8;
    if ((family === "ipv4") !== (bits === 32)) throw new SocksError("bad-field", `${text} is not an ${family} range`);
    const hostBits = bits - given.prefix;
    const most = family === "ipv4" ? 30 : 64;
    if (hostBits < 2 || hostBits > most) {
      throw new SocksError(
        "bad-field",
        `${text}: a mapped ${family} range must be from /${bits - most} to /${bits - 2}`,
      );
    }
    // The network's own bytes, host bits cleared, so that an address is the network ORed with an index.
    const bytes = given.bytes.map((byte, i) => byte & (0xff << Math.max(0, Math.min(8, (i + 1) * 8 - given.prefix))));
    this.cidr = { bytes, prefix: given.prefix };
    this.capacity = 2 ** Math.min(hostBits, 32);
  }

  /** The next address not in `taken`, going round the range (so a freed address is handed out again late). */
  allocate(taken: ReadonlyMap<string, Entry>): string {
    for (;;) {
      const index = this.#next;
      this.#next = this.#next + 1 >= this.capacity - 1 ? 1 : this.#next + 1;
      const bytes = this.cidr.bytes.slice();
      const at = bytes.length - 4;
      const host = new DataView(bytes.buffer).getUint32(at) | index;
      new DataView(bytes.buffer).setUint32(at, host >>> 0);
      const address = bytes.length === 4 ? ipv4FromBytes(bytes) : ipv6FromBytes(bytes);
      if (!taken.has(address)) return address;
    }
  }
}

/** A name as a key: lower case, no trailing dot (DNS names compare without case, RFC 4343). */
function nameKey(name: string): string {
  return name.toLowerCase().replace(/\.$/, "");
}

/** An IP literal as the map keys it: IPv4-mapped IPv6 as IPv4, IPv6 in its one canonical form. */
function addressKey(ip: string): string | undefined {
  const address = ipAddress(ip);
  if (address === undefined) return undefined;
  return address.type === "ipv4"
    ? ipv4FromBytes(ipv4ToBytes(address.host)!)
    : ipv6FromBytes(ipv6ToBytes(address.host)!);
}

/**
 * Names and the addresses mapped to them.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { NameMap } from "./name_map.ts";
 * const map = new NameMap({ size: 2 });
 * const address = map.addressFor("Example.org", "ipv4")!;
 * assert.equal(address, "127.192.0.1");
 * assert.equal(map.addressFor("example.org.", "ipv4"), address);
 * assert.equal(map.nameFor(address), "example.org");
 * assert.equal(map.nameFor("127.192.0.9"), undefined);
 * assert.equal(map.inRange("127.192.0.9"), true);
 * ```
 */
export class NameMap {
  readonly #v4: Pool;
  readonly #v6: Pool;
  #size: number;
  /** By name, least recently used first (a Map keeps insertion order; a use moves the name to the end). */
  readonly #byName = new Map<string, Entry>();
  readonly #byAddress = new Map<string, Entry>();
  #questions = 0;
  #evictions = 0;
  readonly #refusals = new Map<string, number>();

  /** Throws SocksError "bad-field" for a bad range or size. */
  constructor(options: NameMapOptions = {}) {
    this.#v4 = new Pool(options.ipv4Range ?? NAME_MAP_DEFAULTS.ipv4Range, "ipv4");
    this.#v6 = new Pool(options.ipv6Range ?? NAME_MAP_DEFAULTS.ipv6Range, "ipv6");
    this.#size = this.#checkSize(options.size ?? NAME_MAP_DEFAULTS.size);
  }

  #checkSize(size: number): number {
    const most = Math.min(this.#v4.capacity, this.#v6.capacity) - 2;
    if (!(Number.isInteger(size) && size >= 1 && size <= most)) {
      throw new SocksError("bad-field", `the name map's size must be a whole number from 1 to ${most}, not ${size}`);
    }
    return size;
  }

  /** The ranges, as given. */
  get ranges(): { readonly ipv4: string; readonly ipv6: string } {
    return { ipv4: this.#v4.text, ipv6: this.#v6.text };
  }

  /** Names mapped at most. */
  get size(): number {
    return this.#size;
  }

  /**
   * Takes new settings (a reload): the size applies at once (the least recently used names over it go, unless in
   * use); the ranges cannot change while names are mapped to them: SocksError "bad-field".
   */
  reconfigure(options: NameMapOptions): void {
    const ipv4 = options.ipv4Range ?? NAME_MAP_DEFAULTS.ipv4Range;
    const ipv6 = options.ipv6Range ?? NAME_MAP_DEFAULTS.ipv6Range;
    if (ipv4 !== this.#v4.text || ipv6 !== this.#v6.text) {
      throw new SocksError("bad-field", "the mapped ranges cannot change on a reload: restart to change them");
    }
    this.#size = this.#checkSize(options.size ?? NAME_MAP_DEFAULTS.size);
    this.#evictOver(this.#size);
  }

  /** True when `ip` is in either mapped range, mapped or not. */
  inRange(ip: string): boolean {
    return cidrContains(this.#v4.cidr, ip) || cidrContains(this.#v6.cidr, ip);
  }

  /**
   * The address of `name` in `family`, mapping it if it is not yet (and making it the most recently used); undefined
   * when the map is full of names open tunnels use.
   */
  addressFor(name: string, family: MappedFamily): string | undefined {
    const key = nameKey(name);
    let entry = this.#byName.get(key);
    if (entry === undefined) {
      if (!this.#evictOver(this.#size - 1)) return undefined;
      entry = { name: key, uses: 0 };
    } else {
      this.#byName.delete(key);
    }
    this.#byName.set(key, entry);
    let address = entry[family];
    if (address === undefined) {
      address = (family === "ipv4" ? this.#v4 : this.#v6).allocate(this.#byAddress);
      entry[family] = address;
      this.#byAddress.set(address, entry);
    }
    return address;
  }

  /** The name mapped to `ip`, if any (making it the most recently used). */
  nameFor(ip: string): string | undefined {
    const key = addressKey(ip);
    const entry = key === undefined ? undefined : this.#byAddress.get(key);
    if (entry === undefined) return undefined;
    this.#byName.delete(entry.name);
    this.#byName.set(entry.name, entry);
    return entry.name;
  }

  /** An open tunnel now uses `name`: it is not evicted until every such tunnel {@link NameMap.release}s it. */
  acquire(name: string): void {
    const entry = this.#byName.get(nameKey(name));
    if (entry) entry.uses++;
  }

  /** A tunnel that {@link NameMap.acquire}d `name` ended. */
  release(name: string): void {
    const entry = this.#byName.get(nameKey(name));
    if (entry && entry.uses > 0) entry.uses--;
  }

  /** Counts a question read. */
  countQuestion(): void {
    this.#questions++;
  }

  /** Counts a question answered with an error or dropped, by why. */
  countRefusal(reason: string): void {
    this.#refusals.set(reason, (this.#refusals.get(reason) ?? 0) + 1);
  }

  /** The counters now. */
  counters(): NameMapCounters {
    return {
      questions: this.#questions,
      mapped: this.#byName.size,
      evictions: this.#evictions,
      refusals: Object.fromEntries(this.#refusals),
    };
  }

  /** Evicts least recently used names not in use until at most `keep` are mapped; false if it could not. */
  #evictOver(keep: number): boolean {
    if (this.#byName.size <= keep) return true;
    for (const entry of this.#byName.values()) {
      if (entry.uses > 0) continue;
      this.#byName.delete(entry.name);
      if (entry.ipv4) this.#byAddress.delete(entry.ipv4);
      if (entry.ipv6) this.#byAddress.delete(entry.ipv6);
      this.#evictions++;
      if (this.#byName.size <= keep) return true;
    }
    return false;
  }
}
