/**
 * The server's side of RFC 1928 section 7 reassembly for one association: the sans-I/O queue of
 * wire/socks5_udp_fragments.ts, fed with the clock, and a timer that frees an unfinished sequence when its
 * reassembly timer runs out (rather than when the next fragment happens to arrive).
 *
 * Memory: the queue holds at most one datagram's payload, each fragment copied out of the datagram it came in (a
 * view would pin the receive buffer). A fragment flood still raises Deno's RSS by about 80-100 MB (bounded), and a
 * bare node:dgram socket that does nothing with what it gets shows the same rise under Deno (48 -> 130 MB, against
 * 48 -> 136 MB through tabi; Bun +23 MB, Node +14 MB): Deno's node:dgram receives every datagram into a new 64 KiB
 * buffer and hands the listener a view of it, so each datagram leaves 64 KiB for the garbage collector. The JS heap
 * stays at 6 MB and external memory falls back to 1 MB after a collection; the RSS is the allocator's, not ours.
 *
 * @module
 */
import type { Socks5UdpDatagram } from "../../wire/socks5_udp.ts";
import { UdpReassemblyQueue } from "../../wire/socks5_udp_fragments.ts";

/** What one fragment led to: a whole datagram to send, if any, and how many fragments were given up. */
export interface FragmentOutcome {
  /** The whole datagram, FRAG 0, when this fragment completed one. */
  readonly whole?: Socks5UdpDatagram;
  /** Fragments dropped or abandoned on the way (counted in the connection's log line). */
  readonly dropped: number;
}

/** One association's reassembly. */
export interface Reassembler {
  /** Takes a fragment (FRAG != 0). */
  push(fragment: Socks5UdpDatagram): FragmentOutcome;
  /** Drops whatever is held and stops the timer. */
  close(): void;
}

/** Makes the reassembly of one association, with the given reassembly timer; `onExpired` counts what it frees. */
export function reassembler(timeoutMs: number, onExpired: (fragments: number) => void): Reassembler {
  const queue = new UdpReassemblyQueue({ timeoutMs });
  let timer: ReturnType<typeof setTimeout> | undefined;
  return {
    push(fragment) {
      const outcome = queue.push(fragment, Date.now());
      const dropped = outcome.abandoned + (outcome.kind === "dropped" ? 1 : 0);
      if (queue.fragmentsHeld === 0) {
        clearTimeout(timer);
        timer = undefined;
      } else if (outcome.kind === "held" && queue.fragmentsHeld === 1) {
        // A new sequence: its timer starts with its first fragment.
        clearTimeout(timer);
        timer = setTimeout(() => {
          const freed = queue.expire(Date.now());
          if (freed > 0) onExpired(freed);
        }, timeoutMs);
      }
      if (outcome.kind !== "complete") return { dropped };
      return { whole: { fragment: 0, destination: outcome.destination, data: outcome.data }, dropped };
    },
    close() {
      clearTimeout(timer);
      queue.expire(Number.POSITIVE_INFINITY);
    },
  };
}
