/**
 * UDP ASSOCIATE through an upstream SOCKS5 proxy (when the server's upstream is that one proxy). The client-facing
 * side stays udp_associate.ts (its checks, limits, rules, idle timer, fragments and log counts); the far side is one
 * association on the upstream, opened with the client library's `associate()`. Each client datagram goes on through
 * the upstream's relay, and what the relay sends back reaches the client with the source the upstream named.
 *
 * As CONNECT does with a remote-DNS last hop (route.ts): through socks5h:// a name stays a name, decided by the
 * rules on the name alone and never looked up here; through socks5:// the server resolves it, as for a direct
 * datagram, and passes an address on. Protected ranges apply to addresses, as they do for direct UDP.
 *
 * @module
 */
import { associate, type UdpAssociation } from "../../client/associate.ts";
import type { ProxySpec } from "../../client/proxy_url.ts";
import { ipAddress } from "../../net/endpoint.ts";
import type { HostPort } from "../../wire/address.ts";
import { SocksError } from "../../wire/socks_error.ts";
import { checkAllowed, resolveAllowed } from "../destination.ts";
import type { Session } from "../session_context.ts";
import { bindsThrough } from "./bind_upstream.ts";
import { type OpenUdpOutbound, udpAssociateCommand, type UdpOutbound } from "./udp_associate.ts";

/** How many destinations an association remembers checked (and resolved); past it, the memory starts over. */
const CHECKED_CACHE_SIZE = 256;

/** True when UDP ASSOCIATE can go through this upstream chain: one SOCKS5 proxy, as for BIND. */
export function associatesThrough(upstream: readonly ProxySpec[]): boolean {
  return bindsThrough(upstream);
}

/** Serves UDP ASSOCIATE through `upstream` (see {@link associatesThrough}). */
export function udpAssociateThroughUpstream(session: Session, upstream: ProxySpec): Promise<void> {
  const open: OpenUdpOutbound = (deliver, end) => openUpstream(session, upstream, deliver, end);
  return udpAssociateCommand(session, open);
}

async function openUpstream(
  session: Session,
  upstream: ProxySpec,
  deliver: (data: Uint8Array, from: HostPort) => void,
  end: () => void,
): Promise<UdpOutbound> {
  const { config } = session;
  // The association's own signal rather than the server's: `associate()` keeps its listener for the association's
  // life, and the server's stop already ends the association (udp_associate.ts closes the control connection).
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  session.signal.addEventListener("abort", onAbort, { once: true });
  let association: UdpAssociation;
  try {
    association = await associate(upstream, {
      network: config.network,
      timeoutMs: config.connectTimeoutMs,
      signal: stop.signal,
    });
  } catch (error) {
    throw upstreamFailure(error);
  } finally {
    session.signal.removeEventListener("abort", onAbort);
  }
  let closed = false;
  const pump = async () => {
    const reader = association.datagrams.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      deliver(value.data, value.from);
    }
  };
  // The upstream's association ends with its TCP connection; the client's then ends too.
  pump().catch(() => {}).finally(() => {
    if (closed) return;
    session.record.error = "the upstream proxy ended the association";
    end();
  });
  const targets = new Map<string, Promise<HostPort>>();
  return {
    async send(destination, data) {
      const key = `${destination.address.type}:${destination.address.host}:${destination.port}`;
      let target = targets.get(key);
      if (target === undefined) {
        if (targets.size >= CHECKED_CACHE_SIZE) targets.clear();
        target = targetFor(session, upstream, destination);
        targets.set(key, target);
      }
      await association.send(data, await target);
    },
    close() {
      closed = true;
      association.close();
      stop.abort();
    },
  };
}

/** The destination as the upstream should get it, once the rules allow it; a name is looked up only for socks5://. */
async function targetFor(session: Session, upstream: ProxySpec, destination: HostPort): Promise<HostPort> {
  const { address } = destination;
  if (address.type === "domain" && upstream.remoteDns) {
    checkAllowed(session, destination, address.host, []);
    return destination;
  }
  const first = ipAddress((await resolveAllowed(session, destination))[0]);
  if (first === undefined) throw new SocksError("host-unreachable", `no address for ${address.host}`);
  return { address: first, port: destination.port };
}

/**
 * What the client hears when the upstream's association cannot be opened: the upstream's own answer (e.g. its
 * rules, or "command not supported"), a timeout, or else a general failure, as for a CONNECT through it.
 */
function upstreamFailure(error: unknown): SocksError {
  if (!(error instanceof SocksError)) return new SocksError("failed", `upstream: ${String(error)}`, { cause: error });
  const answered = error.reply !== undefined && error.code !== "auth-failed";
  const keep = answered || error.code === "timeout" || error.code === "aborted";
  return new SocksError(keep ? error.code : "failed", `upstream: ${error.message}`, { cause: error, hop: error.hop });
}
