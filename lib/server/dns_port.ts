/**
 * The DNS port: a DNS server on UDP and TCP at one address, answering from a name map (dns_answer.ts) over the
 * `Network` contract. Careful with what it is sent: UDP answers are budgeted per second (a flood past it is dropped,
 * not answered), TCP connections are few and each must send its next message within a timeout (RFC 7766 section
 * 6.2.3), and one TCP message is 65,535 octets at most, so memory stays bounded whatever arrives.
 *
 * @module
 */
import { ByteReader } from "../io/byte_reader.ts";
import type { Connection, Endpoint, Listener, ListenOptions, Network, UdpSocket } from "../net/network.ts";
import { afterTimeout } from "../time/deadline.ts";
import { decodeDnsTcpFrame, encodeDnsTcpFrame } from "../wire/dns_tcp_frame.ts";
import { answerDnsMessage } from "./dns_answer.ts";
import type { NameMap } from "./name_map.ts";

/** The DNS port's defaults. */
export const DNS_PORT_DEFAULTS = {
  /** How long a TCP client may take to send its next message before the connection is closed. */
  tcpIdleTimeoutMs: 10_000,
  /** TCP connections open at once; one more is closed as soon as it is accepted. */
  maxTcpConnections: 64,
  /** UDP answers per second; datagrams past that in the same second are dropped. */
  udpAnswersPerSecond: 20_000,
} as const;

/** How a DNS port runs. */
export interface DnsPortOptions {
  /** See {@link DNS_PORT_DEFAULTS}. */
  readonly tcpIdleTimeoutMs?: number;
  /** See {@link DNS_PORT_DEFAULTS}. */
  readonly maxTcpConnections?: number;
  /** See {@link DNS_PORT_DEFAULTS}. */
  readonly udpAnswersPerSecond?: number;
}

/** A running DNS port. */
export interface DnsPort {
  /** Where it listens: the same address on UDP and TCP. */
  readonly address: Endpoint;
  /** Stops both listeners and closes the open TCP connections. */
  close(): Promise<void>;
}

/**
 * Starts a DNS port on `listen`, UDP and TCP (port 0: one free port, the same for both), answering from `nameMap`.
 * Hand the same map to the server (`nameMap` in its options) so that it turns the addresses back into names.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defaultNetwork } from "../runtime/detect.ts";
 * import { startDnsPort } from "./dns_port.ts";
 * import { NameMap } from "./name_map.ts";
 * const dns = await startDnsPort(await defaultNetwork(), { hostname: "127.0.0.1", port: 0 }, new NameMap());
 * assert.ok(dns.address.port > 0);
 * await dns.close();
 * ```
 */
export async function startDnsPort(
  network: Network,
  listen: ListenOptions,
  nameMap: NameMap,
  options: DnsPortOptions = {},
): Promise<DnsPort> {
  const idleMs = options.tcpIdleTimeoutMs ?? DNS_PORT_DEFAULTS.tcpIdleTimeoutMs;
  const maxTcp = options.maxTcpConnections ?? DNS_PORT_DEFAULTS.maxTcpConnections;
  const budget = options.udpAnswersPerSecond ?? DNS_PORT_DEFAULTS.udpAnswersPerSecond;
  let second = 0;
  let answered = 0;
  let udp: UdpSocket | undefined;
  const onDatagram = ({ data, from }: { data: Uint8Array; from: Endpoint }) => {
    const now = Math.floor(Date.now() / 1000);
    if (now !== second) [second, answered] = [now, 0];
    if (answered >= budget) return nameMap.countRefusal("dropped");
    answered++;
    const answer = answerDnsMessage(nameMap, data);
    if (answer !== undefined) udp?.send(answer, from).catch(() => {}); // A client gone away is nobody's loss.
  };
  const open = new Set<Connection>();
  const onConnection = (connection: Connection) => {
    if (open.size >= maxTcp) {
      nameMap.countRefusal("dropped");
      return connection.close();
    }
    open.add(connection);
    void serveTcp(connection, nameMap, idleMs).finally(() => {
      open.delete(connection);
      connection.close();
    });
  };
  // TCP first: with port 0 it picks the port, and UDP takes the same one (a resolver asks both at one address).
  const tcp: Listener = await network.listen(listen, onConnection);
  try {
    udp = await network.bindUdp({ hostname: listen.hostname, port: tcp.address.port }, onDatagram);
  } catch (error) {
    await tcp.close();
    throw error;
  }
  return {
    address: tcp.address,
    async close() {
      udp?.close();
      for (const connection of open) connection.close();
      await tcp.close();
    },
  };
}

/** Answers length-prefixed messages one after another until the client ends, lies or goes quiet. */
async function serveTcp(connection: Connection, nameMap: NameMap, idleMs: number): Promise<void> {
  const reader = new ByteReader(connection.readable);
  const writer = connection.writable.getWriter();
  try {
    for (;;) {
      const cancel = afterTimeout(idleMs, () => connection.close());
      let message: Uint8Array;
      try {
        message = await reader.read(decodeDnsTcpFrame);
      } finally {
        cancel();
      }
      const answer = answerDnsMessage(nameMap, message);
      if (answer === undefined) return; // A response sent to a server: not a client to keep talking to.
      await writer.write(encodeDnsTcpFrame(answer));
    }
  } catch {
    // The end of the conversation: the client closed, timed out, or sent a length prefix shorter than a header.
  }
}
