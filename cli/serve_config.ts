/**
 * `tabi serve` settings from flags and an optional JSON config file, turned into ServerOptions. Flags win over the
 * file. Every mistake is a UsageError naming the flag, or the file and the field.
 *
 * @module
 */
import { readFile } from "node:fs/promises";
import { parseHostPort } from "../lib/wire/address.ts";
import type { ServerOptions } from "../lib/server/config.ts";
import type { Limits } from "../lib/server/limits.ts";
import type { LogFormat } from "../lib/server/connection_record.ts";
import { type Rule, validateRules } from "../lib/server/rules.ts";
import { UsageError } from "./usage_error.ts";

/** The settings `tabi serve` runs with. */
export interface ServeSettings {
  readonly options: ServerOptions;
  readonly log: LogFormat;
  readonly quiet: boolean;
  readonly graceMs: number;
  /** Where users came from, for the warning about loose permissions. */
  readonly usersFile: string | undefined;
}

/** The flags `tabi serve` takes, as parseArgs reads them. */
export interface ServeFlags {
  listen?: string[];
  user?: string[];
  users?: string;
  config?: string;
  "allow-open"?: boolean;
  "allow-socks4-userid"?: boolean;
  "resolve-extension"?: boolean;
  "connect-timeout"?: string;
  "handshake-timeout"?: string;
  "idle-timeout"?: string;
  "udp-timeout"?: string;
  "external-address"?: string;
  "udp-reassembly"?: boolean;
  ident?: boolean;
  grace?: string;
  log?: string;
  quiet?: boolean;
  "max-clients"?: string;
  "max-clients-per-address"?: string;
  "max-handshakes"?: string;
  "max-udp"?: string;
  "max-udp-per-client"?: string;
  "max-udp-in-flight"?: string;
}

/** Each limit's flag and config key (the key is also the ServerOptions limit's name). */
export const LIMIT_FLAGS: readonly (readonly [flag: keyof ServeFlags & `max-${string}`, key: keyof Limits])[] = [
  ["max-clients", "maxClients"],
  ["max-clients-per-address", "maxClientsPerAddress"],
  ["max-handshakes", "maxHandshakes"],
  ["max-udp", "maxUdpAssociations"],
  ["max-udp-per-client", "maxUdpAssociationsPerClient"],
  ["max-udp-in-flight", "maxUdpDatagramsInFlight"],
];

/** The JSON config file: everything the flags hold, plus rules. Times are in seconds. */
interface ConfigFile {
  listen?: string[];
  users?: Record<string, string>;
  usersFile?: string;
  allowOpen?: boolean;
  allowSocks4UserId?: boolean;
  resolveExtension?: boolean;
  connectTimeout?: number;
  handshakeTimeout?: number;
  idleTimeout?: number;
  udpTimeout?: number;
  externalAddress?: string;
  udpReassembly?: boolean;
  ident?: boolean;
  grace?: number;
  log?: string;
  quiet?: boolean;
  rules?: Rule[];
  maxClients?: number;
  maxClientsPerAddress?: number;
  maxHandshakes?: number;
  maxUdpAssociations?: number;
  maxUdpAssociationsPerClient?: number;
  maxUdpDatagramsInFlight?: number;
}

const CONFIG_KEYS: ReadonlySet<string> = new Set([
  "listen",
  "users",
  "usersFile",
  "allowOpen",
  "allowSocks4UserId",
  "resolveExtension",
  "connectTimeout",
  "handshakeTimeout",
  "idleTimeout",
  "udpTimeout",
  "externalAddress",
  "udpReassembly",
  "ident",
  "grace",
  "log",
  "quiet",
  "rules",
  ...LIMIT_FLAGS.map(([, key]) => key),
]);

function seconds(text: string | number | undefined, what: string): number | undefined {
  if (text === undefined) return undefined;
  const value = typeof text === "number" ? text : Number(text);
  if (typeof text === "string" && !/^[0-9]+(\.[0-9]+)?$/.test(text) || !Number.isFinite(value) || value < 0) {
    throw new UsageError(`${what}: "${text}" is not a number of seconds >= 0`);
  }
  return Math.round(value * 1000);
}

function count(text: string | number | undefined, what: string): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1 || (typeof text === "string" && !/^[0-9]+$/.test(text))) {
    throw new UsageError(`${what}: "${text}" is not a whole number >= 1`);
  }
  return value;
}

/** Parses `name:password` (the password may contain colons). */
export function parseUser(text: string, where: string): [string, string] {
  const colon = text.indexOf(":");
  if (colon <= 0 || colon === text.length - 1) throw new UsageError(`${where}: "${text}" is not NAME:PASSWORD`);
  const name = text.slice(0, colon);
  const password = text.slice(colon + 1);
  if (new TextEncoder().encode(name).length > 255 || new TextEncoder().encode(password).length > 255) {
    throw new UsageError(`${where}: name and password must each be at most 255 bytes`);
  }
  return [name, password];
}

/** Reads a users file: one `name:password` a line; blank lines and `#` comments are skipped. */
export async function readUsersFile(path: string): Promise<[string, string][]> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new UsageError(`--users ${path}: ${(error as Error).message}`);
  }
  return text.split(/\r?\n/).flatMap((line, i) => {
    const trimmed = line.trim();
    if (trimmed === "" || trimmed.startsWith("#")) return [];
    return [parseUser(trimmed, `${path}:${i + 1}`)];
  });
}

