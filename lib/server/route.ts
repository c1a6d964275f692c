/**
 * The outbound route of CONNECT (SOCKS and HTTP) and of HTTP forwarding: directly, or through a chain of upstream
 * proxies built with the client's own chain code. The route is the server's `upstream` unless the first rule that
 * matches (without a DNS lookup) names its own.
 *
 * With a last hop that resolves names itself (socks4a, socks5h, socks, http), a name is passed on and never looked
 * up here: the rules then decide on the name alone (a range pattern cannot match it), and protected ranges apply to
 * address literals only.
 *
 * @module
 */
import { throughChain } from "../client/chain.ts";
import { tunnelFrom } from "../client/tunnel.ts";
import { proxyList } from "../client/chain.ts";
import type { ProxySpec } from "../client/proxy_url.ts";
import { connectAny } from "../net/connect_any.ts";
import { formatEndpoint, ipAddress } from "../net/endpoint.ts";
import type { ConnectionRecord } from "./connection_record.ts";
import type { Connection } from "../net/network.ts";
import type { HostPort } from "../wire/address.ts";
import { Socks5Command } from "../wire/constants.ts";
import { SocksError } from "../wire/socks_error.ts";
import { checkAllowed, resolveAllowed, type RuleContext } from "./destination.ts";
import { decidingRule, type Rule } from "./rules.ts";

/**
 * What opening a route needs: the rules' context and the server's stop signal; with the connection's log record,
 * the address that won a race among a name's addresses is recorded (`connected`).
 */
export type RouteContext = RuleContext & { readonly signal: AbortSignal; readonly record?: ConnectionRecord };

const parsedUpstreams = new WeakMap<Rule, readonly ProxySpec[]>();

/** The chain for a request (empty: direct): the deciding rule's `upstream` if it has one, else the server's. */
export function routeFor(context: RuleContext, destination: HostPort): readonly ProxySpec[] {
  const { config, request, connection } = context;
  const { address } = destination;
  const rule = decidingRule(config.rules, {
    client: connection.remoteAddress.hostname,
    version: request.version,
    user: request.user,
    command: request.command,
    destinationName: address.type === "domain" ? address.host : undefined,
    destinationAddresses: address.type === "domain" ? [] : [address.host],
    port: destination.port,
  });
  if (typeof rule !== "object" || rule.action !== "allow" || rule.upstream === undefined) return config.upstream;
  if (rule.upstream === "direct") return [];
  let chain = parsedUpstreams.get(rule);
  if (chain === undefined) parsedUpstreams.set(rule, chain = proxyList(rule.upstream));
  return chain;
}

/**
 * Opens a TCP connection to `destination` for this request, once the rules allow it: directly, or as a tunnel
 * through the route's chain. Failures are SocksErrors whose code says what the client should hear: the last hop's
 * answer about the destination keeps its meaning; a hop that cannot be reached or talked to is "failed".
 */
export async function openRoute(
  context: RouteContext,
  destination: HostPort = context.request.destination,
): Promise<Connection> {
  const { config, signal } = context;
  if (destination.port === 0) {
    // No TCP service can listen on port 0 (IANA's registry reserves it), so no attempt is made: a refusal by the
    // server's own rule, SOCKS5 REP 0x02 (SOCKS4 91) and HTTP 403 alike, the same answer in every runtime (the
    // kernels' errors for it differ). Here, the one door of SOCKS CONNECT, HTTP CONNECT and HTTP forwarding.
    throw new SocksError("not-allowed", "port 0: no service can listen there");
  }
  // A spent quota refuses before anything is opened (SOCKS5 0x02, SOCKS4 91, HTTP 403).
  if (!config.usage.empty) {
    config.usage.checkQuota(config.usage.keyOf(context.request.user, context.connection.remoteAddress.hostname));
  }
  const chain = routeFor(context, destination);
  if (chain.length === 0) {
    const addresses = await resolveAllowed(context, destination);
    const connection = await connectAny(
      config.network,
      addresses,
      destination.port,
      config.connectTimeoutMs,
      signal,
      true,
      { attemptDelayMs: config.connectAttemptDelayMs, localAddress: config.outbound },
    );
    // Only when there was a choice: the log says which address won (RFC 8305), and a lone address costs nothing.
    if (addresses.length > 1 && context.record) context.record.connected = formatEndpoint(connection.remoteAddress);
    return connection;
  }
  const last = chain[chain.length - 1];
  let target = destination;
  if (destination.address.type === "domain" && last.remoteDns) {
    checkAllowed(context, destination, destination.address.host, []);
  } else {
    const addresses = await resolveAllowed(context, destination);
    const usable = last.version === 4 ? addresses.filter((a) => ipAddress(a)?.type === "ipv4") : addresses;
    const first = usable.length > 0 ? ipAddress(usable[0]) : undefined;
    if (first === undefined) throw new SocksError("host-unreachable", "no address the upstream proxy can carry");
    target = { address: first, port: destination.port };
  }
  try {
    return await throughChain(
      chain,
      {
        network: config.network,
        allowLocalDns: true,
        timeoutMs: config.connectTimeoutMs,
        connectAttemptDelayMs: config.connectAttemptDelayMs,
        localAddress: config.outbound,
        signal,
        tlsClient: config.upstreamTls.client,
        proxyCa: config.upstreamTls.ca,
      },
      async (hop) => tunnelFrom(hop, await hop.request(Socks5Command.Connect, target)),
      target,
    );
  } catch (error) {
    throw upstreamFailure(error, chain.length);
  }
}

/** What a chain's failure means to the client: the last hop's answer about the destination, else "failed". */
function upstreamFailure(error: unknown, hops: number): SocksError {
  if (!(error instanceof SocksError)) return new SocksError("failed", `upstream: ${String(error)}`, { cause: error });
  const lastHopAnswered = error.hop === hops && error.reply !== undefined && error.code !== "auth-failed";
  const keep = lastHopAnswered || error.code === "timeout" || error.code === "aborted";
  return new SocksError(keep ? error.code : "failed", `upstream: ${error.message}`, { cause: error, hop: error.hop });
}
