/**
 * The settings of running at scale: `--workers N|auto`, `--metrics ADDR:PORT` and `--proxy-protocol CIDR`, each
 * parsed from a flag's text or a config file's value. Every mistake is a UsageError naming where it came from.
 *
 * @module
 */
import { availableParallelism, cpus } from "node:os";
import { parseCidr } from "../lib/cidr.ts";
import { isLoopback } from "../lib/endpoint.ts";
import { parseHostPort } from "../lib/wire/address.ts";
import { UsageError } from "./usage_error.ts";

/** The most workers `--workers` takes: more processes than this is a typo, not a plan. */
export const MAX_WORKERS = 256;

/** The number of cores this machine has (what `--workers auto` starts). */
export function coreCount(): number {
  return typeof availableParallelism === "function" ? availableParallelism() : Math.max(1, cpus().length);
}

/** Parses `--workers`: a whole number from 1 to {@link MAX_WORKERS}, or `auto` (one per core). */
export function parseWorkers(value: string | number | undefined, where: string): number {
  if (value === undefined) return 1;
  if (value === "auto") return coreCount();
  const n = typeof value === "number" ? value : /^[0-9]+$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > MAX_WORKERS) {
    throw new UsageError(`${where}: "${value}" is neither auto nor a whole number from 1 to ${MAX_WORKERS}`);
  }
  return n;
}

/** Where the metrics listener listens. */
export interface MetricsAddress {
  readonly hostname: string;
  readonly port: number;
}

/**
 * Parses `--metrics ADDR:PORT`. A non-loopback address is refused unless `allowOpen` (or authentication, which
 * the metrics endpoint does not have but which shows the operator thought about exposure) says otherwise.
 */
export function parseMetricsAddress(
  text: string | undefined,
  where: string,
  exposure: { readonly allowOpen: boolean; readonly authenticated: boolean },
): MetricsAddress | undefined {
  if (text === undefined) return undefined;
  let endpoint: MetricsAddress;
  try {
    const { address, port } = parseHostPort(text);
    if (address.type === "domain" && address.host !== "localhost") throw new Error("use an IP address");
    endpoint = { hostname: address.type === "domain" ? "127.0.0.1" : address.host, port };
  } catch (error) {
    throw new UsageError(`${where}: "${text}": ${(error as Error).message}`);
  }
  if (!isLoopback(endpoint.hostname) && !exposure.allowOpen && !exposure.authenticated) {
    throw new UsageError(
      `${where}: refusing to serve metrics on ${text}, which is not loopback: add users or pass --allow-open`,
    );
  }
  return endpoint;
}

/** Checks `--proxy-protocol` ranges; returns them as given. */
export function parseProxyRanges(ranges: readonly string[] | undefined, where: string): string[] {
  for (const range of ranges ?? []) {
    try {
      parseCidr(range);
    } catch (error) {
      throw new UsageError(`${where}: ${(error as Error).message}`);
    }
  }
  return [...(ranges ?? [])];
}
