/**
 * `tabi serve` settings from flags and an optional JSON config file, all derived from the settings table
 * (serve_settings.ts): the help text, the parseArgs options, the config file's checks, and the ServerOptions.
 * Flags win over the file. Every mistake is a UsageError naming the flag, or the file and the key.
 *
 * @module
 */
import type { GssApiSettings } from "./gssapi_flags.ts";
import type { TlsFileSettings } from "./tls_files.ts";
import { readFile } from "node:fs/promises";
import type { ServerOptions } from "../lib/server/config.ts";
import type { LogFormat } from "../lib/server/connection_record.ts";
import type { OptionTable } from "./flags.ts";
import type { FlagValue } from "./setting_kinds.ts";
import { CLI_DEFAULTS, SERVE_SETTINGS, type Setting, type SettingPart } from "./serve_settings.ts";
import { UsageError } from "./usage_error.ts";
import { oneLine } from "./one_line.ts";
import type { MetricsAddress } from "./scale_settings.ts";
import type { DnsSettings } from "./dns_settings.ts";

/** The settings `tabi serve` runs with. */
export interface ServeSettings {
  readonly options: ServerOptions;
  readonly log: LogFormat;
  readonly quiet: boolean;
  readonly graceMs: number;
  /** Where users came from, for the warning about loose permissions. */
  readonly usersFile: string | undefined;
  /** Processes accepting on every listen address (SO_REUSEPORT); 1: this process serves alone. */
  readonly workers: number;
  /** Where `/metrics` and `/healthz` are served, if anywhere. */
  readonly metrics: MetricsAddress | undefined;
  /** The GSS-API method's settings. */
  readonly gssapi: GssApiSettings;
  /** The upstreams' CA file, when given (read by serve.ts, at start and on SIGHUP). */
  readonly proxyCacert: { readonly path: string; readonly where: string } | undefined;
  /** The TLS certificate and key files, when given (read by serve.ts, at start and on SIGHUP). */
  readonly tls: TlsFileSettings;
  /** Where the quota counts are saved (`--state-dir`), if anywhere. */
  readonly stateDir: string | undefined;
  /** The Redis URL the quota counts are shared through (`--quota-store`), if any. */
  readonly quotaStore: string | undefined;
  /** The DNS ports and their name map (none: no `--dns`). */
  readonly dns: DnsSettings;
}

/**
 * The parseArgs options of `tabi serve`, one per row with a flag.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { serveOptionTable } from "./serve_config.ts";
 * assert.deepEqual(serveOptionTable().listen, { type: "string", multiple: true });
 * assert.deepEqual(serveOptionTable().help, { type: "boolean", short: "h" });
 * ```
 */
export function serveOptionTable(settings: readonly Setting[] = SERVE_SETTINGS): OptionTable {
  return Object.fromEntries(
    settings.flatMap((s) =>
      s.flag === undefined ? [] : [[s.flag, s.short === undefined ? s.option : { ...s.option, short: s.short }]]
    ),
  );
}

/**
 * The options part of `tabi serve --help`: one entry per row with a flag, its help line and default.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { serveOptionsHelp } from "./serve_config.ts";
 * assert.match(serveOptionsHelp(), /\n  --grace S +on SIGINT\/SIGTERM, .* \(default 10\)\n/);
 * ```
 */
export function serveOptionsHelp(settings: readonly Setting[] = SERVE_SETTINGS): string {
  return settings.flatMap((s) => {
    if (s.flag === undefined) return [];
    const name = `${s.short ? `-${s.short}, ` : ""}--${s.flag}${s.arg ? ` ${s.arg}` : ""}`;
    const [first, ...more] = s.help.split("\n");
    const line = `${first}${s.shownDefault !== undefined && s.arg ? ` (default ${s.shownDefault})` : ""}`;
    const head = name.length < 26 ? `  ${name.padEnd(26)}${line}` : `  ${name}   ${line}`;
    return [head, ...more.map((m) => `${" ".repeat(28)}${m}`)];
  }).join("\n") + "\n";
}

/**
 * The config file's keys, for the help text and the check for unknown keys.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { configKeys } from "./serve_config.ts";
 * assert.ok(configKeys().includes("handshakeTimeout"));
 * assert.ok(!configKeys().includes("config"));
 * ```
 */
