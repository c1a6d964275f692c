/**
 * The Deno adapter's native relay: a `conn.read`/`conn.write` loop per direction, with no stream in between, and
 * `closeWrite()` to pass a FIN on. Each read buffer starts small (an idle tunnel holds it) and grows while reads
 * fill it, as in lib/relay.ts. Deno cannot send a reset (no SO_LINGER), so a reset is passed on as a close.
 *
 * @module
 */
import { startIdleTimer } from "../../time/idle_timer.ts";
import type { NativeRelayOptions, NativeSocket } from "../../net/native_relay.ts";
import { DEFAULT_MAX_CHUNK_SIZE, type RelayResult } from "../../relay.ts";
import { quotaReached, RelayStop } from "../../net/relay_result.ts";

/**
 * The first read buffer of a direction: small, since an idle tunnel holds one per direction while its read waits;
 * it grows fourfold on every full read (64 B, 256 B, 1 KiB ... 128 KiB), so a bulk transfer reaches it in 7 reads.
 */
const INITIAL_CHUNK_SIZE = 64;

/** What the Deno adapter lets the native relay do with one connection. */
export interface DenoConnHooks {
  /** The connection. */
  readonly conn: Deno.TcpConn;
  /** True while the stream reads or has ended, or the connection is closed: then only the streams relay can go on. */
  busy(): boolean;
  /** Closes the connection (both directions). */
  close(): void;
  /** The relay reads and writes the connection itself from now on: the adapter lets its stream objects go. */
  release(): void;
}

/**
 * A `Deno.TcpConn` the Deno adapter can relay natively with another of its own.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DenoNativeSocket } from "./relay.ts";
 * const native = new DenoNativeSocket({ conn: undefined as never, busy: () => true, close() {}, release() {} });
 * const options = { leftover: undefined, otherLeftover: undefined, idleTimeoutMs: 0, signal: undefined };
 * // A busy stream (or a socket of another adapter) is left to the streams relay.
 * assert.equal(native.relayWith(native, options), undefined);
 * ```
 */
export class DenoNativeSocket implements NativeSocket {
  readonly #hooks: DenoConnHooks;

  /** Wraps one connection. */
  constructor(hooks: DenoConnHooks) {
    this.#hooks = hooks;
  }

  /** Relays natively when `other` is a Deno connection too and neither stream is in the way. */
  relayWith(other: NativeSocket, options: NativeRelayOptions): Promise<RelayResult> | undefined {
    if (!(other instanceof DenoNativeSocket) || other === this) return undefined;
    if (this.#hooks.busy() || other.#hooks.busy()) return undefined;
    this.#hooks.release();
    other.#hooks.release();
    return loops(this.#hooks, other.#hooks, options);
  }
}

// Not an async function: an idle tunnel then holds no suspended frame here, only the two pumps' (about 0.3 KB less).
function loops(a: DenoConnHooks, b: DenoConnHooks, options: NativeRelayOptions): Promise<RelayResult> {
  const stopped = new RelayStop();
  const stop = (reason: RelayResult["outcome"], error?: unknown) => {
    if (!stopped.record(reason, error)) return;
    a.close();
    b.close();
  };
  const counts = { aToB: 0, bToA: 0 };
  let ended = 0;
  // Set once both directions ended: a closeWrite still under way may then fail, and that is no error.
  let finished = false;
  const finish = () => {
    if (stopped.stopped) return;
    finished = true;
    a.close();
    b.close();
  };
  const idle = startIdleTimer(options.idleTimeoutMs, () => stop("idle-timeout"));
  const { signal } = options;
  const onAbort = () => stop("aborted");
  signal?.addEventListener("abort", onAbort, { once: true });
  if (signal?.aborted) onAbort();

  const { meter } = options;
  const pump = async (
    from: Deno.TcpConn,
    to: Deno.TcpConn,
    leftover: Uint8Array | undefined,
    count: (n: number) => void,
    aToB: boolean,
  ) => {
    try {
      if (leftover && leftover.byteLength > 0) {
        await writeAll(to, leftover);
        count(leftover.byteLength);
        meter?.passed(aToB, leftover.byteLength);
        idle.touch();
      }
      let buffer = new Uint8Array(INITIAL_CHUNK_SIZE);
      for (;;) {
        const n = await from.read(buffer);
        if (n === null) break;
        if (meter !== undefined) {
          const allowed = meter.allow(aToB, n);
          if (allowed < n) {
            // The crossing: what the quota still allows goes out, then the tunnel closes.
            if (allowed > 0) await writeAll(to, buffer.subarray(0, allowed));
            count(allowed);
            meter.passed(aToB, allowed);
            return stop("quota-reached", quotaReached(meter));
          }
        }
        await writeAll(to, n === buffer.byteLength ? buffer : buffer.subarray(0, n));
        count(n);
        idle.touch();
        if (meter !== undefined) {
          const waitMs = meter.passed(aToB, n);
          if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs));
        }
        // A full read is a bulk transfer: read more at once next time.
        if (n === buffer.byteLength && n < DEFAULT_MAX_CHUNK_SIZE) {
          buffer = new Uint8Array(Math.min(DEFAULT_MAX_CHUNK_SIZE, n * 4));
        }
      }
      // The last direction to end closes both connections next, which sends its FIN anyway: one op fewer.
      if (ended++ === 0) await to.closeWrite();
      else finish();
    } catch (error) {
      if (!finished) stop("error", error);
    }
  };
  const ends = (): RelayResult => {
    idle.stop();
    signal?.removeEventListener("abort", onAbort);
    if (!stopped.stopped) {
      a.close();
      b.close();
    }
    return stopped.result(counts.aToB, counts.bToA);
  };
  return Promise.all([
    pump(a.conn, b.conn, options.leftover, (n) => (counts.aToB += n), true),
    pump(b.conn, a.conn, options.otherLeftover, (n) => (counts.bToA += n), false),
  ]).then(ends);
}

async function writeAll(conn: Deno.TcpConn, bytes: Uint8Array): Promise<void> {
  for (let done = 0; done < bytes.byteLength;) done += await conn.write(done === 0 ? bytes : bytes.subarray(done));
}
