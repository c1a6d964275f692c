/**
 * Handshake fuzzing against a live server: fast-check builds valid handshakes of every version and command, then
 * corrupts, truncates, lengthens and splices them; every case goes to the server over a real socket, and what comes
 * back must be protocol-correct (checked with lib/wire's decoders) and end in a close. Shared by
 * tests/server/fuzz_test.ts (thousands of cases) and bench/fuzz.ts (a million).
 */
import fc from "fast-check";
import { concat } from "./bytes.ts";
import type { Endpoint, Network } from "../../lib/net/network.ts";
import { decodeSocks4Reply } from "../../lib/wire/socks4.ts";
import { decodeSocks5MethodSelection } from "../../lib/wire/socks5_greeting.ts";
import { decodeSocks5Reply } from "../../lib/wire/socks5_request.ts";
import { decodeUserPassReply } from "../../lib/wire/userpass.ts";
import { SocksError } from "../../lib/wire/socks_error.ts";
import type { Decoder } from "../../lib/wire/decoded.ts";

const text = (s: string) => new TextEncoder().encode(s);
const u16 = (n: number) => [n >> 8 & 0xff, n & 0xff];

/** Where valid destinations point: the echo server, a closed port, or ports 0 and 65535. */
export interface FuzzTargets {
  readonly echoPort: number;
  readonly closedPort: number;
}

function destinationPort(targets: FuzzTargets): fc.Arbitrary<number> {
  return fc.oneof(
    { weight: 6, arbitrary: fc.constant(targets.echoPort) },
    { weight: 1, arbitrary: fc.constant(targets.closedPort) },
    { weight: 1, arbitrary: fc.constantFrom(0, 65535) },
  );
}

/** A SOCKS5 address: ATYP, address, then the port; ATYP 0x00 and 0xFF too, and zero-length names. */
function socks5Address(targets: FuzzTargets): fc.Arbitrary<number[]> {
  return fc.tuple(
    fc.oneof(
      fc.constant([1, 127, 0, 0, 1]),
      fc.constant([4, ...new Array(15).fill(0), 1]),
      fc.constantFrom("localhost", "no-such-host.invalid", "").map((name) => [3, name.length, ...text(name)]),
      fc.constantFrom(0x00, 0xff, 0x02, 0x05).map((atyp) => [atyp, 127, 0, 0, 1]),
    ),
    destinationPort(targets),
  ).map(([address, port]) => [...address, ...u16(port)]);
}

/** Username/password subnegotiation bytes: right, wrong, empty and oversize-length fields. */
const userPass: fc.Arbitrary<number[]> = fc.oneof(
  fc.constant(["alice", "s3cret"]),
  fc.constant(["alice", "wrong"]),
  fc.constant(["", ""]),
  fc.constant(["mallory", "s3cret"]),
).chain(([user, password]) =>
  fc.constantFrom(1, 1, 1, 2, 5).map((version) => [
    version,
    user.length,
    ...text(user),
    password.length,
    ...text(password),
  ])
);

/** A complete, well-formed handshake of some version and command (which the server may still refuse). */
function validHandshake(targets: FuzzTargets): fc.Arbitrary<number[]> {
  const socks4 = fc.tuple(
    fc.constantFrom(1, 2),
    destinationPort(targets),
    fc.constantFrom("", "alice", "nobody"),
    fc.constantFrom<string | undefined>(undefined, "localhost", "no-such-host.invalid"),
  ).map(([command, port, userId, name]) => [
    4,
    command,
    ...u16(port),
    ...(name === undefined ? [127, 0, 0, 1] : [0, 0, 0, 1]),
    ...text(userId),
    0,
    ...(name === undefined ? [] : [...text(name), 0]),
  ]);
  const socks5 = fc.tuple(
    fc.uniqueArray(fc.constantFrom(0x00, 0x01, 0x02, 0x03, 0x80, 0xfe), { minLength: 1, maxLength: 4 }),
    userPass,
    fc.constantFrom(0x01, 0x02, 0x03, 0xf0, 0xf1, 0x04, 0x00, 0xff),
    socks5Address(targets),
  ).map(([methods, auth, command, address]) => [
    5,
    methods.length,
    ...methods,
    ...(methods.includes(0x02) ? auth : []),
    5,
    command,
    0,
    ...address,
  ]);
  return fc.oneof(socks4, socks5);
}

