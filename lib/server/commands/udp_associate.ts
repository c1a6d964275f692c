/**
 * UDP ASSOCIATE (RFC 1928 section 7): a relay socket per association, reported in the reply. Datagrams are taken
 * only from the client's IP (and port, once named by the request or fixed by the first datagram), unwrapped, and
 * sent on to their DST from a socket of the right family; answers come back wrapped with their sender's address.
 * FRAG != 0 is dropped (section 7 lets an implementation without reassembly drop fragments) unless reassembly is
 * on, when one queue per association puts fragments together (udp_fragments.ts). The association ends
 * when its TCP connection closes, or after the idle timeout. Through an upstream SOCKS5 proxy (udp_upstream.ts), all
 * of this stays, and only the far side changes: datagrams go on through the upstream's relay instead of this
 * machine's own sockets. A limited user's (or client address's) datagrams share the meter of their tunnels: each
 * direction's payload counts toward the quota, a spent quota refuses the association (0x02) or ends an open one
 * (outcome "quota-reached"), and a datagram that comes while the rate is in debt is dropped, not delayed (UDP has no
 * backpressure to apply, and a queue would only add latency).
 *
 * @module
 */
import { type IdleTimer, startIdleTimer } from "../../time/idle_timer.ts";
import { openReader } from "../../io/open_reader.ts";
import type { Datagram, UdpSocket } from "../../net/network.ts";
import { quotaReached, type RelayMeter } from "../../net/relay_result.ts";
import type { HostPort } from "../../wire/address.ts";
import { decodeSocks5UdpDatagram, encodeSocks5UdpDatagram } from "../../wire/socks5_udp.ts";
import { SocksError } from "../../wire/socks_error.ts";
import { resolveAllowed } from "../destination.ts";
import { endpointToHostPort, ipAddress, isUnspecified, sameIp } from "../../net/endpoint.ts";
import type { Session } from "../session_context.ts";
import { localAddressFor } from "../../net/connect_any.ts";
import { reassembler } from "./udp_fragments.ts";

/** The far side of an association when it is not this machine's own sockets: an upstream proxy's relay. */
export interface UdpOutbound {
  /** Sends one datagram on, once the rules allow its destination; a rejection counts it as dropped. */
  send(destination: HostPort, data: Uint8Array): Promise<void>;
  /** Ends it: the association is over. */
  close(): void;
}

/** Opens a {@link UdpOutbound}: `deliver` passes a datagram from `from` to the client; `end` ends the association. */
export type OpenUdpOutbound = (
  deliver: (data: Uint8Array, from: HostPort) => void,
  end: () => void,
) => Promise<UdpOutbound>;

/**
 * Serves UDP ASSOCIATE until the control connection closes or the association goes idle; datagrams go out directly,
 * or through what `openOutbound` opens once the client's relay socket exists.
 */
export async function udpAssociateCommand(session: Session, openOutbound?: OpenUdpOutbound): Promise<void> {
  const { config, request, connection } = session;
  const clientIp = connection.remoteAddress.hostname;
  // The request names where the client will send from; 0 means it does not know yet.
  let clientPort: number | undefined = request.destination.port !== 0 ? request.destination.port : undefined;
  const claimed = request.destination.address;
  if (claimed.type !== "domain" && !isUnspecified(claimed.host) && !sameIp(claimed.host, clientIp)) {
    // A client behind NAT may name its private address; the TCP peer's address is what datagrams come from.
    clientPort = undefined;
  }
  // A spent quota refuses before anything is opened (SOCKS5 0x02), as for CONNECT (route.ts).
  const { usage } = config;
  const key = usage.empty ? undefined : usage.keyOf(request.user, clientIp);
  usage.checkQuota(key);
  const refusal = session.admission.admitUdp(clientIp);
  if (refusal !== undefined) {
    throw new SocksError("failed", `UDP ASSOCIATE: over the limit ${refusal} (${config.limits[refusal]})`);
  }
  try {
    await associate(session, clientIp, clientPort, openOutbound, usage.meter(key));
  } finally {
    session.admission.releaseUdp(clientIp);
  }
}

