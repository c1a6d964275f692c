/**
 * `tabi serve`: run the proxy until SIGINT or SIGTERM, then let open tunnels finish for the grace period.
 *
 * @module
 */
import { stat } from "node:fs/promises";
import process from "node:process";
import { formatRecord } from "../lib/server/connection_record.ts";
import type { ServerOptions } from "../lib/server/config.ts";
import { formatPrometheus } from "../lib/server/metrics.ts";
import type { Network } from "../lib/net/network.ts";
import { defaultNetwork, defaultTlsClient, runtimeName } from "../lib/runtime/detect.ts";
import { readProxyCa } from "./proxy_cacert.ts";
import { type SocksServer, startServer } from "../lib/server/server.ts";
import { formatEndpoint } from "../lib/net/endpoint.ts";
import { VERSION } from "../lib/version.ts";
import { SocksError } from "../lib/wire/socks_error.ts";
import { parseOptions } from "./flags.ts";
import type { CliOutput } from "./output.ts";
import { SERVE_SETTINGS } from "./serve_settings.ts";
import { configKeys, serveOptionsHelp, serveOptionTable, type ServeSettings, serveSettings } from "./serve_config.ts";
import { startMetricsServer } from "./metrics_server.ts";
import { reloadServer } from "./reload.ts";
import { StateDir } from "./state_store.ts";
import { QuotaSync } from "./quota_sync.ts";
import { redisQuotaStore } from "./quota_store_redis.ts";
import { periodOf, QuotaLedger } from "../lib/server/quota_ledger.ts";
import { checkMetricsExposure } from "./scale_settings.ts";
import { fixPorts, serveAsWorker, startWorkers, workerIndex, workerListen, type WorkerPool } from "./workers.ts";
import { ALL_PROTOCOLS } from "../lib/server/config.ts";
import { formatProxy, parseProxyUrl } from "../lib/client/proxy_url.ts";
import { USAGE_EXIT_CODE } from "./usage_error.ts";
import { serveGssApiAuthenticators } from "./gssapi_flags.ts";
import { readTlsFiles } from "./tls_files.ts";
import { checkDnsExposure } from "./dns_settings.ts";
import { NameMap } from "../lib/server/name_map.ts";
import { type DnsPort, startDnsPort } from "../lib/server/dns_port.ts";

/** The help text of `tabi serve`, derived from the settings table. */
export const SERVE_HELP: string = `Usage: tabi serve [options]

Runs a proxy speaking SOCKS4, SOCKS4a, SOCKS5 and HTTP/1.1 (CONNECT and http:// URLs) on every listen
address; the first byte of a connection tells them apart (--protocols narrows them). Times are in seconds (fractions
allowed) up to 2147483 (about 24.8 days, the longest timer); a timeout of 0 means never. SIGINT or SIGTERM stops
it (a second one cuts open tunnels at once); SIGHUP reads the config and users files again for new connections.

Options:
${serveOptionsHelp()}
Config file keys (JSON object; times in seconds; a flag wins over its key):
${wrap(configKeys().join(", "), 2, 116)}
`;

function wrap(text: string, indent: number, width: number): string {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line !== "" && indent + line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === "" ? word : `${line} ${word}`;
  }
  return [...lines, line].map((l) => `${" ".repeat(indent)}${l}`).join("\n");
}

