/**
 * Access rules: an ordered list, the first rule whose every condition matches decides allow or deny. With no rules
 * everything is allowed; with rules, a request that matches none is denied (as Dante does).
 *
 * @module
 */
import { cidrContains, parseCidr } from "../net/cidr.ts";
import { ipAddress } from "../net/endpoint.ts";
import { SocksError } from "../wire/socks_error.ts";
import { parseProxyUrl } from "../client/proxy_url.ts";

/**
 * The commands a rule can name. "http" is an HTTP request forwarded in absolute form (`GET http://...`); an HTTP
 * CONNECT is "connect", like SOCKS CONNECT, since both open the same kind of TCP tunnel.
 */
export type CommandName = "connect" | "bind" | "udp-associate" | "resolve" | "resolve-ptr" | "http";

/** One access rule. Every condition given must match; an absent condition matches anything. */
export interface Rule {
  /** What happens to a request this rule matches. */
  readonly action: "allow" | "deny";
  /** Client address ranges in CIDR (`10.0.0.0/8`, `::1/128`) or single addresses. */
  readonly clients?: readonly string[];
  /** Destination CIDR ranges, exact names, or `*.suffix` (which matches the suffix's subdomains, not itself). */
  readonly destinations?: readonly string[];
  /** Destination ports: `443` or `1000-2000`. */
  readonly ports?: readonly string[];
  /** SOCKS5 usernames or SOCKS4 USERIDs. */
  readonly users?: readonly string[];
  /** The commands it applies to. */
  readonly commands?: readonly CommandName[];
  /** SOCKS versions; a rule that names versions never matches an HTTP request. */
  readonly versions?: readonly (4 | 5)[];
  /**
   * The route for what this rule allows (CONNECT and HTTP forwarding): a chain of proxy URLs, first hop first, or
   * "direct"; absent: the server's default. The route is picked by the first rule that matches without a DNS
   * lookup (a range pattern matches a name only once resolved, so it picks routes for IP literals only).
   */
  readonly upstream?: readonly string[] | "direct";
}

/** What a rule is matched against. */
export interface RequestFacts {
  /** The client's IP address. */
  readonly client: string;
  /** The SOCKS version, or "http" for the HTTP side. */
  readonly version: 4 | 5 | "http";
  /** The SOCKS5 username or SOCKS4 USERID, if any. */
  readonly user: string | undefined;
  /** The command requested. */
  readonly command: CommandName;
  /** The name the client asked for, when it asked for a name. */
  readonly destinationName: string | undefined;
  /**
   * The destination's IP addresses (resolved from the name, or the literal the client sent); undefined while a
   * name is not resolved yet, so that no lookup happens unless a rule needs one.
   */
  readonly destinationAddresses: readonly string[] | undefined;
  /** The destination port. */
  readonly port: number;
}

const looksLikeCidr = (text: string) => text.includes("/") || ipAddress(text) !== undefined;

/** True or false, or undefined when a range pattern meets a name not resolved yet. */
function matchesDestination(pattern: string, facts: RequestFacts): boolean | undefined {
  if (looksLikeCidr(pattern)) {
    if (facts.destinationAddresses === undefined) return undefined;
    const cidr = parseCidr(pattern);
    return facts.destinationAddresses.some((ip) => cidrContains(cidr, ip));
  }
  const name = facts.destinationName?.toLowerCase().replace(/\.$/, "");
  if (name === undefined) return false;
  const p = pattern.toLowerCase();
  return p.startsWith("*.") ? name.endsWith(p.slice(1)) : name === p;
}

function matchesPort(pattern: string, port: number): boolean {
  const [low, high] = pattern.split("-").map(Number);
  return port >= low && port <= (high ?? low);
}

const COMMANDS: readonly CommandName[] = ["connect", "bind", "udp-associate", "resolve", "resolve-ptr", "http"];

/** Every field a rule may have; any other name is a mistake (a typo such as `client` would match everyone). */
const RULE_FIELDS: ReadonlySet<string> = new Set(
  [
    "action",
    "clients",
    "destinations",
    "ports",
    "users",
    "commands",
    "versions",
    "upstream",
  ] satisfies (keyof Rule)[],
);

/** Throws when `value` is not an array of strings, naming the rule and the field. */
function strings(value: unknown, where: string): readonly string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || !value.every((v) => typeof v === "string")) {
    throw new SocksError("bad-field", `${where} must be an array of strings`);
  }
  return value;
}

/**
 * Checks a rule list up front, so that a bad config is refused at start, naming the rule number and the field:
 * every field's name and type, and every value. Values of any type are accepted so that a JSON file or a caller in
 * plain JavaScript is checked too.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { validateRules } from "./rules.ts";
 * validateRules([{ action: "allow", ports: ["443"] }]);
 * assert.throws(() => validateRules([{ action: "allow", client: ["10.0.0.0/8"] }]), /rule 1: unknown field "client"/);
 * assert.throws(() => validateRules([{ action: "allow", ports: [443] }]), /rule 1: "ports" must be an array of strings/);
 * ```
 */