export function configKeys(settings: readonly Setting[] = SERVE_SETTINGS): string[] {
  return settings.flatMap((s) => s.key === undefined ? [] : [s.key]);
}

async function readConfig(path: string, settings: readonly Setting[]): Promise<Record<string, unknown>> {
  let parsed: unknown;
  try {
    // A BOM is legal at the start of a UTF-8 file (Windows editors write one); JSON.parse refuses it.
    parsed = JSON.parse((await readFile(path, "utf8")).replace(/^\uFEFF/, ""));
  } catch (error) {
    // V8 quotes the bad part of the file, line breaks included; the message must stay one log line.
    throw new UsageError(`--config ${path}: ${oneLine((error as Error).message)}`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new UsageError(`--config ${path}: the file must hold a JSON object`);
  }
  const known = new Set(configKeys(settings));
  for (const key of Object.keys(parsed)) {
    if (!known.has(key)) throw new UsageError(`--config ${path}: unknown field "${key}"`);
  }
  return Object.fromEntries(Object.entries(parsed));
}

function merge(into: SettingPart, part: SettingPart): SettingPart {
  const users = into.options?.users || part.options?.users
    ? new Map([...into.options?.users ?? [], ...part.options?.users ?? []])
    : undefined;
  const limits = into.options?.limits || part.options?.limits
    ? { ...into.options?.limits, ...part.options?.limits }
    : undefined;
  const gssapi = into.gssapi || part.gssapi
    ? { ...into.gssapi, ...part.gssapi, given: [...into.gssapi?.given ?? [], ...part.gssapi?.given ?? []] }
    : undefined;
  const tls = into.tls || part.tls ? { ...into.tls, ...part.tls } : undefined;
  const dns = into.dns || part.dns
    ? { ...into.dns, ...part.dns, map: { ...into.dns?.map, ...part.dns?.map } }
    : undefined;
  return { ...into, ...part, options: { ...into.options, ...part.options, users, limits }, gssapi, tls, dns };
}

/**
 * Turns parsed flags (and the config file `--config` names) into settings. `flags` is what parseArgs returned for
 * {@link serveOptionTable}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { serveSettings } from "./serve_config.ts";
 * const settings = await serveSettings({ listen: ["[::1]:0"], "idle-timeout": "1.5" });
 * assert.deepEqual(settings.options.listen, [{ hostname: "::1", port: 0 }]);
 * assert.equal(settings.options.idleTimeoutMs, 1500);
 * assert.equal(settings.log, "text");
 * ```
 */
export async function serveSettings(
  flags: Readonly<Record<string, FlagValue | undefined>>,
  settings: readonly Setting[] = SERVE_SETTINGS,
): Promise<ServeSettings> {
  const configPath = flags.config;
  if (configPath !== undefined && typeof configPath !== "string") throw new UsageError("--config needs a FILE");
  const file = configPath === undefined ? {} : await readConfig(configPath, settings);
  let result: SettingPart = {};
  for (const s of settings) {
    const flag = s.flag === undefined ? undefined : flags[s.flag];
    // An empty repeated flag (none given) is no flag: the file or the default applies.
    const given = flag !== undefined && !(Array.isArray(flag) && flag.length === 0)
      ? { source: "flag" as const, value: flag, where: `--${s.flag}` }
      : s.key !== undefined && file[s.key] !== undefined
      ? { source: "file" as const, value: file[s.key], where: `--config ${configPath}: "${s.key}"` }
      : undefined;
    result = merge(result, await s.resolve(given));
  }
  return {
    options: result.options ?? {},
    log: result.log ?? CLI_DEFAULTS.log,
    quiet: result.quiet ?? CLI_DEFAULTS.quiet,
    graceMs: result.graceMs ?? CLI_DEFAULTS.graceMs,
    usersFile: result.usersFile,
    workers: result.workers ?? CLI_DEFAULTS.workers,
    metrics: result.metrics,
    gssapi: result.gssapi ?? {},
    tls: result.tls ?? {},
    proxyCacert: result.proxyCacert,
    stateDir: result.stateDir,
    quotaStore: result.quotaStore,
    dns: result.dns ?? {},
  };
}
