/**
 * One audit from start to report: the recording listener and (where the audit controls name resolution) the DNS
 * responder run while the caller runs the program; then the audit waits for the program's connections to end,
 * stops both, and judges. Launching the program is the caller's (cli/audit.ts): it needs processes and namespaces.
 *
 * @module
 */
import type { ListenOptions, Network } from "../net/network.ts";
import { formatHostPort } from "../wire/address.ts";
import { endpointToHostPort } from "../net/endpoint.ts";
import { type AuditSite, newAuditSite } from "./audit_site.ts";
import { type DnsResponder, startDnsResponder } from "./dns_responder.ts";
import { type RecordingProxy, startRecordingProxy } from "./recording_proxy.ts";
import type { AuditReport, ProgramEnd } from "./report.ts";
import { judgeAudit } from "./verdict.ts";

/** Options of an audit. */
export interface AuditOptions {
  /** The Network the recording listener and the DNS responder run on. */
  readonly network: Network;
  /**
   * Where the DNS responder listens (127.0.0.1:53 inside a private namespace whose resolv.conf names it); none:
   * the program's lookups are not observed, and the report says so.
   */
  readonly dns?: ListenOptions;
  /** The site; default a fresh random one. */
  readonly site?: AuditSite;
}

/** A running audit. */
export interface Audit {
  /** The audit's own site: the name to give the program. */
  readonly site: AuditSite;
  /** The proxy to give the program, `127.0.0.1:PORT`. */
  readonly proxy: string;
  /** Replaces `{socks}` with the proxy and `{url}` with the site's URL. */
  substitute(argument: string): string;
  /**
   * Once the program has ended: waits up to `settleMs` (default 1000) for its connections to close, stops the
   * listener and the responder, and judges.
   */
  finish(program: ProgramEnd, settleMs?: number): Promise<AuditReport>;
}

/**
 * Starts an audit.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defaultNetwork } from "../runtime/detect.ts";
 * import { startAudit } from "./audit.ts";
 * const audit = await startAudit({ network: await defaultNetwork() });
 * assert.equal(audit.substitute("--proxy={socks}"), `--proxy=${audit.proxy}`);
 * const report = await audit.finish({ command: ["true"], exitCode: 0, signal: null, timedOut: false });
 * assert.equal(report.verdict, "no-request");
 * ```
 */
export async function startAudit(options: AuditOptions): Promise<Audit> {
  const site = options.site ?? newAuditSite();
  let dns: DnsResponder | undefined;
  let proxy: RecordingProxy | undefined;
  try {
    if (options.dns) dns = await startDnsResponder(options.network, options.dns, site);
    proxy = await startRecordingProxy(options.network, site);
  } catch (error) {
    dns?.close();
    throw error;
  }
  const listener = proxy;
  const address = formatHostPort(endpointToHostPort(listener.address));
  return {
    site,
    proxy: address,
    substitute: (argument) => argument.replaceAll("{socks}", address).replaceAll("{url}", site.url),
    async finish(program, settleMs = 1000) {
      const until = Date.now() + settleMs;
      while (listener.activeConnections > 0 && Date.now() < until) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await listener.close();
      dns?.close();
      const facts = {
        site,
        requests: [...listener.requests],
        lookups: [...(dns?.lookups ?? [])],
        lookupsObserved: dns !== undefined,
      };
      const dropped = { requestsDropped: listener.requestsDropped, lookupsDropped: dns?.lookupsDropped ?? 0 };
      return { ...facts, ...dropped, ...judgeAudit(facts), proxy: address, program };
    },
  };
}
