/**
 * The audit's judgement. The program was given a name (the audit site's). It did not leak when the name itself
 * reached the proxy and the program never asked DNS for it. It leaked when it asked DNS for the name (a lookup the
 * audit's responder saw), or when a request carried an address the responder had handed out for the name. With no
 * request for the site and no lookup of it, nothing can be said: the program never used the proxy.
 *
 * @module
 */
import type { AuditSite } from "./audit_site.ts";
import { isAuditHost } from "./audit_site.ts";
import type { DnsLookup } from "./dns_responder.ts";
import type { AuditRequest } from "./recording_proxy.ts";

/** The three answers, and the exit code of each. */
export const AuditVerdicts = {
  "no-leak": 0,
  "dns-leak": 1,
  "no-request": 3,
} as const;

/** How many of the other names the program resolved itself a reason names. */
const OTHER_NAMES_SHOWN = 20;

/** One of {@link AuditVerdicts}. */
export type AuditVerdict = keyof typeof AuditVerdicts;

/** What the audit saw. */
export interface AuditFacts {
  /** The audit's own site: the name the program was given. */
  readonly site: AuditSite;
  /** Every request that reached the recording proxy, in order. */
  readonly requests: readonly AuditRequest[];
  /** Every DNS question the program asked (empty when lookups were not observed). */
  readonly lookups: readonly DnsLookup[];
  /** False when the program ran where the audit could not see its lookups (no private namespace). */
  readonly lookupsObserved: boolean;
}

/** A verdict and the sentences that explain it. */
export interface AuditJudgement {
  /** `no-leak`, `dns-leak` or `no-request`. */
  readonly verdict: AuditVerdict;
  /** Sentences for people saying why. */
  readonly reasons: readonly string[];
}

/**
 * Judges what the audit saw.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { newAuditSite } from "./audit_site.ts";
 * import { judgeAudit } from "./verdict.ts";
 * const site = newAuditSite();
 * assert.equal(judgeAudit({ site, requests: [], lookups: [], lookupsObserved: true }).verdict, "no-request");
 * ```
 */
export function judgeAudit(facts: AuditFacts): AuditJudgement {
  const judgement = judgeSite(facts);
  // Names other than the site that the program resolved itself leak too (background requests): said, not judged.
  const others = [...new Set(facts.lookups.filter((l) => !isAuditHost(facts.site, l.name)).map((l) => l.name))];
  if (others.length === 0) return judgement;
  // A flood of names would make one sentence of megabytes: the first few are named, the rest counted.
  const named = others.slice(0, OTHER_NAMES_SHOWN).join(", ");
  const more = others.length > OTHER_NAMES_SHOWN ? ` and ${others.length - OTHER_NAMES_SHOWN} more` : "";
  return {
    verdict: judgement.verdict,
    reasons: [
      ...judgement.reasons,
      `it also asked DNS itself for ${others.length} other name${others.length === 1 ? "" : "s"}: ${named}${more}`,
    ],
  };
}

function judgeSite(facts: AuditFacts): AuditJudgement {
  const { site, requests, lookups } = facts;
  const looked = lookups.filter((l) => isAuditHost(site, l.name));
  const byName = requests.filter((r) => r.addressType === "domain" && isAuditHost(site, r.host ?? ""));
  const byAddress = requests.filter((r) =>
    (r.addressType === "ipv4" || r.addressType === "ipv6") && (r.host === site.ipv4 || r.host === site.ipv6)
  );
  const types = [...new Set(looked.map((l) => l.type))].join(", ");
  if (byAddress.length > 0) {
    const addresses = [...new Set(byAddress.map((r) => r.address))].join(", ");
    return {
      verdict: "dns-leak",
      reasons: [
        `the program looked up ${site.host} itself (DNS ${types || "lookup"}) and sent the proxy the address it ` +
        `got back (${addresses}) instead of the name`,
      ],
    };
  }
  if (looked.length > 0) {
    return {
      verdict: "dns-leak",
      reasons: [
        byName.length > 0
          ? `the program sent the name ${site.host} to the proxy, but it also asked DNS for it (${types}) first`
          : `the program asked DNS for ${site.host} itself (${types}) and then sent no request for it to the proxy: ` +
            `it resolves names locally, and either ignores the proxy or gave up after its own lookup`,
      ],
    };
  }
  if (byName.length > 0) {
    return {
      verdict: "no-leak",
      reasons: [
        facts.lookupsObserved
          ? `the name ${site.host} reached the proxy and the program made no lookup of it`
          : `the name ${site.host} reached the proxy (the program's own lookups could not be observed here: no ` +
            `private namespace)`,
      ],
    };
  }
  const reasons = [
    requests.length === 0
      ? "the program never sent a request to the proxy: it ignored the proxy it was given, or failed before using it"
      : `the program used the proxy (${requests.length} request${requests.length === 1 ? "" : "s"}) but never ` +
        `for the audit site: give it {url}`,
  ];
  if (!facts.lookupsObserved) {
    reasons.push(
      "the program's own DNS lookups could not be observed here (no private network and mount namespace: run as " +
        "root or enable unprivileged user namespaces), so a program that resolved the name itself cannot be told " +
        "from one that ignores the proxy",
    );
  }
  return { verdict: "no-request", reasons };
}
