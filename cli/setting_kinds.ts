/**
 * The kinds of value a `tabi serve` setting can hold: how each is written on the command line and in the JSON
 * config file, how it is checked, and how it is shown in the help. A setting row (serve_settings.ts) names its kind.
 *
 * @module
 */
import { readFile } from "node:fs/promises";
import { type Rule, validateRules } from "../lib/server/rules.ts";
import { ipAddress } from "../lib/net/endpoint.ts";
import { ALL_PROTOCOLS, type ServerProtocol } from "../lib/server/config.ts";
import { MAX_TIMER_MS } from "../lib/time/timer_slots.ts";
import { parseProxyUrl } from "../lib/client/proxy_url.ts";
import { parseHostPort } from "../lib/wire/address.ts";
import { UsageError } from "./usage_error.ts";
import type { UsageLimit } from "../lib/server/usage_control.ts";
import { QUOTA_PERIODS, type QuotaPeriod } from "../lib/server/quota_ledger.ts";

/** The config file's users: names and passwords, and the limits of those given as objects. */
export interface UserObjects {
  readonly users: ReadonlyMap<string, string>;
  readonly limits: Readonly<Record<string, UsageLimit>>;
}

/** What parseArgs hands over for one flag. */
export type FlagValue = string | boolean | (string | boolean)[];

/**
 * One kind of value. `fromFlag` and `fromJson` return undefined when the value has the wrong shape (the caller then
 * says "is not"/"must be" `expected`, naming the flag or key) and throw an Error for any other problem.
 */
export interface Kind<V> {
  /** The parseArgs option (without `short`). */
  readonly option: { readonly type: "string" | "boolean"; readonly multiple?: boolean };
  /** The placeholder in the help text ("S", "N", "FILE"); empty for a boolean. */
  readonly arg: string;
  /** What a valid value is, for messages: "a number of seconds >= 0". */
  readonly expected: string;
  readonly fromFlag: (value: FlagValue) => V | undefined;
  readonly fromJson: (value: unknown) => V | undefined;
  /** How a default is written in the help text. */
  readonly show: (value: V) => string;
}

/** An address to listen on. */
export interface ListenAddress {
  readonly hostname: string;
  readonly port: number;
}

const isString = (v: unknown): v is string => typeof v === "string";
/** An IP literal, IPv6 without brackets (it is used as is, not followed by a port). */
const isIp = (v: unknown): v is string => isString(v) && !v.startsWith("[") && ipAddress(v) !== undefined;

function seconds(value: string | number): number | undefined {
  if (isString(value) && !/^[0-9]+(\.[0-9]+)?$/.test(value)) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) return undefined;
  const ms = Math.round(n * 1000);
  // Timers overflow past this and fire at once: refuse rather than clamp, so that what runs is what was asked.
  if (ms > MAX_TIMER_MS) {
    throw new Error(`${value} s is more than ${MAX_TIMER_MS / 1000} s (about 24.8 days), the longest timer`);
  }
  return ms;
}

function count(value: string | number): number | undefined {
  if (isString(value) && !/^[0-9]+$/.test(value)) return undefined;
  const n = Number(value);
  return Number.isInteger(n) && n >= 1 ? n : undefined;
}

/**
 * Parses `name:password` (the password may contain colons); throws an Error saying what is wrong.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseUser } from "./setting_kinds.ts";
 * assert.deepEqual(parseUser("alice:s3:cret"), ["alice", "s3:cret"]);
 * assert.throws(() => parseUser("alice:"), /is not NAME:PASSWORD/);
 * ```
 */
export function parseUser(text: string): [string, string] {
  const colon = text.indexOf(":");
  if (colon <= 0 || colon === text.length - 1) throw new Error(`"${text}" is not NAME:PASSWORD`);
  return checkUser(text.slice(0, colon), text.slice(colon + 1));
}

function checkUser(name: string, password: string): [string, string] {
  if (name === "" || password === "") throw new Error(`user "${name}": a user needs a name and a password`);
  if (new TextEncoder().encode(name).length > 255 || new TextEncoder().encode(password).length > 255) {
    throw new Error(`user "${name}": name and password must each be at most 255 bytes`);
  }
  return [name, password];
}

