/**
 * The slice of Bun's TCP API the Bun adapter uses, typed here so that `deno check` needs no Bun type package.
 * Facts it relies on (measured with Bun 1.4.5; ARCHITECTURE.md, "What the runtimes do"):
 * - `write(data, offset, length)` returns how many bytes the kernel took; Bun keeps none, so the rest waits for
 *   the `drain` handler, and the caller's buffer is free again as soon as `write` returns.
 * - `shutdown()` with no argument sends FIN and keeps reading; `shutdown(true)` stops the read side instead.
 * - `end()` sends FIN and closes the socket; `close(socket, error)` gets an error only for a reset or failure.
 * - `terminate()` closes the socket with a reset (RST), the way to pass a reset on.
 * - `pause()`/`resume()` stop and restart reading, the read side's backpressure.
 *
 * @module
 */

/** One TCP socket as Bun hands it to the handlers; `data` is the per-socket state the adapter keeps. */
export interface BunSocket<State> {
  data: State;
  readonly localAddress: string;
  readonly localPort: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
  write(data: Uint8Array, byteOffset?: number, byteLength?: number): number;
  shutdown(halfClose?: boolean): void;
  end(): void;
  terminate(): void;
  pause(): void;
  resume(): void;
  setNoDelay(noDelay?: boolean): boolean;
}

/** The handlers Bun calls, shared by every socket of one `connect` or `listen` call. */
export interface BunSocketHandlers<State> {
  open?(socket: BunSocket<State>): void;
  data(socket: BunSocket<State>, data: Uint8Array): void;
  drain?(socket: BunSocket<State>): void;
  end?(socket: BunSocket<State>): void;
  close?(socket: BunSocket<State>, error?: Error): void;
  error?(socket: BunSocket<State>, error: Error): void;
  connectError?(socket: BunSocket<State>, error: Error): void;
}

/** A listening socket from `Bun.listen`. */
export interface BunListener {
  readonly hostname: string;
  readonly port: number;
  stop(closeActiveConnections?: boolean): void;
}

/** The `Bun` global's TCP functions. */
export interface BunTcp {
  connect<State>(options: {
    hostname: string;
    port: number;
    /** The source address (undocumented, honoured by Bun 1.4.5). */
    localAddress?: string;
    allowHalfOpen: boolean;
    data: State;
    socket: BunSocketHandlers<State>;
  }): Promise<BunSocket<State>>;
  listen<State>(options: {
    hostname: string;
    port: number;
    allowHalfOpen: boolean;
    ipv6Only: boolean;
    /** SO_REUSEPORT: several processes accept on one port (Linux spreads connections over them). */
    reusePort: boolean;
    socket: BunSocketHandlers<State>;
  }): BunListener;
}

/** The running Bun's TCP functions; throws outside Bun. */
export function bunTcp(): BunTcp {
  const bun = (globalThis as { Bun?: BunTcp }).Bun;
  if (bun === undefined) throw new TypeError("the Bun adapter needs the Bun runtime");
  return bun;
}
