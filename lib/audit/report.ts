/**
 * The audit's report: one JSON object, or text for a person. The text names every request and lookup, and says
 * so when a client sent a SOCKS4 USERID or a username: the 2013 survey found browsers sending the login name there.
 *
 * @module
 */
import type { AuditSite } from "./audit_site.ts";
import { AuditRecordLimits } from "./bounded_records.ts";
import type { DnsLookup } from "./dns_responder.ts";
import type { AuditRequest } from "./recording_proxy.ts";
import type { AuditJudgement } from "./verdict.ts";

/** How the audited program ended. */
export interface ProgramEnd {
  /** The command as run, after substitution. */
  readonly command: readonly string[];
  /** Its exit code, or null when a signal ended it. */
  readonly exitCode: number | null;
  /** The signal that ended it, if one did. */
  readonly signal: string | null;
  /** True when the audit stopped it at its timeout. */
  readonly timedOut: boolean;
  /** Why it could not be started (e.g. "spawn curlx ENOENT"), if it could not. */
  readonly startError?: string;
}

/** Everything an audit found. */
export interface AuditReport extends AuditJudgement {
  /** The audit's own site: the name the program was given. */
  readonly site: AuditSite;
  /** The proxy the program was given, `127.0.0.1:PORT`. */
  readonly proxy: string;
  /** The requests that reached the recording proxy, in order (as many as the audit keeps). */
  readonly requests: readonly AuditRequest[];
  /** How many more requests reached the proxy but were not kept (a flood). */
  readonly requestsDropped: number;
  /** The DNS questions the program asked (as many as the audit keeps). */
  readonly lookups: readonly DnsLookup[];
  /** How many more questions it asked that were not kept (a flood). */
  readonly lookupsDropped: number;
  /** False when the program ran where its lookups could not be seen. */
  readonly lookupsObserved: boolean;
  /** How the program ended. */
  readonly program: ProgramEnd;
}

/**
 * The report as one JSON object: `verdict`, `reasons`, `url`, `host`, `proxy`, `requests`, `requestsDropped`,
 * `lookups`, `lookupsDropped`, `lookupsObserved`, `program`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { startAudit } from "../../audit.ts";
 * import { reportJson } from "./report.ts";
 * const audit = await startAudit();
 * const report = await audit.finish({ command: ["true"], exitCode: 0, signal: null, timedOut: false });
 * const json = JSON.parse(reportJson(report));
 * assert.equal(json.verdict, "no-request");
 * assert.deepEqual(json.requests, []);
 * ```
 */
export function reportJson(report: AuditReport): string {
  return JSON.stringify({
    verdict: report.verdict,
    reasons: report.reasons,
    url: report.site.url,
    host: report.site.host,
    siteAddresses: [report.site.ipv4, report.site.ipv6],
    proxy: report.proxy,
    requests: report.requests,
    requestsDropped: report.requestsDropped,
    lookups: report.lookups,
    lookupsDropped: report.lookupsDropped,
    lookupsObserved: report.lookupsObserved,
    program: report.program,
  });
}

/** Lines with repeats folded into one, counted: "line (3 times)". */
function counted(lines: readonly string[]): string[] {
  const counts = new Map<string, number>();
  for (const line of lines) counts.set(line, (counts.get(line) ?? 0) + 1);
  return [...counts].map(([line, n]) => (n === 1 ? line : `${line} (${n} times)`));
}

/** What a count line adds when records were dropped. */
function dropped(n: number): string {
  return n === 0
    ? ""
    : ` (${n} not kept: the audit keeps the first ${AuditRecordLimits.kept} and those about its site)`;
}

const VERSION_NAMES = { "4": "SOCKS4", "4a": "SOCKS4a", "5": "SOCKS5" } as const;

/**
 * The report as text: the verdict and its reasons first, then what reached the proxy and the DNS.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { startAudit } from "../../audit.ts";
 * import { reportText } from "./report.ts";
 * const audit = await startAudit();
 * const report = await audit.finish({ command: ["true"], exitCode: 0, signal: null, timedOut: false });
 * assert.match(reportText(report), /^tabi audit: no-request$/m);
 * ```
 */
export function reportText(report: AuditReport): string {
  const lines = [`tabi audit: ${report.verdict}`, ...report.reasons.map((r) => `  ${r}`)];
  const { program } = report;
  const ended = program.startError !== undefined
    ? `could not be started: ${program.startError}`
    : program.timedOut
    ? "stopped at the timeout"
    : program.signal
    ? `ended by ${program.signal}`
    : `exited ${program.exitCode}`;
  const command = program.command.map((a) => /^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a)).join(" ");
  lines.push(`program: ${command} (${ended})`, `audit URL: ${report.site.url}, proxy ${report.proxy}`);
  lines.push(
    `requests to the proxy: ${report.requests.length + report.requestsDropped}${dropped(report.requestsDropped)}`,
  );
  lines.push(...counted(report.requests.map((r) => {
    const version = r.version === null ? "not SOCKS" : VERSION_NAMES[r.version];
    const what = r.command === null ? "" : ` ${r.command} ${r.address} (${r.addressType})`;
    const who = r.userId === null ? "" : ` ${r.method === "userid" ? "USERID" : "username"} "${r.userId}"`;
    const method = r.method === null || r.method === "userid" ? "" : ` method ${r.method}`;
    const outcome = r.version === null && r.outcome === "closed" ? "connected and sent nothing" : r.outcome;
    const detail = r.error !== null && r.outcome !== "page" && r.version !== null ? ` (${r.error})` : "";
    return `  ${version}${what}${method}${who}: ${outcome}${detail}`;
  })));
  if (report.lookupsObserved) {
    lines.push(
      `DNS lookups by the program: ${report.lookups.length + report.lookupsDropped}${dropped(report.lookupsDropped)}`,
    );
    lines.push(
      ...counted(
        report.lookups.map((l) =>
          `  ${l.name} ${l.type} -> ${l.answers.length > 0 ? l.answers.join(", ") : "no address"}`
        ),
      ),
    );
  } else {
    lines.push("DNS lookups by the program: not observable here");
  }
  const ids = [
    ...new Set(report.requests.filter((r) => r.method === "userid" && r.userId !== null).map((r) => r.userId)),
  ];
  if (ids.length > 0) {
    lines.push(
      `note: the program sent the SOCKS4 USERID ${ids.map((id) => `"${id}"`).join(", ")}; the 2013 survey found ` +
        `browsers sending the user's login name there, which tells every proxy on the way who is browsing`,
    );
  }
  return `${lines.join("\n")}\n`;
}
