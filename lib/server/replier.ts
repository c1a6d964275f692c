/**
 * Sends a request's reply in its client's version: SOCKS4 CD 90/91 with an IPv4 address, SOCKS5 REP with any
 * address. It remembers whether a final reply went out, so that a failure after one is not answered twice.
 *
 * @module
 */
import type { ByteSink } from "../io/byte_sink.ts";
import type { HostPort } from "../wire/address.ts";
import { Socks4Reply, type Socks4ReplyCode, Socks5Reply } from "../wire/constants.ts";
import { encodeSocks4Reply } from "../wire/socks4.ts";
import { encodeSocks5Reply } from "../wire/socks5_request.ts";
import { socks4ReplyFor, socks5ReplyFor } from "./reply_codes.ts";
import { SocksError } from "../wire/socks_error.ts";

const NO_ADDRESS: HostPort = { address: { type: "ipv4", host: "0.0.0.0" }, port: 0 };

/** Sends replies to one request. */
export interface Replier {
  /** True once the request itself has been read: from then on a failure is answered with a reply. */
  armed: boolean;
  /** True once a final reply (success or failure) was sent. */
  readonly final: boolean;
  /** The last reply code sent. */
  readonly lastCode: number | undefined;
  /** Sends a success reply naming `bound`. BIND's first reply passes `final: false`. */
  success(bound: HostPort, final?: boolean): Promise<void>;
  /** Sends the failure reply for `error` and returns its code. */
  failure(error: unknown): Promise<number>;
}

/** How a version writes its replies. */
interface ReplyFormat {
  readonly encode: (code: number, bound: HostPort) => Uint8Array;
  readonly successCode: number;
  readonly failureCode: (error: unknown) => number;
}

const SOCKS4_REPLIES: ReplyFormat = {
  encode: (code, bound) =>
    encodeSocks4Reply({
      reply: code as Socks4ReplyCode,
      bound: bound.address.type === "ipv4"
        ? { address: bound.address, port: bound.port }
        : { address: { type: "ipv4", host: "0.0.0.0" }, port: bound.port },
    }),
  successCode: Socks4Reply.Granted,
  failureCode: socks4ReplyFor,
};

const SOCKS5_REPLIES: ReplyFormat = {
  encode: (code, bound) => encodeSocks5Reply({ reply: code, bound }),
  successCode: Socks5Reply.Succeeded,
  failureCode: socks5ReplyFor,
};

/** A replier for a SOCKS4 client. Its replies can carry only IPv4; others become 0.0.0.0. */
export function socks4Replier(writer: ByteSink): Replier {
  return new StreamReplier(writer, SOCKS4_REPLIES);
}

/** A replier for a SOCKS5 client. */
export function socks5Replier(writer: ByteSink): Replier {
  return new StreamReplier(writer, SOCKS5_REPLIES);
}

/** A class, not an object literal of closures: every tunnel's session keeps its replier for as long as it lives. */
class StreamReplier implements Replier {
  armed = false;
  final = false;
  lastCode: number | undefined;
  // Let go of once the final reply is written: nothing is sent after it, and a tunnel lives long past it.
  #writer: ByteSink | undefined;
  readonly #format: ReplyFormat;

  constructor(writer: ByteSink, format: ReplyFormat) {
    this.#writer = writer;
    this.#format = format;
  }

  async success(bound: HostPort, final = true): Promise<void> {
    this.lastCode = this.#format.successCode;
    this.final = final;
    await this.#send(this.#format.encode(this.#format.successCode, bound), final);
  }

  async failure(error: unknown): Promise<number> {
    const code = this.#format.failureCode(error);
    this.lastCode = code;
    this.final = true;
    await this.#send(this.#format.encode(code, NO_ADDRESS), true);
    return code;
  }

  async #send(bytes: Uint8Array, final: boolean): Promise<void> {
    if (this.#writer === undefined) throw new SocksError("failed", "a reply after the final one");
    const written = this.#writer.write(bytes);
    if (final) this.#writer = undefined;
    await written;
  }
}