/** One fuzz case: the bytes to send, and whether to half-close after them (else the server must time out). */
export interface FuzzCase {
  readonly bytes: Uint8Array;
  readonly finish: boolean;
}

/** Valid handshakes, their mutations, and plain random bytes. */
export function fuzzCases(targets: FuzzTargets): fc.Arbitrary<FuzzCase> {
  const valid = validHandshake(targets);
  const mutated = fc.oneof(
    // Truncated: every prefix of a valid message must be waited for, then timed out.
    fc.tuple(valid, fc.nat()).map(([b, n]) => b.slice(0, n % (b.length + 1))),
    // A corrupted byte (a length, a version mid-stream, an ATYP, a reserved byte ...).
    fc.tuple(valid, fc.nat(), fc.integer({ min: 0, max: 255 })).map(([b, i, v]) => {
      const out = [...b];
      out[i % out.length] = v;
      return out;
    }),
    // Two corrupted bytes.
    fc.tuple(valid, fc.nat(), fc.nat(), fc.integer({ min: 0, max: 255 })).map(([b, i, j, v]) => {
      const out = [...b];
      out[i % out.length] = v;
      out[j % out.length] = 255 - v;
      return out;
    }),
    // Bytes spliced in or cut out.
    fc.tuple(valid, fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 300 })).map(([b, i, extra]) => {
      const at = i % (b.length + 1);
      return [...b.slice(0, at), ...extra, ...b.slice(at)];
    }),
    fc.tuple(valid, fc.nat(), fc.integer({ min: 1, max: 8 })).map(([b, i, n]) => {
      const at = i % b.length;
      return [...b.slice(0, at), ...b.slice(at + n)];
    }),
    // Data right behind the handshake.
    fc.tuple(valid, fc.uint8Array({ minLength: 1, maxLength: 64 })).map(([b, extra]) => [...b, ...extra]),
  );
  const random = fc.uint8Array({ minLength: 0, maxLength: 600 }).map((b) => [...b]);
  return fc.record({
    bytes: fc.oneof(
      { weight: 2, arbitrary: valid },
      { weight: 6, arbitrary: mutated },
      { weight: 1, arbitrary: random },
    ).map((b) => new Uint8Array(b)),
    finish: fc.boolean(),
  });
}

/** What one case got back. */
export interface FuzzOutcome {
  readonly received: Uint8Array;
  /** The server closed (EOF or reset) before the deadline. */
  readonly closed: boolean;
  /** The client's address as the server logs it (`127.0.0.1:PORT`). */
  readonly client: string;
}

/** Sends one case and reads until the server closes or `deadlineMs` passes. */
export async function runCase(
  network: Network,
  server: Endpoint,
  fuzz: FuzzCase,
  deadlineMs: number,
): Promise<FuzzOutcome> {
  const connection = await network.connect(server);
  const client = `${connection.localAddress.hostname}:${connection.localAddress.port}`;
  const writer = connection.writable.getWriter();
  void writer.write(fuzz.bytes).then(() => (fuzz.finish ? writer.close() : undefined)).catch(() => {});
  const parts: Uint8Array[] = [];
  const reader = connection.readable.getReader();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<"deadline">((resolve) => (timer = setTimeout(() => resolve("deadline"), deadlineMs)));
  let closed = false;
  try {
    for (;;) {
      const result = await Promise.race([reader.read(), deadline]);
      if (result === "deadline") break;
      if (result.done) {
        closed = true;
        break;
      }
      parts.push(result.value.slice());
    }
  } catch {
    closed = true; // a reset is a close too
  } finally {
    clearTimeout(timer);
    connection.close();
  }
  return { received: concat(...parts), closed, client };
}

