/**
 * Every lib/wire parser that reads what a stranger sends, as a fuzz target: how to decode bytes, which valid
 * messages to start mutating from (with what they must decode to), and, for the decoders that are fed a growing
 * buffer, how to make a fresh one. tests/wire/parsers_fuzz_test.ts and bench/fuzz.ts share this table.
 *
 * Some targets are small harnesses over the real decoders, as the server drives them: a chunked body walked size
 * line by size line to its trailer (lib/server/http/body.ts's order), the framing of every decoded HTTP head, a DNS
 * response written to every decoded query, a sequence of UDP datagrams pushed through one reassembly queue.
 */
import fc from "fast-check";
import { complete, type Decoded, type Decoder, needMore } from "../../lib/wire/decoded.ts";
import { decodeDnsQuery, DnsType, encodeDnsResponse } from "../../lib/wire/dns_message.ts";
import { decodeDnsTcpFrame, encodeDnsTcpFrame } from "../../lib/wire/dns_tcp_frame.ts";
import { answerDnsMessage } from "../../lib/server/dns_answer.ts";
import { NameMap } from "../../lib/server/name_map.ts";
import { decodeGssApiMessage, encodeGssApiMessage } from "../../lib/wire/gssapi.ts";
import { decodeChunkEnd, decodeChunkSize, requestFraming, responseFraming } from "../../lib/wire/http_framing.ts";
import {
  encodeHttpHead,
  type HttpHeader,
  httpRequestHeadDecoder,
  httpResponseHeadDecoder,
  httpTrailerDecoder,
} from "../../lib/wire/http_head.ts";
import { decodeIdentResponse } from "../../lib/wire/ident.ts";
import { decodeProxyHeader, encodeProxyHeader } from "../../lib/wire/proxy_protocol.ts";
import { SocksError } from "../../lib/wire/socks_error.ts";
import {
  decodeSocks4Reply,
  decodeSocks4Request,
  encodeSocks4Reply,
  encodeSocks4Request,
} from "../../lib/wire/socks4.ts";
import {
  decodeSocks5Greeting,
  decodeSocks5MethodSelection,
  encodeSocks5Greeting,
  encodeSocks5MethodSelection,
} from "../../lib/wire/socks5_greeting.ts";
import {
  decodeSocks5Reply,
  decodeSocks5Request,
  encodeSocks5Reply,
  encodeSocks5Request,
} from "../../lib/wire/socks5_request.ts";
import { decodeSocks5UdpDatagram, encodeSocks5UdpDatagram } from "../../lib/wire/socks5_udp.ts";
import { fragmentSocks5UdpDatagram, UdpReassemblyQueue } from "../../lib/wire/socks5_udp_fragments.ts";
import {
  decodeUserPassReply,
  decodeUserPassRequest,
  encodeUserPassReply,
  encodeUserPassRequest,
} from "../../lib/wire/userpass.ts";
import * as arb from "./arbitraries.ts";

/** A valid message: its bytes, and what decoding them must give (compared after {@link canonical}). */
export interface ValidMessage {
  readonly bytes: Uint8Array;
  readonly value: unknown;
}

/** One parser under fuzz. */
export interface ParserTarget {
  /** The name `bench/fuzz.ts --parser` takes. */
  readonly name: string;
  /** Decodes the front of `bytes`. Whole-datagram decoders answer complete with every byte consumed. */
  readonly decode: (bytes: Uint8Array) => Decoded<unknown>;
  /** For a decoder that keeps state between calls on a growing buffer: a fresh one (fed byte by byte). */
  readonly fresh?: () => Decoder<unknown>;
  /** False for whole-datagram decoders: their prefixes mean nothing, so splitting is not checked. */
  readonly incremental: boolean;
  /** Valid messages, the seeds of mutation. */
  readonly valid: fc.Arbitrary<ValidMessage>;
}

/** JSON with byte arrays as arrays and keys sorted: values compare as text, whatever their prototypes. */
export function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v) => {
    if (v instanceof Uint8Array) return [...v];
    if (v === null || typeof v !== "object" || Array.isArray(v)) return v;
    return Object.fromEntries(Object.keys(v).sort().map((k) => [k, v[k]]));
  });
}

