/**
 * `--quota-store redis://HOST:PORT[/DB]`: the quota counts of a fleet, shared through Redis with `INCRBY` (one key
 * per user or client address and period, `tabi:quota:KEY:PERIOD`, expiring after 40 days), through the npm package
 * `@redis/client` (node-redis's core, by Redis; no dependencies; it runs unchanged under Deno, Bun and Node 20).
 * It is optional and loaded lazily, like undici for Node's fetch: imported with a computed specifier only when a
 * quota store is asked for, so nothing else (and no bundle) needs it; without it, the start fails saying
 * `npm install @redis/client`.
 *
 * @module
 */
import type { SavedCount } from "../lib/server/quota_ledger.ts";
import type { QuotaStore } from "../lib/server/quota_store.ts";

/** How long a period's count is kept in Redis: the longest period (a month) and some. */
export const REDIS_KEY_TTL_SECONDS = 40 * 24 * 3600;

/** The slice of @redis/client's API used here (it is imported by a computed name, so typed by hand). */
interface RedisClient {
  connect(): Promise<unknown>;
  on(event: "error", listener: (error: Error) => void): unknown;
  multi(): RedisMulti;
  destroy(): void;
}
interface RedisMulti {
  incrBy(key: string, increment: number): RedisMulti;
  expire(key: string, seconds: number): RedisMulti;
  exec(): Promise<unknown[]>;
}
interface RedisModule {
  createClient(options: Record<string, unknown>): RedisClient;
}

/** Checks `redis://HOST:PORT[/DB]`; returns the problem, or undefined when fine. */
export function checkRedisUrl(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return `"${url}" is not a URL`;
  }
  if (parsed.protocol !== "redis:") return `"${url}": only redis:// is supported`;
  if (!/^\/?(\d+)?$/.test(parsed.pathname)) return `"${url}": the path must be a database number`;
  return undefined;
}

/**
 * Connects to Redis at `url`. Commands fail at once while the connection is down (no offline queue: the caller
 * keeps counting locally and sends again), and the client reconnects by itself. `onError` hears connection errors.
 */
export async function redisQuotaStore(url: string, onError: (error: Error) => void): Promise<QuotaStore> {
  const name = "@redis/client";
  let redis: RedisModule;
  try {
    redis = await import(name) as RedisModule;
  } catch (error) {
    throw new Error(`--quota-store needs the npm package @redis/client (npm install @redis/client): ${error}`);
  }
  const client = redis.createClient({
    url,
    disableOfflineQueue: true,
    socket: { connectTimeout: 2_000, reconnectStrategy: (retries: number) => Math.min(100 * 2 ** retries, 2_000) },
  });
  client.on("error", onError);
  // A Redis that is down at start is not fatal: the counts are kept locally until it answers.
  await client.connect().catch(onError);
  return {
    async sync(increments, keys) {
      const names = Object.entries(keys).map(([key, period]) => [key, period, `tabi:quota:${key}:${period}`]);
      const multi = client.multi();
      for (const [key, period, redisKey] of names) {
        const increment = increments[key]?.period === period ? increments[key].bytes : 0;
        multi.incrBy(redisKey, increment).expire(redisKey, REDIS_KEY_TTL_SECONDS);
      }
      const replies = await multi.exec();
      const totals: Record<string, SavedCount> = {};
      names.forEach(([key, period], i) => (totals[key] = { period, bytes: Number(replies[2 * i]) }));
      return totals;
    },
    close() {
      client.destroy();
      return Promise.resolve();
    },
  };
}
