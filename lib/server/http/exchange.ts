/**
 * What the HTTP side works with: the connection as the dispatcher hands it over, and one request's state (shared by
 * the session and forwarding).
 *
 * @module
 */
import type { ByteSink } from "../../io/byte_sink.ts";
import type { ByteReader } from "../../io/byte_reader.ts";
import type { Connection } from "../../net/network.ts";
import type { HttpRequestHead } from "../../wire/http_head.ts";
import type { ServerConfig } from "../config.ts";
import type { ConnectionRecord } from "../connection_record.ts";
import type { ClientRequest } from "../handshake.ts";

/** What the HTTP side gets from the dispatcher. */
export interface HttpContext {
  readonly connection: Connection;
  readonly reader: ByteReader;
  readonly writer: ByteSink;
  readonly config: ServerConfig;
  readonly signal: AbortSignal;
  /** When the connection was accepted: the first request's record counts from there. */
  readonly started: number;
  /** Called once the first request head is read and authenticated (the end of the "handshake"). */
  handshakeDone(): void;
  /** Stops the deadline that ran from accept: each request head has its own. */
  cancelDeadline(): void;
  /** Closes the connection and releases its admission, once, when the last request is done. */
  end(): void;
  /** Logs one request's record, timed from `since`. */
  log(record: ConnectionRecord, since: number): void;
  /** The client's address as the log writes it. */
  readonly client: string;
}

/** One request's state, shared with forward.ts. */
export interface HttpExchange {
  readonly context: HttpContext;
  readonly head: HttpRequestHead;
  request: ClientRequest;
  readonly record: ConnectionRecord;
  readonly connection: Connection;
  readonly config: ServerConfig;
  readonly signal: AbortSignal;
  /** True once a response head went to the client: a later failure can only close the connection. */
  answered: boolean;
}
