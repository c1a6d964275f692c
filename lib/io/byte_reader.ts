/**
 * A reader of exact byte counts and whole messages over a `ReadableStream<Uint8Array>` or a socket its adapter reads
 * directly (a {@link ByteSource}), for handshakes. It keeps what it read past the last message and hands it over with
 * the stream, so no byte behind a request is lost.
 *
 * @module
 */
import type { Decoder } from "../wire/decoded.ts";
import { SocksError } from "../wire/socks_error.ts";
import { openReader } from "./open_reader.ts";
import { type ByteSource, isByteSource } from "./byte_source.ts";

/** What {@link ByteReader.release} hands over: bytes already read past the last message, then the stream itself. */
export interface ReleasedStream {
  /** Bytes read from the stream but not consumed; they come before anything still in `readable`. */
  readonly leftover: Uint8Array;
  /** The stream, unlocked, positioned right after `leftover`. */
  readonly readable: ReadableStream<Uint8Array>;
}

/** What {@link ByteReader.detach} hands over: bytes already read past the last message, then the locked reader. */
export interface DetachedReader {
  /** Bytes read from the stream but not consumed; they come before anything the reader still yields. */
  readonly leftover: Uint8Array;
  /**
   * The reader the ByteReader used: BYOB on a byte stream, default otherwise; undefined when it read a
   * {@link ByteSource} (no stream was made: the source's `readable` has the rest).
   */
  readonly reader: ReadableStreamBYOBReader | ReadableStreamDefaultReader<Uint8Array> | undefined;
}

/** Options of a {@link ByteReader}. */
export interface ByteReaderOptions {
  /** How many bytes one BYOB read asks for at most; small, since handshakes are small. Default 4096. */
  readonly chunkSize?: number;
}

const EMPTY = new Uint8Array(0);

/**
 * Reads exact byte counts and whole messages from a stream or a {@link ByteSource}. Uses a BYOB reader with `{min}`
 * on a byte stream, a default reader otherwise; a source's own `read` without any stream.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ByteReader } from "./byte_reader.ts";
 * const stream = ReadableStream.from([new Uint8Array([1, 2, 3]), new Uint8Array([0x61, 0, 9])]);
 * const reader = new ByteReader(stream);
 * assert.equal(await reader.readByte(), 1);
 * assert.deepEqual([...await reader.readExactly(2)], [2, 3]);
 * assert.deepEqual([...await reader.readUntilNul(10)], [0x61]);
 * const { leftover } = reader.release();
 * assert.deepEqual([...leftover], [9]);
 * ```
 */
export class ByteReader {
  #stream: ReadableStream<Uint8Array> | undefined;
  #source: ByteSource | undefined;
  #byob: ReadableStreamBYOBReader | undefined;
  #default: ReadableStreamDefaultReader<Uint8Array> | undefined;
  #buffer: Uint8Array = EMPTY;
  /** The array `#buffer` lives in when this reader made it: bytes past `#buffer`'s end are free to fill. */
  #owned: Uint8Array | undefined;
  /** A BYOB read's buffer whose bytes were copied out: the next read reads into it instead of a new one. */
  #spare: ArrayBuffer | undefined;
  #chunkSize: number;
  #released = false;

  /** Locks `stream` until {@link ByteReader.release}; reads a {@link ByteSource} with its own `read`. */
  constructor(stream: ReadableStream<Uint8Array> | ByteSource, options: ByteReaderOptions = {}) {
    this.#chunkSize = options.chunkSize ?? 4096;
    if (isByteSource(stream)) {
      this.#source = stream;
      return;
    }
    this.#stream = stream;
    const reader = openReader(stream);
    if (reader instanceof ReadableStreamBYOBReader) this.#byob = reader;
    else this.#default = reader;
  }

  /** How many bytes are read from the stream and not yet consumed. */
  get buffered(): number {
    return this.#buffer.length;
  }

  /** Reads and consumes exactly `n` bytes; throws SocksError `closed` if the stream ends first. */
  async readExactly(n: number): Promise<Uint8Array> {
    await this.#fill(n);
    return this.#take(n);
  }

  /** Reads and consumes one byte. */
  async readByte(): Promise<number> {
    await this.#fill(1);
    return this.#take(1)[0];
  }

  /**
   * Reads and consumes between 1 and `max` bytes: what is buffered, or one read's worth; an empty array at the end
   * of the stream. For streaming a body through without holding it whole.
   */
  async readAtMost(max: number): Promise<Uint8Array> {
    if (this.#buffer.length === 0) {
      try {
        await this.#fill(1);
      } catch (error) {
        if (error instanceof SocksError && error.code === "closed") return EMPTY;
        throw error;
      }
    }
    return this.#take(Math.min(max, this.#buffer.length)).slice();
  }

  /** Returns the next byte without consuming it. */
  async peekByte(): Promise<number> {
    await this.#fill(1);
    return this.#buffer[0];
  }

  /** Reads up to and including a NUL; returns the bytes before it. Throws `too-long` past `maxLength` bytes. */
  async readUntilNul(maxLength: number): Promise<Uint8Array> {
    for (;;) {
      const at = this.#buffer.subarray(0, maxLength + 1).indexOf(0);
      if (at !== -1) {
        const field = this.#take(at + 1);
        return field.subarray(0, at);
      }
      if (this.#buffer.length > maxLength) {
        throw new SocksError("too-long", `no NUL within ${maxLength} bytes`);
      }
      await this.#fill(this.#buffer.length + 1);
    }
  }

