/**
 * The site an audit gives the program: a name no real DNS knows (under `.test`, RFC 6761), fresh for every run so
 * no cache can answer it, and the documentation addresses (RFC 5737, RFC 3849) the audit's DNS hands out for it,
 * so that a request carrying one of them can only come from the program's own lookup.
 *
 * @module
 */

/** The audit's own site. */
export interface AuditSite {
  /** The host name, e.g. `tabi-audit-3f9a0c12.test`. */
  readonly host: string;
  /** The port of the audit URL (80). */
  readonly port: number;
  /** `http://HOST/`. */
  readonly url: string;
  /** The address the audit's DNS answers for an A question (192.0.2.0/24). */
  readonly ipv4: string;
  /** The address the audit's DNS answers for an AAAA question (2001:db8::/32). */
  readonly ipv6: string;
}

/**
 * A new audit site with a random name and addresses.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { newAuditSite } from "./audit_site.ts";
 * const site = newAuditSite();
 * assert.match(site.host, /^tabi-audit-[0-9a-f]{8}\.test$/);
 * assert.equal(site.url, `http://${site.host}/`);
 * ```
 */
export function newAuditSite(): AuditSite {
  const random = crypto.getRandomValues(new Uint8Array(5));
  const hex = [...random.subarray(0, 4)].map((b) => b.toString(16).padStart(2, "0")).join("");
  const last = 1 + (random[4] % 254);
  const host = `tabi-audit-${hex}.test`;
  return { host, port: 80, url: `http://${host}/`, ipv4: `192.0.2.${last}`, ipv6: `2001:db8::${last.toString(16)}` };
}

/** True when `name` (any case, with or without the root dot) is the site's host. */
export function isAuditHost(site: AuditSite, name: string): boolean {
  return name.toLowerCase().replace(/\.$/, "") === site.host;
}
