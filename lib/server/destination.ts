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

/** The destination's IP addresses, once the rules allow it; throws SocksError "not-allowed" otherwise. */
export async function resolveAllowed(
  session: Session,
  destination: HostPort = session.request.destination,
): Promise<string[]> {
  const { address } = destination;
  const name = address.type === "domain" ? address.host : undefined;
  const addresses = name === undefined ? [address.host] : await session.config.network.resolve(name);
  checkAllowed(session, destination, name, addresses);
  return addresses;
}

/** Throws "not-allowed" unless the rules allow this destination for this session. */
export function checkAllowed(
  session: Session,
  destination: HostPort,
  name: string | undefined,
  addresses: readonly string[],
): void {
  const { config, request, connection } = session;
  const verdict = decide(config.rules, {
    client: connection.remoteAddress.hostname,
    version: request.version,
    user: request.user,
    command: request.command,
    destinationName: name,
    destinationAddresses: addresses,
    port: destination.port,
  });
  if (verdict === "deny") {
    throw new SocksError("not-allowed", `rules deny ${request.command} to ${formatHostPort(destination)}`);
  }
}
