/**
 * The kinds of value of running at scale, for the settings table (serve_settings.ts): `--workers N|auto`,
 * `--metrics ADDR:PORT` and `--proxy-protocol CIDR`, and the check that keeps metrics off open addresses.
 *
 * @module
 */
import { availableParallelism, cpus } from "node:os";
import { parseCidr } from "../lib/net/cidr.ts";
import { isLoopback } from "../lib/net/endpoint.ts";
import { parseHostPort } from "../lib/wire/address.ts";
import type { FlagValue, Kind } from "./setting_kinds.ts";
import { UsageError } from "./usage_error.ts";

/** The most workers `--workers` takes: more processes than this is a typo, not a plan. */
export const MAX_WORKERS = 256;

/** The number of cores this machine has (what `--workers auto` starts). */
export function coreCount(): number {
  return typeof availableParallelism === "function" ? availableParallelism() : Math.max(1, cpus().length);
}

/** Where the metrics listener listens. */
export interface MetricsAddress {
  readonly hostname: string;
  readonly port: number;
}

const isString = (v: unknown): v is string => typeof v === "string";

function workers(value: string | number): number | undefined {
  if (value === "auto") return coreCount();
  if (isString(value) && !/^[0-9]+$/.test(value)) return undefined;
  const n = Number(value);
  return Number.isInteger(n) && n >= 1 && n <= MAX_WORKERS ? n : undefined;
}

function metricsAddress(text: string): MetricsAddress {
  const { address, port } = parseHostPort(text);
  if (address.type === "domain" && address.host !== "localhost") throw new Error(`"${text}": use an IP address`);
  return { hostname: address.type === "domain" ? "127.0.0.1" : address.host, port };
}

function cidrs(values: readonly string[]): string[] {
  // parseCidr throws a message naming the bad text; the table adds the flag or key.
  for (const range of values) parseCidr(range);
  return [...values];
}

/** The kinds of the three settings. */
export const SCALE_KINDS = {
  /** `N` (1 to {@link MAX_WORKERS}) or `auto`: one per core. */
  workers: {
    option: { type: "string" },
    arg: "N|auto",
    expected: `auto or a whole number from 1 to ${MAX_WORKERS}`,
    fromFlag: (v: FlagValue) => (isString(v) ? workers(v) : undefined),
    fromJson: (v: unknown) => (isString(v) || typeof v === "number" ? workers(v) : undefined),
    show: String,
  } satisfies Kind<number>,
  /** An `ADDR:PORT` to serve metrics on. */
  endpoint: {
    option: { type: "string" },
    arg: "ADDR:PORT",
    expected: "ADDR:PORT",
    fromFlag: (v: FlagValue) => (isString(v) ? metricsAddress(v) : undefined),
    fromJson: (v: unknown) => (isString(v) ? metricsAddress(v) : undefined),
    show: (a: MetricsAddress) => `${a.hostname}:${a.port}`,
  } satisfies Kind<MetricsAddress>,
  /** CIDR ranges: repeatable flags, an array in the file. */
  cidrs: {
    option: { type: "string", multiple: true },
    arg: "CIDR",
    expected: "an array of CIDR ranges",
    fromFlag: (v: FlagValue) => (Array.isArray(v) && v.every(isString) ? cidrs(v) : undefined),
    fromJson: (v: unknown) => (Array.isArray(v) && v.every(isString) ? cidrs(v) : undefined),
    show: (ranges: readonly string[]) => ranges.join(", "),
  } satisfies Kind<readonly string[]>,
} as const;

/**
 * Refuses metrics on a non-loopback address unless `--allow-open` says so or users are configured (whoever set up
 * authentication has thought about who reaches the machine; the metrics name no user and no destination).
 */
export function checkMetricsExposure(
  metrics: MetricsAddress | undefined,
  exposure: { readonly allowOpen: boolean; readonly authenticated: boolean },
): void {
  if (metrics === undefined || isLoopback(metrics.hostname) || exposure.allowOpen || exposure.authenticated) return;
  throw new UsageError(
    `--metrics: refusing to serve metrics on ${metrics.hostname}:${metrics.port}, which is not loopback: ` +
      `add users or pass --allow-open`,
  );
}
