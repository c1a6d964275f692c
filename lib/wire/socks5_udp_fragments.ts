/**
 * RFC 1928 section 7 UDP fragmentation: splitting a payload into FRAG 1..n (the high bit marking the last), and
 * the receiver's reassembly queue. Sans-I/O: the queue keeps no timer, the caller passes the time with each
 * fragment and the queue abandons a sequence older than its reassembly timer.
 *
 * What RFC 1928 allows, read literally: the queue is reinitialised "whenever the REASSEMBLY TIMER expires, or a new
 * datagram arrives carrying a FRAG field whose value is less than the highest FRAG value processed for this
 * fragment sequence". So fragments must arrive in ascending order: one that arrives after a higher one abandons the
 * sequence (and starts a new one with itself). A sequence completes when its last fragment arrives and every
 * position from 1 up to it was seen; a last fragment with a gap before it can never complete, so it abandons too.
 *
 * @module
 */
import type { HostPort } from "./address.ts";
import type { Socks5UdpDatagram } from "./socks5_udp.ts";
import { SocksError } from "./socks_error.ts";

/** FRAG field values of RFC 1928 section 7. */
export const UdpFragment = {
  /** A standalone datagram. */
  Standalone: 0x00,
  /** The high-order bit: the last fragment of a sequence. */
  EndOfSequence: 0x80,
  /** The highest fragment position. */
  MaxPosition: 127,
} as const;

/** RFC 1928 section 7: "The reassembly timer MUST be no less than 5 seconds." */
export const MIN_REASSEMBLY_TIMEOUT_MS = 5_000;

/** The largest payload one UDP datagram can carry (IPv4: 65535 - 20 IP - 8 UDP). */
export const MAX_UDP_PAYLOAD = 65_507;

/**
 * Splits a payload into RFC 1928 fragments of at most `pieceSize` bytes each: FRAG 1, 2, ... with 0x80 set on the
 * last. A payload that fits in one piece is sent standalone (FRAG 0).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fragmentSocks5UdpDatagram } from "./socks5_udp_fragments.ts";
 * const destination = { address: { type: "ipv4" as const, host: "10.0.0.1" }, port: 53 };
 * const parts = fragmentSocks5UdpDatagram(destination, new Uint8Array(5), 2);
 * assert.deepEqual(parts.map((p) => p.fragment), [1, 2, 0x83]);
 * ```
 */
export function fragmentSocks5UdpDatagram(
  destination: HostPort,
  data: Uint8Array,
  pieceSize: number,
): Socks5UdpDatagram[] {
  if (!Number.isInteger(pieceSize) || pieceSize < 1) {
    throw new SocksError("bad-field", `fragment size ${pieceSize} is not a whole number >= 1`);
  }
  if (data.length <= pieceSize) return [{ fragment: UdpFragment.Standalone, destination, data }];
  const count = Math.ceil(data.length / pieceSize);
  if (count > UdpFragment.MaxPosition) {
    throw new SocksError(
      "too-long",
      `${data.length} bytes in pieces of ${pieceSize} need ${count} fragments; RFC 1928 allows 127`,
    );
  }
  const parts: Socks5UdpDatagram[] = [];
  for (let i = 0; i < count; i++) {
    const last = i === count - 1;
    parts.push({
      fragment: (i + 1) | (last ? UdpFragment.EndOfSequence : 0),
      destination,
      data: data.subarray(i * pieceSize, (i + 1) * pieceSize),
    });
  }
  return parts;
}

/**
 * What the queue did with a fragment. In every case `abandoned` counts the fragments held before that this one made
 * the queue give up (its timer, a lower FRAG, another destination, the size limit).
 */
export type ReassemblyOutcome =
  /** A whole datagram: the fragment was standalone, or it completed its sequence. */
  | { readonly kind: "complete"; readonly destination: HostPort; readonly data: Uint8Array; readonly abandoned: number }
  /** Held, waiting for the rest of its sequence. */
  | { readonly kind: "held"; readonly abandoned: number }
  /** Dropped, and why (a fragment that can never be part of a whole datagram). */
  | { readonly kind: "dropped"; readonly abandoned: number; readonly reason: string };

/** Options of a {@link UdpReassemblyQueue}. */
export interface UdpReassemblyOptions {
  /** The reassembly timer: a sequence not complete this long after its first fragment is abandoned (>= 5000). */
  readonly timeoutMs?: number;
  /** The most payload bytes a sequence may hold (default {@link MAX_UDP_PAYLOAD}, the datagram limit). */
  readonly maxBytes?: number;
}

function sameDestination(a: HostPort, b: HostPort): boolean {
  return a.port === b.port && a.address.type === b.address.type && a.address.host === b.address.host;
}

