/**
 * BIND through an upstream SOCKS5 proxy (when the server's upstream is that one proxy): the upstream listens, its
 * two replies are passed on to the client, and the peer's connection is relayed. The rules see the request as they
 * would a direct BIND, decided on the name alone when the client sent a name.
 *
 * @module
 */
import { bind } from "../../client/bind.ts";
import type { ProxySpec } from "../../client/proxy_url.ts";
import { startDeadline } from "../../time/deadline.ts";
import { SocksError } from "../../wire/socks_error.ts";
import { checkAllowed } from "../destination.ts";
import type { Session } from "../session_context.ts";
import { relaySession } from "./relay_session.ts";

/** True when BIND can go through this upstream chain: one SOCKS5 proxy, nothing else. */
export function bindsThrough(upstream: readonly ProxySpec[]): boolean {
  return upstream.length === 1 && upstream[0].version === 5;
}

/** Serves BIND through `upstream` (see {@link bindsThrough}). */
export async function bindThroughUpstream(session: Session, upstream: ProxySpec): Promise<void> {
  const { config, request } = session;
  const { address } = request.destination;
  const name = address.type === "domain" ? address.host : undefined;
  checkAllowed(session, request.destination, name, name === undefined ? [address.host] : []);
  const binding = await bind([upstream], request.destination, {
    network: config.network,
    timeoutMs: config.connectTimeoutMs,
    signal: session.signal,
    allowLocalDns: true,
  });
  // The upstream's first reply says where it listens: the peer connects there, not here.
  const deadline = startDeadline(config.connectTimeoutMs, session.signal);
  const onAbort = () => binding.close();
  deadline.signal.addEventListener("abort", onAbort, { once: true });
  try {
    await session.reply.success(binding.bound, false);
    let tunnel;
    try {
      tunnel = await binding.accepted;
    } catch (error) {
      if (deadline.signal.aborted && !session.signal.aborted) {
        throw new SocksError("timeout", `BIND: no connection within ${config.connectTimeoutMs} ms`, { cause: error });
      }
      throw error;
    }
    deadline.clear();
    try {
      await session.reply.success(tunnel.bound);
    } catch (error) {
      tunnel.close();
      throw error;
    }
    await relaySession(session, tunnel);
  } catch (error) {
    binding.close();
    throw error;
  } finally {
    deadline.clear();
    deadline.signal.removeEventListener("abort", onAbort);
  }
}