/**
 * Reads a users file: one `name:password` a line, the password running to the end of the line (trailing blanks
 * included); leading blanks, blank lines and `#` comments are skipped; a file naming no user is refused. `where`
 * names the flag or key that gave the path.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtempSync, writeFileSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { readUsersFile } from "./setting_kinds.ts";
 * const path = join(mkdtempSync(join(tmpdir(), "tabi-users-")), "users");
 * writeFileSync(path, "# users\nalice:pw \n");
 * assert.deepEqual([...await readUsersFile(path, "--users")], [["alice", "pw "]]);
 * ```
 */
export async function readUsersFile(path: string, where: string): Promise<Map<string, string>> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new UsageError(`${where} ${path}: ${(error as Error).message}`);
  }
  const users = new Map(
    text.split(/\r?\n/).flatMap((line, i) => {
      // Leading blanks are indentation; trailing ones belong to the password (trimming would change it).
      const entry = line.trimStart();
      if (entry.trim() === "" || entry.startsWith("#")) return [];
      try {
        return [parseUser(entry)];
      } catch (error) {
        throw new UsageError(`${where} ${path}:${i + 1}: ${(error as Error).message}`);
      }
    }),
  );
  // An empty file would silently mean "no authentication": most likely the wrong file, or one not written yet.
  if (users.size === 0) throw new UsageError(`${where} ${path}: the file names no user (NAME:PASSWORD lines)`);
  return users;
}

function listenAddress(text: string): ListenAddress {
  if (!text.startsWith("[") && text.indexOf(":") !== text.lastIndexOf(":")) {
    // "::1:1080" is itself an IPv6 address: say which was meant with brackets.
    const colon = text.lastIndexOf(":");
    const hint = /^[0-9]{1,5}$/.test(text.slice(colon + 1)) && ipAddress(text.slice(0, colon)) !== undefined
      ? `[${text.slice(0, colon)}]:${text.slice(colon + 1)}`
      : `[${text}]:PORT`;
    throw new Error(`"${text}": write an IPv6 address in brackets, e.g. ${hint}`);
  }
  const { address, port } = parseHostPort(text, 1080);
  if (address.type === "domain" && address.host !== "localhost") {
    throw new Error(`"${text}": use an IP address`);
  }
  return { hostname: address.type === "domain" ? "127.0.0.1" : address.host, port };
}