  /** Reads one whole message with an incremental decoder, consuming exactly its bytes. */
  async read<T>(decoder: Decoder<T>): Promise<T> {
    for (;;) {
      const result = decoder(this.#buffer);
      if (result.done) {
        this.#take(result.consumed);
        return result.value;
      }
      // Re-run the decoder on any progress: a malformed byte can be judged before the whole message arrives.
      await this.#fill(this.#buffer.length + result.needed, 1);
    }
  }

  /** Releases the stream intact, with the bytes read past the last message. The reader is unusable after. */
  release(): ReleasedStream {
    if (this.#released) throw new SocksError("failed", "ByteReader already released");
    this.#released = true;
    (this.#byob ?? this.#default)?.releaseLock();
    const leftover = this.#leftover();
    const readable = this.#stream ?? this.#source!.readable;
    this.#forget();
    return { leftover, readable };
  }

  /**
   * Hands over the reader itself, still locked, with the bytes read past the last message: what a relay needs, and
   * cheaper than {@link ByteReader.release} (releasing a lock rejects the reader's `closed` promise with a new error).
   * The ByteReader is unusable after.
   */
  detach(): DetachedReader {
    if (this.#released) throw new SocksError("failed", "ByteReader already released");
    this.#released = true;
    const leftover = this.#leftover();
    const reader = this.#byob ?? this.#default;
    this.#forget();
    return { leftover, reader };
  }

  /**
   * Drops the stream and its reader once handed over: a session keeps its ByteReader for as long as its tunnel
   * lives, and the stream objects are the new owner's to keep or to let go (a native relay lets them go).
   */
  #forget(): void {
    this.#owned = undefined;
    this.#spare = undefined;
    this.#stream = undefined;
    this.#source = undefined;
    this.#byob = undefined;
    this.#default = undefined;
  }

  /** The unconsumed bytes, copied: a view would pin the whole read buffer for as long as a tunnel lives. */
  #leftover(): Uint8Array {
    const leftover = this.#buffer.length > 0 ? this.#buffer.slice() : EMPTY;
    this.#buffer = EMPTY;
    return leftover;
  }

  #take(n: number): Uint8Array {
    const out = this.#buffer.subarray(0, n);
    this.#buffer = this.#buffer.subarray(n);
    return out;
  }

  /** Reads until `total` bytes are buffered, or, with `progress`, until that many more arrived. */
  async #fill(total: number, progress?: number): Promise<void> {
    if (this.#released) throw new SocksError("failed", "ByteReader used after release");
    const goal = progress === undefined ? total : Math.min(total, this.#buffer.length + progress);
    while (this.#buffer.length < goal) {
      const missing = goal - this.#buffer.length;
      if (this.#source !== undefined && !this.#source.readsInto) {
        const chunk = await this.#source.read();
        if (chunk === undefined) this.#ended(total);
        this.#append(chunk);
      } else if (this.#byob || this.#source) {
        const size = Math.max(this.#chunkSize, total - this.#buffer.length);
        const spare = this.#spare;
        this.#spare = undefined;
        const view = spare !== undefined && spare.byteLength >= size
          ? new Uint8Array(spare, 0, size)
          : new Uint8Array(size);
        let chunk: Uint8Array | undefined;
        if (this.#source) {
          chunk = await this.#source.read(view);
          if (chunk === undefined) this.#ended(total);
        } else {
          const result = await this.#byob!.read(view, { min: missing });
          chunk = result.value && result.value.length > 0 ? result.value : undefined;
          if (result.done && chunk === undefined) this.#ended(total);
        }
        // A chunk copied into the buffer leaves its array free for the next read: a head dripped in byte by byte
        // then costs no allocation per read (only arrays of the usual read size are kept, never a large one).
        if (chunk !== undefined && this.#append(chunk) && chunk.buffer.byteLength <= this.#chunkSize) {
          this.#spare = chunk.buffer as ArrayBuffer;
        }
      } else {
        const result = await this.#default!.read();
        if (result.done) this.#ended(total);
        if (result.value !== undefined && result.value.length > 0) this.#append(result.value);
      }
    }
  }

  /**
   * Adds `chunk` behind the buffered bytes; true when it was copied (false: the buffer is the chunk itself). The
   * buffer grows by doubling into an array of its own and is filled in place, so a message read in n small pieces
   * costs O(n) copying, not a copy of everything so far per piece. Only bytes past the buffer's end are written:
   * what earlier reads returned (views before its start) is never overwritten.
   */
  #append(chunk: Uint8Array): boolean {
    const buffered = this.#buffer.length;
    if (buffered === 0) {
      this.#buffer = chunk;
      this.#owned = undefined;
      return false;
    }
    const owned = this.#owned;
    if (owned !== undefined && this.#buffer.buffer === owned.buffer) {
      const end = this.#buffer.byteOffset - owned.byteOffset + buffered;
      if (end + chunk.length <= owned.length) {
        owned.set(chunk, end);
        this.#buffer = owned.subarray(end - buffered, end + chunk.length);
        return true;
      }
    }
    const grown = new Uint8Array(Math.max(2 * (buffered + chunk.length), this.#chunkSize));
    grown.set(this.#buffer);
    grown.set(chunk, buffered);
    this.#owned = grown;
    this.#buffer = grown.subarray(0, buffered + chunk.length);
    return true;
  }

  #ended(total: number): never {
    throw new SocksError("closed", `stream ended after ${this.#buffer.length} of ${total} bytes`);
  }
}
