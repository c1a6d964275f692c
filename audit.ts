/**
 * `@tabi/socks/audit`: the DNS-leak audit's library, what `tabi audit` runs programs against. A recording SOCKS
 * listener that forwards nothing, a page only it serves, an optional recording DNS responder, and the verdict: did the
 * program send its names to the proxy (no leak), look them up itself (a leak), or not use the proxy at all?
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { reportText, startAudit } from "./audit.ts";
 * const audit = await startAudit();
 * // No program ran against it here: nothing reached the proxy.
 * const report = await audit.finish({ command: ["true"], exitCode: 0, signal: null, timedOut: false });
 * assert.equal(report.verdict, "no-request");
 * assert.match(reportText(report), /no-request/);
 * ```
 *
 * @module
 */
import { defaultNetwork } from "./lib/runtime/detect.ts";
import { type Audit, type AuditOptions, startAudit as startAuditOn } from "./lib/audit/audit.ts";

export type { Audit, AuditOptions } from "./lib/audit/audit.ts";
export { type AuditSite, newAuditSite } from "./lib/audit/audit_site.ts";
export type { DnsLookup } from "./lib/audit/dns_responder.ts";
export type { AuditRequest } from "./lib/audit/recording_proxy.ts";
export { type AuditReport, type ProgramEnd, reportJson, reportText } from "./lib/audit/report.ts";
export {
  type AuditFacts,
  type AuditJudgement,
  type AuditVerdict,
  AuditVerdicts,
  judgeAudit,
} from "./lib/audit/verdict.ts";

/**
 * Starts a DNS-leak audit on the running runtime's Network, unless `options.network` names another: a recording
 * SOCKS listener that forwards nothing and (given `dns`) a recording DNS responder. Run a program against
 * `audit.proxy` and `audit.site.url`, then `finish` for the verdict.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { startAudit } from "./audit.ts";
 * const audit = await startAudit();
 * const report = await audit.finish({ command: ["true"], exitCode: 0, signal: null, timedOut: false });
 * assert.equal(report.verdict, "no-request");
 * ```
 */
export async function startAudit(options: Partial<AuditOptions> = {}): Promise<Audit> {
  return await startAuditOn({ ...options, network: options.network ?? await defaultNetwork() });
}