const latin1 = (text: string) => Uint8Array.from(text, (c) => c.charCodeAt(0));
const concat = (parts: readonly Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
};

/** Runs `f`, letting only a SocksError (the documented refusal) pass silently. */
function refusalsOnly(f: () => void): void {
  try {
    f();
  } catch (error) {
    if (!(error instanceof SocksError)) throw error;
  }
}

// ---- SOCKS and RFC 1929: the codecs with encoders. ----

// deno-lint-ignore no-explicit-any -- one helper for the table of codecs of every message type
function codec(name: string, message: fc.Arbitrary<any>, encode: (m: any) => Uint8Array, decode: Decoder<unknown>) {
  return {
    name,
    decode,
    incremental: true,
    valid: message.map((m) => ({ bytes: encode(m), value: m })),
  } satisfies ParserTarget;
}

// ---- HTTP. ----

const tokenText = fc.stringMatching(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,12}$/);
const fieldValue = fc.stringMatching(/^[\t\x20-\x7e\x80-\xff]{0,40}$/).map((v) => v.replace(/^[ \t]+|[ \t]+$/g, ""));
const framingHeader = fc.constantFrom(
  { name: "Content-Length", value: "5" },
  { name: "content-length", value: "0" },
  { name: "Transfer-Encoding", value: "chunked" },
  { name: "Transfer-Encoding", value: "gzip, chunked" },
  { name: "Host", value: "example.com" },
  { name: "Connection", value: "keep-alive, Upgrade" },
);
const headers: fc.Arbitrary<HttpHeader[]> = fc.array(
  fc.oneof(framingHeader, fc.record({ name: tokenText, value: fieldValue })),
  { maxLength: 8 },
);
const version = fc.constantFrom("HTTP/1.0" as const, "HTTP/1.1" as const);
/** The empty lines RFC 9112 section 2.2 lets a client send before a request line (tabi skips up to four). */
const leadingEmptyLines = fc.integer({ min: 0, max: 4 }).map((n) => latin1("\r\n".repeat(n)));

const requestHead = fc.record({
  method: fc.oneof(fc.constantFrom("GET", "POST", "CONNECT", "HEAD"), tokenText),
  target: fc.oneof(fc.constant("/"), fc.stringMatching(/^[\x21-\x7e]{1,60}$/)),
  version,
  headers,
});
const responseHead = fc.record({
  version,
  status: fc.integer({ min: 100, max: 599 }),
  reason: fieldValue,
  headers,
});

/** Decodes a head and works out its body's framing, as the proxy does with every head it reads. */
function withFraming<T>(decoder: Decoder<T>, framing: (head: T) => void): Decoder<T> {
  return (bytes) => {
    const result = decoder(bytes);
    if (result.done) refusalsOnly(() => framing(result.value));
    return result;
  };
}
const requestDecoder = () => withFraming(httpRequestHeadDecoder(), requestFraming);
const responseDecoder = () =>
  withFraming(httpResponseHeadDecoder(), (head) => {
    responseFraming(head, "GET");
    responseFraming(head, "HEAD");
  });

/**
 * A chunked body (RFC 9112 section 7.1) walked from its first size line through its trailer section, the order in
 * which lib/server/http/body.ts calls the decoders; answers the data and the trailer fields.
 */