/** Decodes one message at `offset`; a SocksError or a partial message is a protocol violation. */
function take<T>(decoder: Decoder<T>, bytes: Uint8Array, offset: number, what: string): [T, number] {
  let result;
  try {
    result = decoder(bytes.subarray(offset));
  } catch (error) {
    if (error instanceof SocksError) throw new Error(`malformed ${what}: ${error.message}`);
    throw error;
  }
  if (!result.done) throw new Error(`partial ${what} (${bytes.length - offset} bytes)`);
  return [result.value, offset + result.consumed];
}

/**
 * Checks a case's outcome against the protocol; returns what is wrong, or undefined. `methods` are the SOCKS5
 * methods the server supports. A failure reply must be the last thing sent; a connection that did not close must
 * have been granted something (a tunnel, a BIND, a UDP association).
 */
export function protocolProblem(
  sent: Uint8Array,
  outcome: FuzzOutcome,
  methods: readonly number[],
): string | undefined {
  const { received, closed } = outcome;
  try {
    let granted = false;
    let rest = 0;
    if (received.length === 0) {
      // Nothing said: fine for a malformed or incomplete handshake, as long as the server closed.
    } else if (sent[0] === 4) {
      const [reply, next] = take(decodeSocks4Reply, received, 0, "SOCKS4 reply");
      if (reply.reply < 90 || reply.reply > 93) return `SOCKS4 reply code ${reply.reply}`;
      granted = reply.reply === 90;
      rest = next;
    } else if (sent[0] === 5) {
      const [selection, afterSelection] = take(decodeSocks5MethodSelection, received, 0, "method selection");
      const offered = [...sent.subarray(2, 2 + sent[1])];
      if (selection.method !== 0xff && !(offered.includes(selection.method) && methods.includes(selection.method))) {
        return `selected method 0x${selection.method.toString(16)}, offered ${offered}, supported ${methods}`;
      }
      rest = afterSelection;
      if (selection.method === 0x02 && rest < received.length) {
        const [status, afterStatus] = take(decodeUserPassReply, received, rest, "RFC 1929 reply");
        rest = afterStatus;
        if (status.status !== 0 && rest < received.length) return "bytes after a failed authentication";
      }
      if (selection.method !== 0xff && rest < received.length) {
        const [reply, afterReply] = take(decodeSocks5Reply, received, rest, "SOCKS5 reply");
        if (reply.reply > 8) return `SOCKS5 reply code ${reply.reply}`;
        granted = reply.reply === 0;
        rest = afterReply;
      } else if (rest < received.length) return "bytes after 0xFF";
    } else {
      // Any other first byte is the HTTP side's: one error answer (4xx or 5xx, its whole body), then a close.
      const text = String.fromCharCode(...received);
      const m =
        /^HTTP\/1\.1 ([45][0-9][0-9]) [^\r\n]*\r\n(?:[^\r\n]+\r\n)*?Content-Length: ([0-9]+)\r\n(?:[^\r\n]+\r\n)*\r\n/
          .exec(text);
      if (m === null) return `${received.length} bytes sent to a client whose first byte is 0x${sent[0].toString(16)}`;
      if (m[0].length + Number(m[2]) !== received.length) return `bytes after an HTTP ${m[1]} answer`;
      if (!/\r\nConnection: close\r\n/.test(m[0]) && m[1] !== "407") return `HTTP ${m[1]} without Connection: close`;
      if (!closed && m[1] !== "407") return "not closed after an HTTP error answer";
      return undefined;
    }
    if (!granted && rest < received.length) return `${received.length - rest} bytes after a final failure reply`;
    if (!closed && !granted) return "not closed within the negotiation timeout";
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}