/** Runs `tabi serve` with its arguments; resolves with the exit code once the server has stopped. */
export async function serve(args: string[], output: CliOutput): Promise<number> {
  const { values, positionals } = parseOptions(args, serveOptionTable());
  if (values.help) {
    output.out(SERVE_HELP);
    return 0;
  }
  if (positionals.length > 0) {
    output.err(`tabi serve: unexpected argument "${positionals[0]}" (see tabi serve --help)\n`);
    return USAGE_EXIT_CODE;
  }
  const settings = await serveSettings(values);
  // Workers share their main process's settings: one warning, from the main process.
  if (settings.usersFile && workerIndex() === undefined) {
    // A users file holds passwords: warn when others may read it, as ssh does for keys.
    const mode = await stat(settings.usersFile).then((s) => s.mode, () => 0);
    if (mode & 0o077) output.err(`tabi: warning: ${settings.usersFile} is readable by others (chmod 600 it)\n`);
  }
  const users = settings.options.users?.size ?? 0;
  checkMetricsExposure(settings.metrics, { allowOpen: settings.options.allowOpen ?? false, authenticated: users > 0 });
  checkDnsExposure(settings.dns, { allowOpen: settings.options.allowOpen ?? false, authenticated: users > 0 });
  if ((settings.dns.listen ?? []).length > 0 && settings.workers > 1) {
    // Each worker would hold its own map: an address one worker handed out would be unknown to the others.
    output.err("tabi serve: --dns needs one process: it cannot be combined with --workers\n");
    return USAGE_EXIT_CODE;
  }
  // The CLI is an edge: it picks the running runtime's Network and hands it to the core.
  const network = await defaultNetwork();
  const worker = workerIndex();
  if (worker === undefined && settings.workers > 1) {
    return await supervise(["serve", ...args], settings, network, output);
  }
  const tag = worker === undefined ? "tabi" : `tabi: worker ${worker}`;
  let server: SocksServer | undefined;
  let nameMap: NameMap | undefined;
  try {
    nameMap = (settings.dns.listen ?? []).length > 0 ? new NameMap(settings.dns.map) : undefined;
  } catch (error) {
    output.err(`${tag}: ${(error as Error).message}\n`);
    return 1;
  }
  const toOptions = async (current: ServeSettings): Promise<ServerOptions & { readonly network: Network }> => ({
    ...current.options,
    // One map for the life of the process: a reload takes its new size, and names stay mapped.
    ...(nameMap ? { nameMap: (nameMap.reconfigure(current.dns.map ?? {}), nameMap) } : {}),
    // GSS-API methods come first when enabled; they take the users of the settings being applied.
    ...await serveGssApiAuthenticators(current.gssapi, current.options.users).then((gssapi) =>
      gssapi ? { authenticators: gssapi } : {}
    ),
    network,
    // Read on every call: at start, and again on SIGHUP (a broken file then fails the reload, which changes nothing).
    ...await readTlsFiles(current.tls).then((tls) => tls ? { tls } : {}),
    // TLS upstreams (https://, socks5h+tls://): the runtime's TLS client, loaded at the first one.
    upstreamTls: {
      client: defaultTlsClient,
      ca: await readProxyCa(current.proxyCacert?.path, current.proxyCacert?.where),
    },
    ...(worker === undefined ? {} : { listen: workerListen() ?? current.options.listen, reusePort: true }),
    onConnectionEnd: current.quiet
      ? undefined
      : (record) => output.err(`${formatRecord(worker === undefined ? record : { ...record, worker }, current.log)}\n`),
    // Refusals are summed per interval, never logged per connection: a flood must not flood the log.
    onLimit: (report) => {
      const parts = SERVE_SETTINGS.flatMap(({ flag, limit }) => {
        const n = limit && report.refused[limit];
        return n ? [`${n} over --${flag} (${server!.limits[limit]})`] : [];
      });
      output.err(`${tag}: refused in the last ${report.intervalMs / 1000} s: ${parts.join(", ")}\n`);
    },
    // Out of file descriptors: one line per interval while it lasts; the server keeps serving the others.
    onAcceptError: (error) => output.err(`${tag}: ${error.message}\n`),
  });
  // The settings in force (a reload replaces them), for the quota store's list of users with quotas.
  let current = settings;
  // The quota counts: one ledger for the process's life, saved to and read back from the state directory.
  const ledger = new QuotaLedger();
  const state = settings.stateDir === undefined ? undefined : new StateDir(settings.stateDir, ledger);
  if (state && settings.quotaStore) {
    output.err(`${tag}: --state-dir and --quota-store: choose one (the store keeps the counts)\n`);
    return USAGE_EXIT_CODE;
  }
  let quotaSync: QuotaSync | undefined;
  try {
    await state?.load();
    if (settings.quotaStore) {
      // Connection errors are reported by the sync, once per outage; the client itself retries.
      const store = await redisQuotaStore(settings.quotaStore, () => {});
      quotaSync = new QuotaSync(ledger, store, (line) => output.err(`${tag}: ${line}\n`));
      quotaSync.watched = () => quotaKeys(current.options.userLimits);
      await quotaSync.sync();
    }
  } catch (error) {
    output.err(
      `${tag}: ${state ? `--state-dir ${settings.stateDir}: cannot read the saved counts` : "--quota-store"}: ${
        (error as Error).message
      }\n`,
    );
    return 1;
  }
  const withLedger = async (next: ServeSettings) => {
    const options = await toOptions(next);
    current = next;
    return { ...options, quotaLedger: ledger };
  };
  try {
    server = await startServer(await withLedger(settings));
  } catch (error) {
    if (error instanceof SocksError) {
      output.err(`${tag}: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
  const metrics = worker === undefined && settings.metrics
    ? await startMetricsServer(network, settings.metrics, {
      metrics: () => Promise.resolve(formatPrometheus(server.metrics())),
      accepting: () => server.accepting,
    })
    : undefined;
  const dnsPorts: DnsPort[] = [];
  try {
    for (const listen of nameMap ? settings.dns.listen ?? [] : []) {
      dnsPorts.push(await startDnsPort(network, listen, nameMap!));
    }
  } catch (error) {
    output.err(`${tag}: --dns: ${(error as Error).message}\n`);
    await Promise.all(dnsPorts.map((port) => port.close()));
    await server.close(0);
    return 1;
  }
  const addresses = server.addresses.map(formatEndpoint).join(", ");
  const who = worker === undefined ? `tabi ${VERSION} (${runtimeName()} ${runtimeVersion()})` : tag;
  // Handlers first, then the line that tells a supervisor (or a test) the server is up and may be signalled.
  // New users, rules and limits for new connections; open tunnels keep what they started with.
  state?.start((error) => output.err(`${tag}: --state-dir: cannot save the counts: ${error.message}\n`));
  quotaSync?.start();
  onSignal("SIGHUP", () =>
    void (async () => {
      // The saved counts are read back first (an operator may have edited them), the bytes since added on top.
      await state?.load().catch((error) => output.err(`${tag}: SIGHUP: --state-dir: ${(error as Error).message}\n`));
      await quotaSync?.sync();
      await reloadServer(server, () => serveSettings(values), withLedger, output, tag);
    })());
  const cut = new Promise<boolean>((resolve) => {
    let signals = 0;
    const stop = (signal: string) => {
      signals++;
      if (signals === 1) {
        output.err(
          `${tag}: ${signal}: no new connections; ${server.activeConnections} open, waiting up to ${
            settings.graceMs / 1000
          } s\n`,
        );
        server.close(settings.graceMs).then(() => resolve(signals > 1));
      } else if (worker !== undefined) {
        // A worker hears SIGTERM from its main process and perhaps from a service manager too: drain once. The
        // main process cuts tunnels with SIGKILL.
      } else if (signals === 2) {
        // Cut now, but let each cut tunnel's log line out first: the close resolves once all are written.
        output.err(`tabi: ${signal} again, closing every connection now\n`);
        void server.close(0);
      } else process.exit(1);
    };
    onSignal("SIGTERM", () => stop("SIGTERM"));
    if (worker === undefined) {
      onSignal("SIGINT", () => stop("SIGINT"));
    } else {
      // The main process passes SIGINT on as SIGTERM; the terminal's SIGINT to the whole group is not a second one.
      onSignal("SIGINT", () => {});
      serveAsWorker(server.addresses, () => server.metrics(), () => {
        if (signals === 0) stop("stdin closed (the main process stops or is gone)");
      });
    }
  });
  for (const port of dnsPorts) output.err(`tabi: DNS port on ${formatEndpoint(port.address)} (UDP and TCP)\n`);
  if (worker === undefined) output.err(`${who}: listening on ${addresses} (${describeServer(settings)})\n`);
  if (metrics) output.err(`tabi: metrics on http://${formatEndpoint(metrics.address)}/metrics\n`);
  const wasCut = await cut;
  await state?.stop().catch((error) => output.err(`${tag}: --state-dir: cannot save the counts: ${error.message}\n`));
  await quotaSync?.stop();
  await metrics?.close();
  await Promise.all(dnsPorts.map((port) => port.close()));
  output.err(`${who}: stopped${wasCut ? " (connections cut)" : ""}; was listening on ${addresses}\n`);
  return wasCut ? 1 : 0;
}

/** The main process of `--workers N`: starts them, passes signals on, serves metrics. */
async function supervise(
  args: string[],
  settings: ServeSettings,
  network: Network,
  output: CliOutput,
): Promise<number> {
  // Signals are handled from the very start, before any worker exists: a SIGHUP that came before its handler would
  // end this process (the default), and with it the whole server. Before the workers start there is nothing to pass
  // a reload on to (they read the files as they start); a SIGTERM then stops the start.
  let pool: WorkerPool | undefined = undefined;
  let stopAtStart: string | undefined;
  let signals = 0;
  let settle: (cut: boolean) => void = () => {};
  const cut = new Promise<boolean>((resolve) => (settle = resolve));
  const stop = (signal: string) => {
    signals++;
    if (pool === undefined) {
      stopAtStart ??= signal;
    } else if (signals === 1) {
      output.err(`tabi: ${signal}: draining ${settings.workers} workers, up to ${settings.graceMs / 1000} s\n`);
      pool.stop().then(() => settle(signals > 1));
    } else {
      output.err(`tabi: ${signal} again, killing the workers (every connection closes now)\n`);
      pool.signal("SIGKILL");
    }
  };
  onSignal("SIGINT", () => stop("SIGINT"));
  onSignal("SIGTERM", () => stop("SIGTERM"));
  onSignal("SIGHUP", () => {
    if (pool === undefined) return;
    output.err(`tabi: SIGHUP: passed on to ${settings.workers} workers\n`);
    pool.signal("SIGHUP");
  });
  let listen;
  try {
    listen = await fixPorts(network, settings.options.listen ?? []);
  } catch (error) {
    output.err(`tabi: ${(error as Error).message}\n`);
    return 1;
  }
  if (stopAtStart !== undefined) {
    output.err(`tabi: ${stopAtStart} before the workers started: stopped\n`);
    return 0;
  }
  pool = startWorkers(settings.workers, args, listen, output);
  const metrics = settings.metrics
    ? await startMetricsServer(network, settings.metrics, { metrics: () => pool.metrics(), accepting: pool.accepting })
    : undefined;
  try {
    await pool.ready;
  } catch (error) {
    output.err(`tabi: ${(error as Error).message}\n`);
    await metrics?.close();
    return 1;
  }
  const addresses = listen.map(formatEndpoint).join(", ");
  const who = `tabi ${VERSION} (${runtimeName()} ${runtimeVersion()})`;
  output.err(
    `${who}: listening on ${addresses} (${describeServer(settings)}; ${settings.workers} workers, ` +
      `pids ${pool.pids().join(" ")})\n`,
  );
  if (metrics) output.err(`tabi: metrics on http://${formatEndpoint(metrics.address)}/metrics\n`);
  const wasCut = await cut;
  await metrics?.close();
  output.err(`${who}: stopped${wasCut ? " (connections cut)" : ""}; was listening on ${addresses}\n`);
  return wasCut ? 1 : 0;
}

/** What the listening line says in parentheses: the protocols, the authentication, the upstream chain. */
function describeServer(settings: ServeSettings): string {
  const users = settings.options.users?.size ?? 0;
  const { safeSocks, testSocks, acceptAnyCredentials } = settings.options;
  const auth = [
    ...(settings.gssapi.enabled ? [`GSS-API (service ${settings.gssapi.service ?? "rcmd"})`] : []),
    users > 0
      ? `username/password, ${users} user${users === 1 ? "" : "s"}`
      : acceptAnyCredentials
      ? "no authentication, any username/password taken as a label"
      : settings.gssapi.enabled
      ? ""
      : "no authentication",
    ...(safeSocks ? ["safe-socks: requests by address refused"] : []),
    ...(testSocks ? ["test-socks"] : []),
    ...(settings.tls.cert ? [settings.options.tlsOnly ? "TLS only" : "TLS too"] : []),
  ].filter((part) => part !== "").join("; ");
  const protocols = settings.options.protocols ?? ALL_PROTOCOLS;
  const spoken = [
    ...(protocols.includes("socks4") ? ["SOCKS4, 4a"] : []),
    ...(protocols.includes("socks5") ? [protocols.includes("socks4") ? "5" : "SOCKS5"] : []),
    ...(protocols.includes("http") ? ["HTTP"] : []),
  ].join(", ");
  const via = settings.options.upstream?.length
    ? `; upstream ${
      settings.options.upstream.map((u) => typeof u === "string" ? redactUrl(u) : formatProxy(u)).join(" -> ")
    }`
    : "";
  return `${spoken}; ${auth}${via}`;
}

/** A proxy URL for the log: without its password. */
function redactUrl(url: string): string {
  return formatProxy(parseProxyUrl(url));
}

/** The running runtime's version. */
function runtimeVersion(): string {
  const versions: Readonly<Record<string, string | undefined>> = process.versions;
  return versions[runtimeName()] ?? "?";
}

/** Listens for a signal where the platform has it (Windows has no SIGHUP). */
function onSignal(signal: "SIGHUP" | "SIGINT" | "SIGTERM", handler: () => void): void {
  try {
    process.on(signal, handler);
  } catch {
    // Not on this platform: nothing to handle.
  }
}

/** The quota keys of users with a quota, each with its current period: what the quota store fetches every time. */
function quotaKeys(limits: ServerOptions["userLimits"]): Record<string, string> {
  const keys: Record<string, string> = {};
  const now = new Date();
  for (const [name, limit] of Object.entries(limits ?? {})) {
    if (limit.quotaBytes !== undefined) keys[`user:${name}`] = periodOf(limit.quotaPeriod ?? "month", now);
  }
  return keys;
}