function decodeChunkedBody(bytes: Uint8Array): Decoded<{ data: Uint8Array; trailers: HttpHeader[] }> {
  const pieces: Uint8Array[] = [];
  let at = 0;
  for (;;) {
    const size = decodeChunkSize(bytes.subarray(at));
    if (!size.done) return size;
    at += size.consumed;
    if (size.value === 0) break;
    if (bytes.length - at < size.value) return needMore(size.value - (bytes.length - at));
    pieces.push(bytes.subarray(at, at + size.value));
    at += size.value;
    const end = decodeChunkEnd(bytes.subarray(at));
    if (!end.done) return end;
    at += end.consumed;
  }
  const trailers = httpTrailerDecoder()(bytes.subarray(at));
  if (!trailers.done) return trailers;
  return complete({ data: concat(pieces), trailers: trailers.value }, at + trailers.consumed);
}
const chunkedBody = fc.record({
  chunks: fc.array(fc.uint8Array({ minLength: 1, maxLength: 40 }), { maxLength: 5 }),
  extensions: fc.array(fc.constantFrom("", ";a=1", ';name="q\\"v"', " ; x", ";y = z"), { maxLength: 5 }),
  upper: fc.boolean(),
  trailers: fc.array(fc.record({ name: tokenText, value: fieldValue }), { maxLength: 3 }),
}).map(({ chunks, extensions, upper, trailers }) => {
  const size = (n: number) => upper ? n.toString(16).toUpperCase() : n.toString(16);
  const parts = chunks.flatMap((c, i) => [latin1(`${size(c.length)}${extensions[i] ?? ""}\r\n`), c, latin1("\r\n")]);
  const trailer = encodeHttpHead("", trailers).subarray(2);
  return {
    bytes: concat([...parts, latin1("0\r\n"), trailer]),
    value: { data: concat(chunks), trailers },
  };
});

// ---- PROXY protocol. ----

const proxyEndpoints = fc.oneof(
  fc.tuple(arb.ipv4, arb.ipv4, arb.port, arb.port),
  fc.tuple(arb.ipv6, arb.ipv6, arb.port, arb.port).filter(([s, d]) => !s.host.includes(".") && !d.host.includes(".")),
).map(([s, d, sp, dp]) => ({ source: { hostname: s.host, port: sp }, destination: { hostname: d.host, port: dp } }));
const proxyHeader = fc.record({
  version: fc.constantFrom(1 as const, 2 as const),
  endpoints: fc.option(proxyEndpoints, { nil: undefined }),
  tlvs: fc.array(fc.tuple(fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 24 })), { maxLength: 3 }),
}).map(({ version, endpoints, tlvs }) => ({
  bytes: encodeProxyHeader({ version, ...endpoints, tlvs: version === 2 ? tlvs : undefined }),
  value: {
    version,
    command: version === 2 && !endpoints ? "local" : "proxy",
    ...endpoints,
  },
}));

// ---- DNS: any bytes are a possible query; the responder answers what it decodes. ----

const dnsLabel = fc.stringMatching(/^[a-z0-9-]{1,63}$/);
const dnsQuery = fc.record({
  id: fc.integer({ min: 0, max: 0xffff }),
  flags: fc.integer({ min: 0, max: 0x7fff }),
  labels: fc.array(dnsLabel, { maxLength: 4 }).filter((ls) => ls.reduce((n, l) => n + l.length + 1, 1) <= 255),
  type: fc.oneof(fc.constantFrom(DnsType.A, DnsType.AAAA, DnsType.HTTPS), fc.integer({ min: 0, max: 0xffff })),
  class: fc.integer({ min: 0, max: 0xffff }),
}).map((q) => {
  const name = concat(q.labels.map((l) => latin1(String.fromCharCode(l.length) + l)));
  const question = concat([name, new Uint8Array([0, q.type >> 8, q.type & 0xff, q.class >> 8, q.class & 0xff])]);
  // Exactly one question (RFC 9619: any other count is a format error, which the mutations reach).
  const header = new Uint8Array([q.id >> 8, q.id & 0xff, q.flags >> 8, q.flags & 0xff, 0, 1, 0, 0, 0, 0, 0, 0]);
  const bytes = concat([header, question]);
  return {
    bytes,
    value: {
      id: q.id,
      flags: q.flags,
      question: { name: q.labels.join("."), type: q.type, class: q.class },
      questionBytes: question,
    },
  };
});
function decodeDns(bytes: Uint8Array): Decoded<unknown> {
  const query = decodeDnsQuery(bytes);
  const type = query.question.type;
  const addresses = type === DnsType.A ? ["192.0.2.1"] : type === DnsType.AAAA ? ["2001:db8::1"] : [];
  encodeDnsResponse({ query, rcode: 0, addresses });
  encodeDnsResponse({ query, rcode: 3 });
  return complete(query, bytes.length);
}

