/**
 * Resolving a request's destination on the server and checking it against the rules with both its name and its
 * addresses, so that a rule on a range also catches a name that resolves into it.
 *
 * @module
 */
import type { HostPort } from "../wire/address.ts";
import { formatHostPort } from "../wire/address.ts";
import { SocksError } from "../wire/socks_error.ts";
import { decide } from "./rules.ts";
import type { Session } from "./session.ts";

/**
 * The destination's IP addresses, once the rules allow it; throws SocksError "not-allowed" otherwise. A name is
 * checked by name first and resolved only when allowed (or when a range rule needs its addresses), so a denied
 * name causes no lookup.
 */
export async function resolveAllowed(
  session: Session,
  destination: HostPort = session.request.destination,
): Promise<string[]> {
  const { address } = destination;
  if (address.type !== "domain") {
    checkAllowed(session, destination, undefined, [address.host]);
    return [address.host];
  }
  const first = verdict(session, destination, address.host, undefined);
  if (first === "deny") throw denied(session, destination);
  const addresses = await session.config.network.resolve(address.host);
  if (first === "need-addresses") checkAllowed(session, destination, address.host, addresses);
  return addresses;
}

/** Throws "not-allowed" unless the rules allow this destination for this session. */
export function checkAllowed(
  session: Session,
  destination: HostPort,
  name: string | undefined,
  addresses: readonly string[],
): void {
  if (verdict(session, destination, name, addresses) !== "allow") throw denied(session, destination);
}

function verdict(
  session: Session,
  destination: HostPort,
  name: string | undefined,
  addresses: readonly string[] | undefined,
): ReturnType<typeof decide> {
  const { config, request, connection } = session;
  return decide(config.rules, {
    client: connection.remoteAddress.hostname,
    version: request.version,
    user: request.user,
    command: request.command,
    destinationName: name,
    destinationAddresses: addresses,
    port: destination.port,
  });
}

function denied(session: Session, destination: HostPort): SocksError {
  return new SocksError("not-allowed", `rules deny ${session.request.command} to ${formatHostPort(destination)}`);
}
