/**
 * BIND (SOCKS4 and 5): listen on a fresh port, reply with it, wait for a connection from the address the request
 * named (0.0.0.0 or :: accept any peer), reply again with the peer's address, then relay. A connection from any
 * other address is closed and the wait goes on until the timeout: stricter than the SOCKS4 text, which lets the
 * first connection decide, because that lets any local process that connects first end someone else's BIND.
 *
 * @module
 */
import { type Deadline, startDeadline } from "../../time/deadline.ts";
import type { Connection } from "../../net/network.ts";
import { formatHostPort, type HostPort } from "../../wire/address.ts";
import { type LocalAddresses, localAddressFor } from "../../net/connect_any.ts";
import { SocksError } from "../../wire/socks_error.ts";
import { checkAllowed, resolveAllowed } from "../destination.ts";
import { endpointToHostPort, isUnspecified, sameIp } from "../../net/endpoint.ts";
import type { Session } from "../session_context.ts";
import { replyAndRelay } from "./relay_session.ts";

/** Serves BIND. */
export async function bindCommand(session: Session): Promise<void> {
  const { config, request, connection } = session;
  const destination = request.destination;
  const anyPeer = destination.address.type !== "domain" && isUnspecified(destination.address.host);
  let expected: string[] = [];
  if (anyPeer) checkAllowed(session, destination, undefined, []);
  else expected = await resolveAllowed(session);

  let deliver!: (peer: Connection) => void;
  const incoming = new Promise<Connection>((resolve) => (deliver = resolve));
  let taken = false;
  let strangers = 0;
  // Listen where the client reached us: an address the peer can use too, never the wildcard; or on the outbound
  // address of the peer's family, the address destinations see (as Dante's `external`).
  const listener = await config.network.listen(
    {
      hostname: config.externalAddress ?? bindAddress(config.outbound, destination, expected) ??
        connection.localAddress.hostname,
      port: 0,
    },
    (peer) => {
      if (taken) return peer.close();
      if (!anyPeer && !expected.some((ip) => sameIp(ip, peer.remoteAddress.hostname))) {
        strangers++;
        return peer.close();
      }
      taken = true;
      deliver(peer);
    },
  );
  let peer: Connection;
  let deadline: Deadline | undefined;
  try {
    await session.reply.success(endpointToHostPort(listener.address), false);
    deadline = startDeadline(config.connectTimeoutMs, session.signal);
    const { signal } = deadline;
    peer = await new Promise<Connection>((resolve, reject) => {
      const onAbort = () => {
        const others = strangers > 0 ? ` (${strangers} from other addresses closed)` : "";
        reject(
          new SocksError(
            "timeout",
            `BIND: no connection from ${formatHostPort(destination)} within ${config.connectTimeoutMs} ms${others}`,
          ),
        );
      };
      signal.addEventListener("abort", onAbort, { once: true });
      incoming.then((c) => {
        signal.removeEventListener("abort", onAbort);
        resolve(c);
      });
    });
  } finally {
    deadline?.clear();
    await listener.close();
  }
  await replyAndRelay(session, peer, endpointToHostPort(peer.remoteAddress));
}

/**
 * BIND's listening address from the outbound addresses: the one of the expected peer's family (the destination's
 * address, or the first it resolved to). Undefined without outbound addresses; a peer of a family without one is
 * unreachable (SOCKS5 0x03), since the peer would have to reach an address that is not the outbound one.
 */
function bindAddress(
  outbound: LocalAddresses | undefined,
  destination: HostPort,
  expected: string[],
): string | undefined {
  if (outbound === undefined) return undefined;
  const peer = destination.address.type === "domain" ? expected[0] : destination.address.host;
  const local = peer === undefined ? outbound.ipv4 ?? outbound.ipv6 : localAddressFor(peer, outbound);
  if (local === undefined) throw new SocksError("network-unreachable", `BIND: no outbound address of ${peer}'s family`);
  return local;
}