/**
 * The DNS port's whole answer path (tabi serve --dns) on any bytes: it must answer (or drop) whatever arrives, never
 * throw. A fresh two-name map per message, so that one message's answer does not depend on the ones before.
 */
function answerDnsPort(bytes: Uint8Array): Decoded<unknown> {
  answerDnsMessage(new NameMap({ size: 2 }), bytes);
  return decodeDns(bytes);
}

/** DNS over TCP: each message behind its two-byte length (RFC 1035 section 4.2.2). */
const dnsTcpFrame = dnsQuery.map((q) => ({ bytes: encodeDnsTcpFrame(q.bytes), value: q.bytes }));

// ---- UDP: a datagram, and a sequence of them through one reassembly queue. ----

const udpDatagram = fc.record({
  fragment: fc.integer({ min: 0, max: 255 }),
  destination: arb.hostPort,
  data: fc.uint8Array({ maxLength: 64 }),
}).map((d) => ({ bytes: encodeSocks5UdpDatagram(d), value: d }));

/** How the fragment sequence target frames its datagrams: a 16-bit length, then the time step in 100 ms units. */
const RECORD_HEADER = 3;
const REASSEMBLY_LIMIT = 2048;
/**
 * Pushes each framed datagram through one queue with a small byte limit, checking what a queue promises: it never
 * holds more than its limit or 127 fragments, and a whole datagram is never over the limit. Answers the whole
 * datagrams' payloads, in order.
 */
function decodeFragmentSequence(bytes: Uint8Array): Decoded<unknown> {
  const queue = new UdpReassemblyQueue({ maxBytes: REASSEMBLY_LIMIT });
  const out: Uint8Array[] = [];
  let now = 0;
  for (let at = 0; at + RECORD_HEADER <= bytes.length;) {
    const length = (bytes[at] << 8) | bytes[at + 1];
    now += bytes[at + 2] * 100;
    const datagram = bytes.subarray(at + RECORD_HEADER, at + RECORD_HEADER + length);
    at += RECORD_HEADER + length;
    let decoded;
    try {
      decoded = decodeSocks5UdpDatagram(datagram);
    } catch (error) {
      if (error instanceof SocksError) continue;
      throw error;
    }
    const outcome = queue.push(decoded, now);
    if (queue.bytesHeld > REASSEMBLY_LIMIT || queue.fragmentsHeld > 127) {
      throw new Error(`queue holds ${queue.bytesHeld} bytes in ${queue.fragmentsHeld} fragments`);
    }
    if (outcome.kind === "complete") {
      if (decoded.fragment !== 0 && outcome.data.length > REASSEMBLY_LIMIT) {
        throw new Error(`reassembled ${outcome.data.length} bytes, over the limit`);
      }
      out.push(outcome.data);
    }
  }
  return complete(out, bytes.length);
}
const fragmentSequence = fc.record({
  destination: arb.hostPort,
  data: fc.uint8Array({ minLength: 1, maxLength: 600 }),
  piece: fc.integer({ min: 1, max: 64 }),
}).filter(({ data, piece }) => Math.ceil(data.length / piece) <= 127).map(({ destination, data, piece }) => {
  const records = fragmentSocks5UdpDatagram(destination, data, piece).map((d) => {
    const datagram = encodeSocks5UdpDatagram(d);
    return concat([new Uint8Array([datagram.length >> 8, datagram.length & 0xff, 0]), datagram]);
  });
  return { bytes: concat(records), value: [data] };
});

// ---- IDENT (RFC 1413) answers. ----

