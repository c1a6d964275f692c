/**
 * Resolving a request's destination on the server and checking it against the rules with both its name and its
 * addresses, so that a rule on a range also catches a name that resolves into it.
 *
 * @module
 */
import type { HostPort } from "../wire/address.ts";
import { formatHostPort } from "../wire/address.ts";
import { SocksError } from "../wire/socks_error.ts";
import { cidrContains } from "../net/cidr.ts";
import { decide, explicitlyAllows, type RequestFacts } from "./rules.ts";
import type { Session } from "./session_context.ts";

/** What rules are checked against: the SOCKS session, or one request of the HTTP side. */
export type RuleContext = Pick<Session, "config" | "request" | "connection">;

/**
 * The destination's IP addresses, once the rules allow it; throws SocksError "not-allowed" otherwise. A name is
 * checked by name first and resolved only when allowed (or when a range rule needs its addresses), so a denied
 * name causes no lookup. For CONNECT and UDP, addresses in the protected ranges are dropped unless a rule allows
 * them by range; a name that resolves only into them (DNS rebinding included) is denied.
 */
export async function resolveAllowed(
  session: RuleContext,
  destination: HostPort = session.request.destination,
): Promise<string[]> {
  const { address } = destination;
  if (address.type !== "domain") {
    checkAllowed(session, destination, undefined, [address.host]);
    return unprotected(session, destination, undefined, [address.host]);
  }
  const first = verdict(session, destination, address.host, undefined);
  if (first === "deny") throw denied(session, destination);
  const addresses = await session.config.network.resolve(address.host);
  if (first === "need-addresses") checkAllowed(session, destination, address.host, addresses);
  return unprotected(session, destination, address.host, addresses);
}

/** `addresses` without those a proxy must not reach for this request; throws when none is left. */
function unprotected(
  session: RuleContext,
  destination: HostPort,
  name: string | undefined,
  addresses: readonly string[],
): string[] {
  const { config, request } = session;
  const reaches = request.command === "connect" || request.command === "udp-associate" || request.command === "http";
  if (!reaches || config.protectedRanges.length === 0) return [...addresses];
  const facts = requestFacts(session, destination, name, addresses);
  const allowed = addresses.filter((ip) =>
    !config.protectedRanges.some((range) => cidrContains(range, ip)) ||
    explicitlyAllows(config.rules, facts, ip)
  );
  if (allowed.length === 0) {
    throw new SocksError(
      "not-allowed",
      `${
        formatHostPort(destination)
      } is in the proxy's own loopback or link-local ranges; a rule must allow it by range`,
    );
  }
  return allowed;
}

/** Throws "not-allowed" unless the rules allow this destination for this session. */
export function checkAllowed(
  session: RuleContext,
  destination: HostPort,
  name: string | undefined,
  addresses: readonly string[],
): void {
  if (verdict(session, destination, name, addresses) !== "allow") throw denied(session, destination);
}

function verdict(
  session: RuleContext,
  destination: HostPort,
  name: string | undefined,
  addresses: readonly string[] | undefined,
): ReturnType<typeof decide> {
  return decide(session.config.rules, requestFacts(session, destination, name, addresses));
}

function requestFacts(
  session: RuleContext,
  destination: HostPort,
  name: string | undefined,
  addresses: readonly string[] | undefined,
): RequestFacts {
  const { request, connection } = session;
  return {
    client: connection.remoteAddress.hostname,
    version: request.version,
    user: request.user,
    command: request.command,
    destinationName: name,
    destinationAddresses: addresses,
    port: destination.port,
  };
}

function denied(session: RuleContext, destination: HostPort): SocksError {
  return new SocksError("not-allowed", `rules deny ${session.request.command} to ${formatHostPort(destination)}`);
}
