/**
 * Tor's RESOLVE (0xF0: name to address) and RESOLVE_PTR (0xF1: address to name), answered in BND.ADDR. Off unless
 * the server enables the extension; then refused with 0x07 like any unknown command.
 *
 * @module
 */
import { SocksError } from "../../wire/socks_error.ts";
import { resolveAllowed } from "../destination.ts";
import { ipAddress } from "../../net/endpoint.ts";
import type { Session } from "../session_context.ts";

/** Serves RESOLVE and RESOLVE_PTR. */
export async function resolveCommand(session: Session): Promise<void> {
  const { config, request } = session;
  if (!config.resolveExtension) {
    throw new SocksError("unsupported", `${request.command} is off (enable the RESOLVE extension)`);
  }
  const addresses = await resolveAllowed(session);
  if (request.command === "resolve") {
    // Tor answers with one address; prefer IPv4, which every client can use.
    const best = addresses.map(ipAddress).find((a) => a?.type === "ipv4") ?? ipAddress(addresses[0]);
    if (best === undefined) throw new SocksError("host-unreachable", "no address");
    await session.reply.success({ address: best, port: 0 });
    return;
  }
  if (request.destination.address.type === "domain") {
    throw new SocksError("bad-address", "RESOLVE_PTR needs an IP address");
  }
  const name = await config.network.reverse(addresses[0]);
  await session.reply.success({ address: { type: "domain", host: name }, port: 0 });
}