const identAnswer = fc.record({
  server: fc.integer({ min: 1, max: 65535 }),
  client: fc.integer({ min: 1, max: 65535 }),
  kind: fc.constantFrom("userid", "error"),
  opsys: fc.constantFrom("UNIX", "OTHER", "WIN32"),
  charset: fc.constantFrom("", " , US-ASCII", ",UTF-8"),
  // Octets 0x80-0x9f are left out: the decoder reads the line as WHATWG "latin1", which is windows-1252 there.
  user: fc.stringMatching(/^[\x21-\x7e\xa0-\xff][\x20-\x7e\xa0-\xff]{0,60}$/),
  error: fc.constantFrom("INVALID-PORT", "NO-USER", "HIDDEN-USER", "UNKNOWN-ERROR", "X-BUSY"),
  crlf: fc.boolean(),
}).map((a) => {
  const end = a.crlf ? "\r\n" : "\n";
  const user = a.user.replace(/\r$/, "");
  const line = a.kind === "userid"
    ? `${a.server} , ${a.client} : USERID : ${a.opsys}${a.charset} : ${user}${end}`
    : `${a.server}, ${a.client} : ERROR : ${a.error}${end}`;
  const value = a.kind === "userid"
    ? { kind: "userid", portOnServer: a.server, portOnClient: a.client, opsys: a.opsys, user }
    : { kind: "error", portOnServer: a.server, portOnClient: a.client, error: a.error };
  return { bytes: latin1(line), value };
});

const whole = (decode: (bytes: Uint8Array) => unknown) => (bytes: Uint8Array) => complete(decode(bytes), bytes.length);

/** Every target, by name. */
export const PARSER_TARGETS: readonly ParserTarget[] = [
  codec("socks4-request", arb.socks4Request, encodeSocks4Request, decodeSocks4Request),
  codec("socks4-reply", arb.socks4Reply, encodeSocks4Reply, decodeSocks4Reply),
  codec("socks5-greeting", arb.socks5Greeting, encodeSocks5Greeting, decodeSocks5Greeting),
  codec("socks5-selection", arb.socks5Selection, encodeSocks5MethodSelection, decodeSocks5MethodSelection),
  codec("socks5-request", arb.socks5Request, encodeSocks5Request, decodeSocks5Request),
  codec("socks5-reply", arb.socks5Reply, encodeSocks5Reply, decodeSocks5Reply),
  codec("userpass-request", arb.userPassRequest, encodeUserPassRequest, decodeUserPassRequest),
  codec("userpass-reply", arb.userPassReply, encodeUserPassReply, decodeUserPassReply),
  {
    name: "http-request-head",
    decode: (bytes) => requestDecoder()(bytes),
    fresh: requestDecoder,
    incremental: true,
    valid: fc.tuple(leadingEmptyLines, requestHead).map(([empty, head]) => ({
      bytes: concat([empty, encodeHttpHead(`${head.method} ${head.target} ${head.version}`, head.headers)]),
      value: head,
    })),
  },
  {
    name: "http-response-head",
    decode: (bytes) => responseDecoder()(bytes),
    fresh: responseDecoder,
    incremental: true,
    valid: responseHead.map((head) => ({
      bytes: encodeHttpHead(`${head.version} ${head.status} ${head.reason}`, head.headers),
      value: head,
    })),
  },
  { name: "http-chunked", decode: decodeChunkedBody, incremental: true, valid: chunkedBody },
  { name: "proxy-header", decode: decodeProxyHeader, incremental: true, valid: proxyHeader },
  { name: "dns-query", decode: decodeDns, incremental: false, valid: dnsQuery },
  { name: "dns-port", decode: answerDnsPort, incremental: false, valid: dnsQuery },
  { name: "dns-tcp-frame", decode: decodeDnsTcpFrame, incremental: true, valid: dnsTcpFrame },
  {
    name: "gssapi",
    decode: decodeGssApiMessage,
    incremental: true,
    valid: fc.record({
      type: fc.constantFrom(1, 2, 3, 0xff),
      token: fc.uint8Array({ maxLength: 300 }),
    }).map((m) => {
      const message = m.type === 0xff ? { type: 0xff, token: new Uint8Array() } : m;
      return { bytes: encodeGssApiMessage(message), value: message };
    }),
  },
  { name: "udp-datagram", decode: whole(decodeSocks5UdpDatagram), incremental: false, valid: udpDatagram },
  { name: "udp-fragments", decode: decodeFragmentSequence, incremental: false, valid: fragmentSequence },
  { name: "ident-response", decode: decodeIdentResponse, incremental: true, valid: identAnswer },
];
