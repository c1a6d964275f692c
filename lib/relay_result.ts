/**
 * What a relay reports when it ends: the streams relay (relay.ts) and the native ones (native_relay.ts) alike.
 *
 * @module
 */
import type { SocksError } from "./wire/socks_error.ts";

/** How a relay ended and what it moved. */
export interface RelayResult {
  /** Bytes from `a` to `b` (leftover included). */
  readonly aToB: number;
  /** Bytes from `b` to `a` (leftover included). */
  readonly bToA: number;
  /** "done" when both directions ended with a FIN; otherwise why it stopped. */
  readonly outcome: "done" | "idle-timeout" | "aborted" | "error";
  /** The first error, when outcome is "error". */
  readonly error?: SocksError;
}