/** The kinds, by name. */
export const KINDS = {
  /** On or off: a flag without a value, `true`/`false` in the file. */
  boolean: {
    option: { type: "boolean" },
    arg: "",
    expected: "true or false",
    fromFlag: (v) => (typeof v === "boolean" ? v : undefined),
    fromJson: (v) => (typeof v === "boolean" ? v : undefined),
    show: String,
  } satisfies Kind<boolean>,
  /** A file name. */
  file: {
    option: { type: "string" },
    arg: "FILE",
    expected: "a file name",
    fromFlag: (v) => (isString(v) && v !== "" ? v : undefined),
    fromJson: (v) => (isString(v) && v !== "" ? v : undefined),
    show: String,
  } satisfies Kind<string>,
  /** An IP address. */
  ip: {
    option: { type: "string" },
    arg: "IP",
    expected: "an IP address",
    fromFlag: (v) => (isIp(v) ? v : undefined),
    fromJson: (v) => (isIp(v) ? v : undefined),
    show: String,
  } satisfies Kind<string>,
  /** A URL (its scheme checked by the row). */
  url: {
    option: { type: "string" },
    arg: "URL",
    expected: "a URL",
    fromFlag: (v) => (isString(v) && v !== "" ? v : undefined),
    fromJson: (v) => (isString(v) && v !== "" ? v : undefined),
    show: String,
  } satisfies Kind<string>,
  /** IP addresses: the flag repeated; in the file one address or an array of them. */
  ips: {
    option: { type: "string", multiple: true },
    arg: "IP",
    expected: "IP addresses (a string or an array of strings)",
    fromFlag: (v) => (Array.isArray(v) && v.every(isIp) ? (v as string[]) : undefined),
    fromJson: (v) => (isIp(v) ? [v as string] : Array.isArray(v) && v.every(isIp) ? (v as string[]) : undefined),
    show: (addresses) => addresses.join(", "),
  } satisfies Kind<readonly string[]>,
  /** A duration, written in seconds (fractions allowed), held in milliseconds. */
  seconds: {
    option: { type: "string" },
    arg: "S",
    expected: "a number of seconds >= 0",
    fromFlag: (v) => (isString(v) ? seconds(v) : undefined),
    fromJson: (v) => (typeof v === "number" ? seconds(v) : undefined),
    show: (ms) => (ms === 0 ? "0: never" : String(ms / 1000)),
  } satisfies Kind<number>,
  /** A whole number >= 1. */
  count: {
    option: { type: "string" },
    arg: "N",
    expected: "a whole number >= 1",
    fromFlag: (v) => (isString(v) ? count(v) : undefined),
    fromJson: (v) => (typeof v === "number" ? count(v) : undefined),
    show: String,
  } satisfies Kind<number>,
  /** The log format. */
  logFormat: {
    option: { type: "string" },
    arg: "text|json",
    expected: "text or json",
    fromFlag: (v) => (v === "text" || v === "json" ? v : undefined),
    fromJson: (v) => (v === "text" || v === "json" ? v : undefined),
    show: String,
  } satisfies Kind<"text" | "json">,
  /** Listen addresses: repeatable `ADDR:PORT` flags, an array of them in the file. */
  listen: {
    option: { type: "string", multiple: true },
    arg: "ADDR:PORT",
    expected: "an array of strings",
    fromFlag: (v) => (Array.isArray(v) && v.every(isString) ? v.map(listenAddress) : undefined),
    fromJson: (v) => (Array.isArray(v) && v.every(isString) ? v.map(listenAddress) : undefined),
    show: (addresses) => addresses.map((a) => `${a.hostname}:${a.port}`).join(", "),
  } satisfies Kind<readonly ListenAddress[]>,
  /** Users as repeatable `NAME:PASSWORD` flags. */
  userFlags: {
    option: { type: "string", multiple: true },
    arg: "NAME:PASSWORD",
    expected: "NAME:PASSWORD",
    fromFlag: (v) => (Array.isArray(v) && v.every(isString) ? new Map(v.map(parseUser)) : undefined),
    fromJson: () => undefined,
    show: () => "",
  } satisfies Kind<ReadonlyMap<string, string>>,
  /**
   * Users as a JSON object of name: password, or name: `{password, bytesPerSecond, quotaBytes, quotaPeriod}` (the
   * user's bandwidth and quota; lib/server/config.ts checks the values).
   */
  userObject: {
    option: { type: "string" },
    arg: "",
    expected: "an object of name: password or name: {password, bytesPerSecond, quotaBytes, quotaPeriod}",
    fromFlag: () => undefined,
    fromJson: (v) => {
      if (typeof v !== "object" || v === null || Array.isArray(v)) return undefined;
      const users = new Map<string, string>();
      const limits: Record<string, UsageLimit> = {};
      for (const [name, value] of Object.entries(v)) {
        if (isString(value)) {
          users.set(...checkUser(name, value));
          continue;
        }
        if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
        const { password, bytesPerSecond, quotaBytes, quotaPeriod, ...rest } = value as Record<string, unknown>;
        const unknown = Object.keys(rest);
        if (unknown.length > 0) throw new Error(`user "${name}": unknown field "${unknown[0]}"`);
        if (!isString(password)) throw new Error(`user "${name}": "password" must be a string`);
        for (const [field, n] of [["bytesPerSecond", bytesPerSecond], ["quotaBytes", quotaBytes]] as const) {
          if (n !== undefined && typeof n !== "number") throw new Error(`user "${name}": "${field}" must be a number`);
        }
        if (quotaPeriod !== undefined && !QUOTA_PERIODS.includes(quotaPeriod as QuotaPeriod)) {
          throw new Error(`user "${name}": "quotaPeriod" must be one of ${QUOTA_PERIODS.join(", ")}`);
        }
        users.set(...checkUser(name, password));
        limits[name] = {
          bytesPerSecond: bytesPerSecond as number | undefined,
          quotaBytes: quotaBytes as number | undefined,
          quotaPeriod: quotaPeriod as QuotaPeriod | undefined,
        };
      }
      return { users, limits };
    },
    show: () => "",
  } satisfies Kind<UserObjects>,
  /** A client address's limits: `{bytesPerSecond, quotaBytes, quotaPeriod}` (lib/server/config.ts checks them). */
  limitObject: {
    option: { type: "string" },
    arg: "",
    expected: "an object {bytesPerSecond, quotaBytes, quotaPeriod}",
    fromFlag: () => undefined,
    fromJson: (v) => {
      if (typeof v !== "object" || v === null || Array.isArray(v)) return undefined;
      const { bytesPerSecond, quotaBytes, quotaPeriod, ...rest } = v as Record<string, unknown>;
      if (Object.keys(rest).length > 0) throw new Error(`unknown field "${Object.keys(rest)[0]}"`);
      if (bytesPerSecond !== undefined && typeof bytesPerSecond !== "number") return undefined;
      if (quotaBytes !== undefined && typeof quotaBytes !== "number") return undefined;
      if (quotaPeriod !== undefined && !QUOTA_PERIODS.includes(quotaPeriod as QuotaPeriod)) return undefined;
      return { bytesPerSecond, quotaBytes, quotaPeriod } as UsageLimit;
    },
    show: () => "",
  } satisfies Kind<UsageLimit>,
  /** Access rules: a JSON array of rule objects, checked by lib/server/rules.ts. */
  rules: {
    option: { type: "string" },
    arg: "",
    expected: "an array of rules",
    fromFlag: () => undefined,
    fromJson: (v) => {
      if (!Array.isArray(v)) return undefined;
      // Names the rule number and the field of the first mistake.
      validateRules(v);
      return v;
    },
    show: () => "",
  } satisfies Kind<readonly Rule[]>,
  /** The protocols a listener answers: `socks4,socks5,http` on the command line, an array in the file. */
  protocols: {
    option: { type: "string" },
    arg: "LIST",
    expected: `a list of ${ALL_PROTOCOLS.join(", ")}`,
    fromFlag: (v) => (isString(v) ? protocolList(v.split(",").map((p) => p.trim())) : undefined),
    fromJson: (v) => (Array.isArray(v) && v.every(isString) ? protocolList(v) : undefined),
    show: (list) => list.join(","),
  } satisfies Kind<readonly ServerProtocol[]>,
  /** Proxy URLs of an upstream chain: repeatable flags (first hop first), an array in the file. */
  proxyUrls: {
    option: { type: "string", multiple: true },
    arg: "URL",
    expected: "proxy URLs (socks4, socks4a, socks5, socks5h, socks or http)",
    fromFlag: (v) => (Array.isArray(v) && v.every(isString) && v.length > 0 ? proxyUrls(v) : undefined),
    fromJson: (v) => (Array.isArray(v) && v.every(isString) && v.length > 0 ? proxyUrls(v) : undefined),
    show: (urls) => urls.join(" "),
  } satisfies Kind<readonly string[]>,
} as const;

/** A protocol list, each one known and at least one; undefined otherwise. */
function protocolList(list: readonly string[]): ServerProtocol[] | undefined {
  const known = (p: string): p is ServerProtocol => (ALL_PROTOCOLS as readonly string[]).includes(p);
  return list.length > 0 && list.every(known) ? [...new Set(list)] : undefined;
}

/** Proxy URLs, each parsed once to find mistakes at start (the message names the URL, never its password). */
function proxyUrls(urls: readonly string[]): string[] {
  for (const url of urls) parseProxyUrl(url);
  return [...urls];
}
