/**
 * A socket read by its adapter directly, without WHATWG streams: the handshake's fast path. Where an adapter owns a
 * real socket (Deno, Bun, Node), its connections are byte sources too, and a {@link ByteReader} over one reads the
 * socket itself; the streams are built only when something needs them (a relay that cannot go native, a TLS
 * upgrade, a stream handed to user code), and start where the reads stopped.
 *
 * @module
 */

/** A socket its adapter reads directly; `readable` is the same bytes as a stream, from where `read` left off. */
export interface ByteSource {
  /**
   * Reads the next bytes the peer sent: a view of `into` where the runtime reads into the caller's array
   * ({@link ByteSource.readsInto}), an array of the runtime's own otherwise, the caller's to keep either way;
   * undefined at the peer's FIN. Rejects with a SocksError when the connection fails. One read at a time, and none
   * once `readable` was asked for.
   */
  read(into?: Uint8Array): Promise<Uint8Array | undefined>;
  /**
   * True where `read` fills the array it is given (Deno's `conn.read`); false where the runtime hands over arrays of
   * its own (Node's and Bun's data events), so that none is made for it.
   */
  readonly readsInto: boolean;
  /** The bytes not read yet, as a stream (made on first use). */
  readonly readable: ReadableStream<Uint8Array>;
}

/** True when `input` is a {@link ByteSource} rather than a plain stream. */
export function isByteSource(input: ReadableStream<Uint8Array> | ByteSource): input is ByteSource {
  return typeof (input as Partial<ByteSource>).read === "function" && !(input instanceof ReadableStream);
}