async function readConfig(path: string): Promise<ConfigFile> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path, "utf8"));
  } catch (error) {
    throw new UsageError(`--config ${path}: ${(error as Error).message}`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new UsageError(`--config ${path}: the file must hold a JSON object`);
  }
  for (const key of Object.keys(parsed)) {
    if (!CONFIG_KEYS.has(key)) throw new UsageError(`--config ${path}: unknown field "${key}"`);
  }
  const config = parsed as ConfigFile;
  const expect = (key: keyof ConfigFile, type: string, ok: (v: unknown) => boolean) => {
    if (config[key] !== undefined && !ok(config[key])) {
      throw new UsageError(`--config ${path}: "${key}" must be ${type}`);
    }
  };
  expect("listen", "an array of strings", (v) => Array.isArray(v) && v.every((x) => typeof x === "string"));
  expect(
    "users",
    "an object of name: password",
    (v) =>
      typeof v === "object" && v !== null && !Array.isArray(v) && Object.values(v).every((x) => typeof x === "string"),
  );
  for (
    const key of ["allowOpen", "allowSocks4UserId", "resolveExtension", "udpReassembly", "ident", "quiet"] as const
  ) {
    expect(key, "true or false", (v) => typeof v === "boolean");
  }
  for (const key of ["connectTimeout", "handshakeTimeout", "idleTimeout", "udpTimeout", "grace"] as const) {
    expect(key, "a number of seconds", (v) => typeof v === "number" && v >= 0);
  }
  for (const [, key] of LIMIT_FLAGS) {
    expect(key, "a whole number >= 1", (v) => Number.isInteger(v) && (v as number) >= 1);
  }
  for (const key of ["usersFile", "externalAddress", "log"] as const) {
    expect(key, "a string", (v) => typeof v === "string");
  }
  expect("rules", "an array of rules", (v) => Array.isArray(v) && v.every((r) => typeof r === "object" && r !== null));
  try {
    validateRules(config.rules ?? []);
  } catch (error) {
    throw new UsageError(`--config ${path}: ${(error as Error).message}`);
  }
  return config;
}

/** Turns flags (and the config file they name) into settings. */
export async function serveSettings(flags: ServeFlags): Promise<ServeSettings> {
  const file: ConfigFile = flags.config ? await readConfig(flags.config) : {};
  const where = (
    flag: string,
    key: string,
  ) => (flags.config && !(flag in flags) ? `--config ${flags.config}: ${key}` : `--${flag}`);
  const listenTexts = flags.listen && flags.listen.length > 0 ? flags.listen : file.listen ?? ["127.0.0.1:1080"];
  const listen = listenTexts.map((text) => {
    try {
      const { address, port } = parseHostPort(text, 1080);
      if (address.type === "domain" && address.host !== "localhost") throw new Error("use an IP address");
      return { hostname: address.type === "domain" ? "127.0.0.1" : address.host, port };
    } catch (error) {
      throw new UsageError(`${where("listen", "listen")}: "${text}": ${(error as Error).message}`);
    }
  });
  const users = new Map<string, string>(Object.entries(file.users ?? {}));
  const usersFile = flags.users ?? file.usersFile;
  if (usersFile) { for (const [name, password] of await readUsersFile(usersFile)) users.set(name, password); }
  for (const text of flags.user ?? []) {
    const [name, password] = parseUser(text, "--user");
    users.set(name, password);
  }
  const log = flags.log ?? file.log ?? "text";
  if (log !== "text" && log !== "json") {
    throw new UsageError(`${where("log", "log")}: "${log}" is neither text nor json`);
  }
  const externalAddress = flags["external-address"] ?? file.externalAddress;
  return {
    options: {
      listen,
      users,
      rules: file.rules ?? [],
      allowOpen: flags["allow-open"] ?? file.allowOpen ?? false,
      allowSocks4UserId: flags["allow-socks4-userid"] ?? file.allowSocks4UserId ?? false,
      resolveExtension: flags["resolve-extension"] ?? file.resolveExtension ?? false,
      connectTimeoutMs: seconds(
        flags["connect-timeout"] ?? file.connectTimeout,
        where("connect-timeout", "connectTimeout"),
      ),
      handshakeTimeoutMs: seconds(
        flags["handshake-timeout"] ?? file.handshakeTimeout,
        where("handshake-timeout", "handshakeTimeout"),
      ),
      idleTimeoutMs: seconds(flags["idle-timeout"] ?? file.idleTimeout, where("idle-timeout", "idleTimeout")),
      udpIdleTimeoutMs: seconds(flags["udp-timeout"] ?? file.udpTimeout, where("udp-timeout", "udpTimeout")),
      externalAddress,
      udpReassembly: flags["udp-reassembly"] ?? file.udpReassembly ?? false,
      ident: flags.ident ?? file.ident ?? false,
      limits: Object.fromEntries(LIMIT_FLAGS.flatMap(([flag, key]) => {
        const value = count(flags[flag] ?? file[key], where(flag, key));
        return value === undefined ? [] : [[key, value]];
      })),
    },
    log,
    quiet: flags.quiet ?? file.quiet ?? false,
    graceMs: seconds(flags.grace ?? file.grace, where("grace", "grace")) ?? 10_000,
    usersFile,
  };
}
