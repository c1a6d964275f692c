/**
 * Happy Eyeballs (RFC 8305) in connectAny, on a Network whose connects the test settles by hand: the order of the
 * attempts, the attempt delay, a failure starting the next attempt at once, the losers aborted or closed, the
 * deadline bounding the race. tests/net/happy_eyeballs_test.ts races real sockets in a network namespace.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { checkAttemptDelay, connectAny, interleaveFamilies } from "../../lib/net/connect_any.ts";
import { MemoryNetwork } from "../../lib/net/memory_network.ts";
import type { Connection, ConnectOptions, Network } from "../../lib/net/network.ts";
import { SocksError } from "../../lib/wire/socks_error.ts";

/** One connect call, held until the test settles it. */
interface Attempt {
  readonly hostname: string;
  readonly signal: AbortSignal;
  succeed(): Connection & { closed: number };
  fail(error: unknown): void;
}

/** A Network whose connects wait for the test: each call is an {@link Attempt} in `attempts`. */
function handNetwork(): { network: Network; attempts: Attempt[]; started: () => Promise<Attempt> } {
  const attempts: Attempt[] = [];
  const waiting: ((a: Attempt) => void)[] = [];
  const inner = new MemoryNetwork();
  const network: Network = {
    connect(options: ConnectOptions): Promise<Connection> {
      return new Promise((resolve, reject) => {
        const attempt: Attempt = {
          hostname: options.hostname,
          signal: options.signal!,
          succeed() {
            const connection = {
              readable: new ReadableStream<Uint8Array>(),
              writable: new WritableStream<Uint8Array>(),
              localAddress: { hostname: "127.0.0.1", port: 1 },
              remoteAddress: { hostname: options.hostname, port: options.port },
              closed: 0,
              close() {
                connection.closed++;
              },
            };
            resolve(connection);
            return connection;
          },
          fail: reject,
        };
        attempts.push(attempt);
        waiting.shift()?.(attempt);
      });
    },
    listen: (options, on) => inner.listen(options, on),
    bindUdp: (options, on) => inner.bindUdp(options, on),
    resolve: (name) => inner.resolve(name),
    reverse: (address) => inner.reverse(address),
  };
  let seen = 0;
  const started = () =>
    seen < attempts.length
      ? Promise.resolve(attempts[seen++])
      : new Promise<Attempt>((resolve) => waiting.push((a) => (seen++, resolve(a))));
  return { network, attempts, started };
}

const refused = () => new SocksError("connection-refused", "refused");

describe("connectAny: Happy Eyeballs (RFC 8305)", () => {
  it("interleaves the families, the resolver's first family first (section 4)", () => {
    assert.deepEqual(interleaveFamilies(["10.0.0.1", "10.0.0.2", "::1", "::2"]), [
      "10.0.0.1",
      "::1",
      "10.0.0.2",
      "::2",
    ]);
    assert.deepEqual(interleaveFamilies(["::1", "::2", "10.0.0.1"]), ["::1", "10.0.0.1", "::2"]);
    assert.deepEqual(interleaveFamilies(["10.0.0.1"]), ["10.0.0.1"]);
  });

  it("starts the next address after the attempt delay while the first hangs; the winner aborts the loser", async () => {
    const { network, started } = handNetwork();
    const result = connectAny(
      network,
      ["2001:db8::2", "198.51.100.2", "127.0.0.1"],
      80,
      60_000,
      new AbortController().signal,
      false,
      {
        attemptDelayMs: 10,
      },
    );
    const first = await started();
    assert.equal(first.hostname, "2001:db8::2");
    // Nothing answers the first: the delay starts the second, of the other family.
    const second = await started();
    assert.equal(second.hostname, "198.51.100.2");
    const winner = second.succeed();
    const connection = await result;
    assert.equal(connection, winner);
    assert.equal(first.signal.aborted, true, "the pending loser is aborted");
    assert.equal(winner.closed, 0);
  });

  it("closes a loser that connects after the race was won, and starts no attempt after the win", async () => {
    const { network, attempts, started } = handNetwork();
    const result = connectAny(network, ["::1", "127.0.0.1", "::2"], 80, 60_000, new AbortController().signal, false, {
      attemptDelayMs: 10,
    });
    const first = await started();
    const second = await started();
    const winner = second.succeed();
    assert.equal(await result, winner);
    // The first connected anyway, just too late (its abort did not land in time): it is closed, not leaked.
    const late = first.succeed();
    await new Promise((resolve) => setTimeout(resolve, 30));
    assert.equal(late.closed, 1);
    assert.equal(attempts.length, 2, "no third attempt after the race was won");
    assert.equal(winner.closed, 0);
  });

  it("starts the next attempt as soon as one fails, without waiting for the delay (section 5)", async () => {
    const { network, started } = handNetwork();
    // A 2 s delay: the test would still pass if it waited, so it checks the order instead, before the delay ends.
    const result = connectAny(network, ["::1", "127.0.0.1"], 80, 60_000, new AbortController().signal, false, {
      attemptDelayMs: 2_000,
    });
    const first = await started();
    first.fail(refused());
    const second = await Promise.race([
      started(),
      new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 1_500)),
    ]);
    assert.ok(second, "the second attempt started before the attempt delay ended");
    assert.equal(second.hostname, "127.0.0.1");
    const winner = second.succeed();
    assert.equal(await result, winner);
  });

  it("rejects with the last error once every address failed", async () => {
    const { network, started } = handNetwork();
    const result = connectAny(network, ["::1", "127.0.0.1"], 80, 60_000, new AbortController().signal, false, {
      attemptDelayMs: 10,
    });
    (await started()).fail(refused());
    (await started()).fail(new SocksError("host-unreachable", "no route"));
    await assert.rejects(result, { code: "host-unreachable" });
  });

  it("the connect timeout bounds the whole race: a timeout, every attempt aborted", async () => {
    const { network, attempts } = handNetwork();
    await assert.rejects(
      connectAny(network, ["::1", "127.0.0.1", "::2"], 80, 100, new AbortController().signal, false, {
        attemptDelayMs: 10,
      }),
      { code: "timeout" },
    );
    assert.equal(attempts.length, 3);
    for (const attempt of attempts) assert.equal(attempt.signal.aborted, true, attempt.hostname);
  });

  it("refuses an attempt delay outside the RFC's bounds", async () => {
    assert.equal(checkAttemptDelay(100), undefined);
    assert.match(checkAttemptDelay(2_001) ?? "", /from 10 to 2000 ms/);
    const { network, attempts } = handNetwork();
    await assert.rejects(
      connectAny(network, ["::1", "127.0.0.1"], 80, 1_000, new AbortController().signal, false, { attemptDelayMs: 0 }),
      { code: "bad-field" },
    );
    assert.equal(attempts.length, 0);
  });
});
