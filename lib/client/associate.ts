/**
 * UDP ASSOCIATE through a SOCKS5 proxy: a local UDP socket whose datagrams go to any destination through the
 * proxy's relay, headers encoded and decoded here. The association lives as long as its TCP connection.
 *
 * @module
 */
import { endpointToHostPort, ipAddress, isUnspecified } from "../net/endpoint.ts";
import type { Endpoint, UdpSocket } from "../net/network.ts";
import type { HostPort } from "../wire/address.ts";
import { Socks5Command } from "../wire/constants.ts";
import { decodeSocks5UdpDatagram, encodeSocks5UdpDatagram } from "../wire/socks5_udp.ts";
import { SocksError } from "../wire/socks_error.ts";
import { fragmentSocks5UdpDatagram } from "../wire/socks5_udp_fragments.ts";
import { parseDestination, proxyList, throughChain } from "./chain.ts";
import type { DestinationInput, NetworkClientOptions, ProxyInput } from "./options.ts";

/** A datagram received through the relay, with the address of the host that sent it. */
export interface RelayedDatagram {
  /** The payload. */
  readonly data: Uint8Array;
  /** The host that sent it, as the relay's header names it. */
  readonly from: HostPort;
}

/** Options of {@link UdpAssociation.send}. */
export interface SendOptions {
  /** Split the payload into RFC 1928 fragments of at most this many bytes (FRAG 1..n, 0x80 on the last). */
  readonly fragmentSize?: number;
}

/** An open UDP association. */
export interface UdpAssociation {
  /** The proxy's relay address. */
  readonly relay: Endpoint;
  /** Datagrams from anywhere, through the relay. When the consumer falls behind, new datagrams are dropped. */
  readonly datagrams: ReadableStream<RelayedDatagram>;
  /**
   * Sends one datagram to `destination` through the relay; with `fragmentSize`, as RFC 1928 section 7 fragments of
   * at most that many payload bytes each (the relay must reassemble, e.g. `tabi serve --udp-reassembly`).
   */
  send(data: Uint8Array, destination: DestinationInput, options?: SendOptions): Promise<void>;
  /** Ends the association (closes the UDP socket and the TCP connection). */
  close(): void;
}

/**
 * Opens a UDP association through one SOCKS5 proxy.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defaultNetwork } from "../runtime/detect.ts";
 * import { associate } from "./associate.ts";
 * const network = await defaultNetwork();
 * await assert.rejects(associate("socks4a://127.0.0.1:1", { network }), { code: "unsupported" });
 * ```
 */
export function associate(proxy: ProxyInput, options: NetworkClientOptions): Promise<UdpAssociation> {
  const [spec] = proxyList(proxy);
  if (spec.version !== 5) return Promise.reject(new SocksError("unsupported", "UDP ASSOCIATE needs a SOCKS5 proxy"));
  return throughChain(spec, options, async (hop) => {
    // Set once the proxy has answered; datagrams before that are not from the relay.
    const relay: { at?: Endpoint } = {};
    let controller!: ReadableStreamDefaultController<RelayedDatagram>;
    let ended = false;
    const datagrams = new ReadableStream<RelayedDatagram>({ start: (c) => void (controller = c) }, {
      highWaterMark: 256,
    });
    const deliver = (d: RelayedDatagram) => {
      if (!ended && (controller.desiredSize ?? 0) > 0) controller.enqueue(d);
    };
    // Bind where we reach the proxy from, so the relay sees datagrams from the address it expects.
    const socket: UdpSocket = await hop.network.bindUdp(
      { hostname: hop.connection.localAddress.hostname, port: 0 },
      (d) => {
        if (relay.at === undefined || d.from.port !== relay.at.port) return;
        try {
          const decoded = decodeSocks5UdpDatagram(d.data);
          if (decoded.fragment === 0) deliver({ data: decoded.data, from: decoded.destination });
        } catch {
          // Not a relay frame: dropped.
        }
      },
    );
    let bound;
    try {
      bound = await hop.request(Socks5Command.UdpAssociate, endpointToHostPort(socket.address));
    } catch (error) {
      socket.close();
      throw error;
    }
    // 0.0.0.0 / :: in the reply means "the address you reached me at".
    const relayHost = bound.address.type !== "domain" && !isUnspecified(bound.address.host)
      ? bound.address.host
      : hop.connection.remoteAddress.hostname;
    const relayAt: Endpoint = { hostname: ipAddress(relayHost)?.host ?? relayHost, port: bound.port };
    relay.at = relayAt;
    const close = () => {
      if (ended) return;
      ended = true;
      socket.close();
      hop.connection.close();
      controller.close();
    };
    // The association ends with its TCP connection: watch it.
    hop.writer.releaseLock();
    const { readable } = hop.reader.release();
    readable.pipeTo(new WritableStream()).catch(() => {}).finally(close);
    options.signal?.addEventListener("abort", close, { once: true });
    return {
      relay: relayAt,
      datagrams,
      async send(data, to, sendOptions = {}) {
        const target = await hop.prepare(parseDestination(to));
        const parts = sendOptions.fragmentSize === undefined
          ? [{ fragment: 0, destination: target, data }]
          : fragmentSocks5UdpDatagram(target, data, sendOptions.fragmentSize);
        // In order: RFC 1928's receiver abandons a sequence when a lower fragment follows a higher one.
        for (const part of parts) await socket.send(encodeSocks5UdpDatagram(part), relayAt);
      },
      close,
    };
  });
}