/** Thrown (and counted as a drop) for a datagram over the rate or past the quota: one value, no stack per drop. */
const OVER_LIMIT = new SocksError("not-allowed", "over the rate or the quota");

/** How many destinations an association remembers resolved; past it, the memory starts over. */
const RESOLVED_CACHE_SIZE = 256;

async function associate(
  session: Session,
  clientIp: string,
  clientPort: number | undefined,
  openOutbound: OpenUdpOutbound | undefined,
  meter: RelayMeter | undefined,
): Promise<void> {
  const { config, connection, record } = session;
  const network = config.network;
  let idle: IdleTimer | undefined;
  let dropped = 0;
  let inFlight = 0;
  const resolved = new Map<string, Promise<string[]>>();
  const outbound = new Map<"ipv4" | "ipv6", Promise<UdpSocket>>();
  let upstream: UdpOutbound | undefined;
  const fragments = config.udpReassembly
    ? reassembler(config.udpReassemblyTimeoutMs, (n) => void (dropped += n))
    : undefined;

  // The meter of a limited key: until when each direction's rate is in debt (datagrams then are dropped), and the
  // quota's crossing, which ends the association.
  let upUntil = 0;
  let downUntil = 0;
  let crossed = false;
  // No limit, no closure: an unlimited association costs what it did before.
  const metered = meter === undefined ? undefined : (aToB: boolean, bytes: number): boolean => {
    if (crossed) return false;
    const now = performance.now();
    if (now < (aToB ? upUntil : downUntil)) return false;
    if (meter.allow(aToB, bytes) < bytes) {
      // A datagram is not cut in two: the one that would cross is dropped, and the association ends here.
      crossed = true;
      connection.close();
      return false;
    }
    const waitMs = meter.passed(aToB, bytes);
    if (aToB) upUntil = now + waitMs;
    else downUntil = now + waitMs;
    return true;
  };

  const toClient = (data: Uint8Array, from: HostPort) => {
    // Until the client's port is known there is nowhere to send an answer.
    if (clientPort === undefined) return void dropped++;
    if (metered !== undefined && !metered(false, data.length)) return void dropped++;
    idle?.touch();
    const wrapped = encodeSocks5UdpDatagram({ fragment: 0, destination: from, data });
    record.bytesDown += data.length;
    clientSocket.send(wrapped, { hostname: clientIp, port: clientPort }).catch(() => dropped++);
  };
  const fromRemote = (datagram: Datagram) => toClient(datagram.data, endpointToHostPort(datagram.from));
  const socketFor = (family: "ipv4" | "ipv6") => {
    let socket = outbound.get(family);
    if (socket === undefined) {
      // From the outbound address of the family when the operator set one (the destination sees it), else any.
      const hostname = config.outbound?.[family] ?? (family === "ipv4" ? "0.0.0.0" : "::");
      socket = network.bindUdp({ hostname, port: 0 }, fromRemote);
      outbound.set(family, socket);
    }
    return socket;
  };
  const forward = async (destination: HostPort, data: Uint8Array) => {
    // A datagram to an address the DNS port mapped would need its replies mapped back too: not carried, dropped.
    if (config.nameMap?.inRange(destination.address.host)) {
      throw new SocksError("host-unreachable", "UDP to a mapped address is not carried");
    }
    if (openOutbound !== undefined) {
      // Never directly: a datagram that comes before the upstream's association is open is dropped.
      if (upstream === undefined) throw new SocksError("failed", "the upstream association is not open yet");
      if (metered !== undefined && !metered(true, data.length)) throw OVER_LIMIT;
      await upstream.send(destination, data);
      record.bytesUp += data.length;
      return;
    }
    const key = `${destination.address.type}:${destination.address.host}:${destination.port}`;
    let addresses = resolved.get(key);
    if (addresses === undefined) {
      if (resolved.size >= RESOLVED_CACHE_SIZE) resolved.clear();
      addresses = resolveAllowed(session, destination);
      resolved.set(key, addresses);
    }
    const all = await addresses;
    // With outbound addresses, only a destination address of a family that has one can be reached.
    const target = config.outbound === undefined ? all[0] : all.find((a) => localAddressFor(a, config.outbound));
    if (target === undefined) throw new SocksError("network-unreachable", "no outbound address of that family");
    const family = ipAddress(target)?.type === "ipv6" ? "ipv6" : "ipv4";
    const socket = await socketFor(family);
    // Counted when it is handed to the socket, so only what is relayed counts.
    if (metered !== undefined && !metered(true, data.length)) throw OVER_LIMIT;
    await socket.send(data, { hostname: target, port: destination.port });
    record.bytesUp += data.length;
  };
  const fromClient = (datagram: Datagram) => {
    if (!sameIp(datagram.from.hostname, clientIp)) return void dropped++;
    if (clientPort === undefined) clientPort = datagram.from.port;
    else if (datagram.from.port !== clientPort) return void dropped++;
    let parsed;
    try {
      parsed = decodeSocks5UdpDatagram(datagram.data);
    } catch {
      return void dropped++;
    }
    if (parsed.fragment !== 0) {
      if (fragments === undefined) return void dropped++;
      const outcome = fragments.push(parsed);
      dropped += outcome.dropped;
      if (outcome.whole === undefined) return void idle?.touch();
      parsed = outcome.whole;
    }
    idle?.touch();
    // Each datagram waits at most for one lookup and one send; a burst past the window is dropped, not queued.
    if (inFlight >= config.limits.maxUdpDatagramsInFlight) {
      session.admission.refuse("maxUdpDatagramsInFlight");
      return void dropped++;
    }
    inFlight++;
    forward(parsed.destination, parsed.data).catch(() => dropped++).finally(() => inFlight--);
  };

  // Datagrams arrive only after this returns, so the callbacks above never see it uninitialised.
  const clientSocket: UdpSocket = await network.bindUdp({
    hostname: config.externalAddress ?? connection.localAddress.hostname,
    port: 0,
  }, fromClient);
  let timedOut = false;
  try {
    upstream = await openOutbound?.(toClient, () => connection.close());
    await session.reply.success(endpointToHostPort(clientSocket.address));
    idle = startIdleTimer(config.udpIdleTimeoutMs, () => {
      timedOut = true;
      connection.close();
    });
    const onAbort = () => connection.close();
    session.signal.addEventListener("abort", onAbort, { once: true });
    // The association lives as long as its TCP connection: read (and discard) until it ends.
    const client = session.clientEnd();
    const reader = client.reader ?? openReader(client.readable);
    try {
      let scratch = new Uint8Array(512);
      for (;;) {
        if (reader instanceof ReadableStreamBYOBReader) {
          const { done, value } = await reader.read(scratch);
          if (done) break;
          scratch = new Uint8Array(value.buffer);
        } else if ((await reader.read()).done) break;
      }
    } catch (error) {
      const gone = error instanceof SocksError && (error.code === "closed" || error.code === "reset");
      if (!timedOut && !gone) throw error;
    } finally {
      session.signal.removeEventListener("abort", onAbort);
    }
    if (timedOut) record.outcome = "udp-idle-timeout";
    if (crossed) {
      record.outcome = "quota-reached";
      record.error = quotaReached(meter!).message;
    }
  } finally {
    idle?.stop();
    fragments?.close();
    clientSocket.close();
    upstream?.close();
    for (const socket of outbound.values()) socket.then((s) => s.close(), () => {});
    if (dropped > 0 && !crossed) record.error = `${dropped} datagrams dropped`;
  }
}
