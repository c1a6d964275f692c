/**
 * Sends a request's reply in its client's version: SOCKS4 CD 90/91 with an IPv4 address, SOCKS5 REP with any
 * address. It remembers whether a final reply went out, so that a failure after one is not answered twice.
 *
 * @module
 */
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

/** A replier for a SOCKS4 client. Its replies can carry only IPv4; others become 0.0.0.0. */
export function socks4Replier(writer: WritableStreamDefaultWriter<Uint8Array>): Replier {
  return makeReplier(
    writer,
    (code, bound) =>
      encodeSocks4Reply({
        reply: code as Socks4ReplyCode,
        bound: bound.address.type === "ipv4"
          ? { address: bound.address, port: bound.port }
          : { address: { type: "ipv4", host: "0.0.0.0" }, port: bound.port },
      }),
    Socks4Reply.Granted,
    socks4ReplyFor,
  );
}

/** A replier for a SOCKS5 client. */
export function socks5Replier(writer: WritableStreamDefaultWriter<Uint8Array>): Replier {
  return makeReplier(
    writer,
    (code, bound) => encodeSocks5Reply({ reply: code, bound }),
    Socks5Reply.Succeeded,
    socks5ReplyFor,
  );
}

function makeReplier(
  stream: WritableStreamDefaultWriter<Uint8Array>,
  encode: (code: number, bound: HostPort) => Uint8Array,
  successCode: number,
  failureCode: (error: unknown) => number,
): Replier {
  const state = { armed: false, final: false, lastCode: undefined as number | undefined };
  // Let go of once the final reply is written: nothing is sent after it, and a tunnel lives long past it.
  let writer: WritableStreamDefaultWriter<Uint8Array> | undefined = stream;
  const send = async (bytes: Uint8Array, final: boolean) => {
    if (writer === undefined) throw new SocksError("failed", "a reply after the final one");
    const written = writer.write(bytes);
    if (final) writer = undefined;
    await written;
  };
  return {
    get armed() {
      return state.armed;
    },
    set armed(value: boolean) {
      state.armed = value;
    },
    get final() {
      return state.final;
    },
    get lastCode() {
      return state.lastCode;
    },
    async success(bound, final = true) {
      state.lastCode = successCode;
      state.final = final;
      await send(encode(successCode, bound), final);
    },
    async failure(error) {
      const code = failureCode(error);
      state.lastCode = code;
      state.final = true;
      await send(encode(code, NO_ADDRESS), true);
      return code;
    },
  };
}
