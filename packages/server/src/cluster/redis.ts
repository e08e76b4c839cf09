import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';

/** How long a Redis command may take before it fails, ms: leases are renewed well within their life. */
const commandTimeoutMs = 1000;
/** How long the first connection may take at start, ms. */
const connectTimeoutMs = 5000;

/** Redis could not be reached at start; the message is one line for the operator. */
export class RedisUnreachableError extends Error {
  override readonly name = 'RedisUnreachableError';
}

/**
 * Connects to the cluster's Redis and resolves once it answers. Later outages are ridden out:
 * the client reconnects by itself (every 100 ms to 1 s), commands made meanwhile fail within a
 * second, and the outage is logged once when it starts and once when it ends.
 */
export async function connectRedis(url: string, logger: Logger): Promise<Redis> {
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: connectTimeoutMs,
    commandTimeout: commandTimeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: (attempt) => Math.min(100 * attempt, 1000),
  });
  // Until the first connection, failures are the start's to report.
  let down = true;
  let lastError = null as Error | null;
  redis.on('error', (error: Error) => {
    lastError = error;
    if (down) return;
    down = true;
    logger.warn({ err: error.message }, 'lost Redis: reconnecting');
  });
  redis.on('ready', () => {
    if (!down) return;
    down = false;
    logger.info('Redis is back');
  });
  try {
    await redis.connect();
    await pingWithin(redis, connectTimeoutMs);
  } catch (error) {
    redis.disconnect();
    const where = new URL(url);
    const cause = (lastError ?? (error as Error)).message;
    throw new RedisUnreachableError(`cannot reach Redis at ${where.host} (--redis-url): ${cause}`);
  }
  down = false;
  return redis;
}

/**
 * Pings until Redis answers, for up to `ms`: on a loaded machine the first ping after connecting
 * has outlasted the one-second command timeout, and a node failed to start beside a live Redis.
 */
async function pingWithin(redis: Redis, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      await redis.ping();
      return;
    } catch (error) {
      if (Date.now() + commandTimeoutMs > deadline) throw error;
      await sleep(100);
    }
  }
}