export function validateRules(rules: unknown): asserts rules is readonly Rule[] {
  if (!Array.isArray(rules)) throw new SocksError("bad-field", "rules must be an array of rules");
  rules.forEach((rule: unknown, i) => {
    const where = `rule ${i + 1}`;
    if (typeof rule !== "object" || rule === null || Array.isArray(rule)) {
      throw new SocksError("bad-field", `${where}: a rule must be an object`);
    }
    const fields = new Map<string, unknown>(Object.entries(rule));
    for (const name of fields.keys()) {
      if (!RULE_FIELDS.has(name)) {
        throw new SocksError(
          "bad-field",
          `${where}: unknown field "${name}" (a rule has ${[...RULE_FIELDS].join(", ")})`,
        );
      }
    }
    const field = (name: string) => `${where}: "${name}"`;
    const action = fields.get("action");
    if (action !== "allow" && action !== "deny") {
      throw new SocksError("bad-field", `${where}: action must be "allow" or "deny"`);
    }
    for (const c of strings(fields.get("clients"), field("clients")) ?? []) {
      try {
        parseCidr(c);
      } catch (error) {
        throw new SocksError("bad-field", `${where}: clients: ${(error as Error).message}`);
      }
    }
    for (const d of strings(fields.get("destinations"), field("destinations")) ?? []) {
      try {
        if (looksLikeCidr(d)) parseCidr(d);
        else if (d.length === 0 || d.includes("/")) throw new Error(`bad destination "${d}"`);
      } catch (error) {
        throw new SocksError("bad-field", `${where}: destinations: ${(error as Error).message}`);
      }
    }
    for (const p of strings(fields.get("ports"), field("ports")) ?? []) {
      const m = /^([0-9]{1,5})(?:-([0-9]{1,5}))?$/.exec(p);
      if (!m || Number(m[1]) > 65535 || Number(m[2] ?? m[1]) > 65535 || Number(m[2] ?? m[1]) < Number(m[1])) {
        throw new SocksError("bad-field", `${where}: ports: bad port range "${p}"`);
      }
    }
    for (const u of strings(fields.get("users"), field("users")) ?? []) {
      if (u === "") throw new SocksError("bad-field", `${where}: users: a user name is not empty`);
    }
    for (const c of strings(fields.get("commands"), field("commands")) ?? []) {
      if (!COMMANDS.some((name) => name === c)) {
        throw new SocksError("bad-field", `${where}: commands: unknown command "${c}" (${COMMANDS.join(", ")})`);
      }
    }
    const versions = fields.get("versions");
    if (versions !== undefined && !(Array.isArray(versions) && versions.every((v) => v === 4 || v === 5))) {
      throw new SocksError("bad-field", `${where}: "versions" must be an array of 4 and 5 (numbers)`);
    }
    const upstream = fields.get("upstream");
    if (upstream !== undefined && upstream !== "direct") {
      if (!Array.isArray(upstream) || upstream.length === 0 || !upstream.every((u) => typeof u === "string")) {
        throw new SocksError("bad-field", `${where}: upstream must be "direct" or a non-empty list of proxy URLs`);
      }
      for (const url of upstream as string[]) {
        try {
          parseProxyUrl(url);
        } catch (error) {
          throw new SocksError("bad-field", `${where}: upstream: ${(error as Error).message}`);
        }
      }
    }
  });
}

/**
 * Decides a request: the action of the first matching rule; "allow" with no rules; "deny" when rules exist and
 * none matches; "need-addresses" when a rule on address ranges must be checked and the name is not resolved yet.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decide } from "./rules.ts";
 * const rules = [{ action: "deny" as const, destinations: ["*.example.com"] }, { action: "allow" as const }];
 * const facts = {
 *   client: "127.0.0.1", version: 5 as const, user: undefined, command: "connect" as const,
 *   destinationName: "www.example.com", destinationAddresses: undefined, port: 443,
 * };
 * assert.equal(decide(rules, facts), "deny");
 * ```
 */
export function decide(rules: readonly Rule[], facts: RequestFacts): "allow" | "deny" | "need-addresses" {
  if (rules.length === 0) return "allow";
  const rule = decidingRule(rules, facts);
  return rule === "need-addresses" ? rule : rule?.action ?? "deny";
}

/**
 * True when a rule allows `address` by naming a range that holds it: the one way to open a protected destination
 * (the proxy's own loopback or link-local ranges), since a catch-all "allow" or a name must not reach them.
 */
export function explicitlyAllows(rules: readonly Rule[], facts: RequestFacts, address: string): boolean {
  const rule = decidingRule(rules, { ...facts, destinationAddresses: [address] });
  return typeof rule === "object" && rule.action === "allow" &&
    (rule.destinations ?? []).some((d) => looksLikeCidr(d) && cidrContains(parseCidr(d), address));
}

/** The first rule whose every condition matches; "need-addresses" when that depends on a name not resolved yet. */
export function decidingRule(rules: readonly Rule[], facts: RequestFacts): Rule | "need-addresses" | undefined {
  for (const rule of rules) {
    if (rule.clients && !rule.clients.some((c) => cidrContains(parseCidr(c), facts.client))) continue;
    if (rule.destinations) {
      const results = rule.destinations.map((d) => matchesDestination(d, facts));
      if (!results.includes(true)) {
        if (results.includes(undefined)) return "need-addresses";
        continue;
      }
    }
    if (rule.ports && !rule.ports.some((p) => matchesPort(p, facts.port))) continue;
    if (rule.users && (facts.user === undefined || !rule.users.includes(facts.user))) continue;
    if (rule.commands && !rule.commands.includes(facts.command)) continue;
    if (rule.versions && !rule.versions.includes(facts.version as 4 | 5)) continue;
    return rule;
  }
  return undefined;
}
