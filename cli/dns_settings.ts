/**
 * The DNS port's settings for the settings table (serve_settings.ts): `--dns ADDR:PORT` (repeatable), the mapped
 * ranges and the map's size, and the check that keeps the DNS port off open addresses.
 *
 * @module
 */
import { parseCidr } from "../lib/net/cidr.ts";
import { isLoopback } from "../lib/net/endpoint.ts";
import type { NameMapOptions } from "../lib/server/name_map.ts";
import { type Kind, KINDS, type ListenAddress } from "./setting_kinds.ts";
import { UsageError } from "./usage_error.ts";

/** What the DNS settings add to the settings `tabi serve` runs with. */
export interface DnsSettings {
  /** Where DNS ports listen, UDP and TCP each (`--dns`). */
  readonly listen?: readonly ListenAddress[];
  /** The name map's ranges and size. */
  readonly map?: NameMapOptions;
}

const isString = (v: unknown): v is string => typeof v === "string";

function cidr(text: string): string {
  parseCidr(text); // Throws a message naming the bad text; the table adds the flag or key.
  return text;
}

/** The kinds of the DNS settings. */
export const DNS_KINDS = {
  /** Repeatable `ADDR:PORT`, an array in the file. */
  listen: KINDS.listen,
  /** One CIDR range. */
  cidr: {
    option: { type: "string" },
    arg: "CIDR",
    expected: "a CIDR range",
    fromFlag: (v) => (isString(v) ? cidr(v) : undefined),
    fromJson: (v) => (isString(v) ? cidr(v) : undefined),
    show: String,
  } satisfies Kind<string>,
} as const;

/**
 * Refuses a DNS port on a non-loopback address unless `--allow-open` says so or users are configured, as for
 * `--metrics`: an open DNS port would hand anyone mapped addresses and answer floods toward forged sources.
 */
export function checkDnsExposure(
  dns: DnsSettings,
  exposure: { readonly allowOpen: boolean; readonly authenticated: boolean },
): void {
  if (exposure.allowOpen || exposure.authenticated) return;
  const open = (dns.listen ?? []).find((l) => !isLoopback(l.hostname));
  if (open === undefined) return;
  throw new UsageError(
    `--dns: refusing a DNS port on ${open.hostname}:${open.port}, which is not loopback: add users or pass --allow-open`,
  );
}