/**
 * The reassembly queue of one receiver (one UDP association): at most one sequence at a time, as RFC 1928
 * describes, holding at most `maxBytes` of payload.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { UdpReassemblyQueue } from "./socks5_udp_fragments.ts";
 * const queue = new UdpReassemblyQueue();
 * const destination = { address: { type: "ipv4" as const, host: "10.0.0.1" }, port: 53 };
 * assert.equal(queue.push({ fragment: 1, destination, data: new Uint8Array([1]) }, 0).kind, "held");
 * const done = queue.push({ fragment: 0x82, destination, data: new Uint8Array([2]) }, 10);
 * assert.equal(done.kind, "complete");
 * if (done.kind === "complete") assert.deepEqual([...done.data], [1, 2]);
 * ```
 */
export class UdpReassemblyQueue {
  /** The reassembly timer in milliseconds. */
  readonly timeoutMs: number;
  /** The most payload bytes one sequence may hold. */
  readonly maxBytes: number;
  #pieces: Uint8Array[] = [];
  #highest = 0;
  #bytes = 0;
  #count = 0;
  #startedAt = 0;
  #destination: HostPort | undefined;

  /** Makes an empty queue; throws a SocksError when the timer is under RFC 1928's 5 seconds. */
  constructor(options: UdpReassemblyOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? MIN_REASSEMBLY_TIMEOUT_MS;
    this.maxBytes = options.maxBytes ?? MAX_UDP_PAYLOAD;
    if (!(this.timeoutMs >= MIN_REASSEMBLY_TIMEOUT_MS)) {
      throw new SocksError("bad-field", `reassembly timer ${this.timeoutMs} ms is under RFC 1928's 5 seconds`);
    }
    if (!(Number.isInteger(this.maxBytes) && this.maxBytes >= 1)) {
      throw new SocksError("bad-field", `reassembly limit ${this.maxBytes} is not a whole number >= 1`);
    }
  }

  /** Payload bytes held now (never more than {@link UdpReassemblyQueue.maxBytes}). */
  get bytesHeld(): number {
    return this.#bytes;
  }

  /** Fragments held now. */
  get fragmentsHeld(): number {
    return this.#count;
  }

  /** Abandons the sequence if its timer ran out by `now`; answers how many fragments were given up. */
  expire(now: number): number {
    if (this.#count > 0 && now - this.#startedAt >= this.timeoutMs) return this.#reset();
    return 0;
  }

  /** Takes one decoded datagram received at time `now` (milliseconds, any monotonic origin). */
  push(datagram: Socks5UdpDatagram, now: number): ReassemblyOutcome {
    let abandoned = this.expire(now);
    const { fragment, destination, data } = datagram;
    if (fragment === UdpFragment.Standalone) {
      // A standalone datagram is not part of the sequence; it goes out as it is and leaves the queue alone.
      return { kind: "complete", destination, data, abandoned };
    }
    const position = fragment & 0x7f;
    const last = (fragment & UdpFragment.EndOfSequence) !== 0;
    if (position === 0) {
      return { kind: "dropped", abandoned, reason: "FRAG 0x80 names no position" };
    }
    if (this.#count > 0) {
      if (position < this.#highest) abandoned += this.#reset();
      else if (position === this.#highest) {
        return { kind: "dropped", abandoned, reason: `FRAG ${position} repeats the highest one seen` };
      } else if (!sameDestination(destination, this.#destination!)) abandoned += this.#reset();
    }
    if (this.#count === 0) {
      this.#startedAt = now;
      this.#destination = destination;
    }
    if (this.#bytes + data.length > this.maxBytes) {
      abandoned += this.#reset();
      return { kind: "dropped", abandoned, reason: `the sequence would exceed ${this.maxBytes} bytes` };
    }
    // The array is sparse where positions were skipped: with ascending positions, the sequence is whole when the
    // last one's position equals the count of fragments. A gap is not lower than the highest, so only the last
    // fragment finds it, and then the sequence can never complete.
    if (last && this.#count + 1 !== position) {
      abandoned += this.#reset();
      return { kind: "dropped", abandoned, reason: `the last fragment ${position} came with positions missing` };
    }
    this.#pieces[position - 1] = data.slice();
    this.#bytes += data.length;
    this.#count++;
    this.#highest = position;
    if (!last) return { kind: "held", abandoned };
    const out = new Uint8Array(this.#bytes);
    let at = 0;
    for (const piece of this.#pieces) {
      out.set(piece, at);
      at += piece.length;
    }
    const target = this.#destination!;
    this.#reset();
    return { kind: "complete", destination: target, data: out, abandoned };
  }

  /** Gives the sequence up; answers how many fragments it held. */
  #reset(): number {
    const held = this.#count;
    this.#pieces = [];
    this.#count = 0;
    this.#highest = 0;
    this.#bytes = 0;
    this.#destination = undefined;
    return held;
  }
}
