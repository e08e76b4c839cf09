import type { Redis } from 'ioredis';

/** What renewing a lease found: still the node's, taken afresh (Redis had lost it), or another's. */
export type RenewOutcome = 'renewed' | 'reestablished' | 'lost';

/**
 * Renews the lease when it is the node's; takes it when nobody holds it (a restarted Redis
 * starts empty); leaves another node's alone. KEYS[1] lease, ARGV[1] node, ARGV[2] ms.
 */
const renewScript = `
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if not holder then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 2
end
return 0
`;

/** Deletes the lease only when it is the node's. KEYS[1] lease, ARGV[1] node. */
const releaseScript = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`;

interface LeaseCommands {
  parlorRenewLease(key: string, nodeId: string, ms: number): Promise<number>;
  parlorReleaseLease(key: string, nodeId: string): Promise<number>;
}

/**
 * Session ownership on Redis: a session's owner is the node named by its lease, a key set if
 * absent with an expiry and renewed by its holder. Scripts compare before they renew or delete,
 * so a node never extends or ends another node's lease.
 */
export class SessionLeases {
  readonly #redis: Redis & LeaseCommands;
  readonly #prefix: string;

  /** `prefix` starts every key (`{prefix}lease:{sessionId}`). Default: `parlor:`. */
  constructor(redis: Redis, prefix = 'parlor:') {
    if (!('parlorRenewLease' in redis)) {
      redis.defineCommand('parlorRenewLease', { numberOfKeys: 1, lua: renewScript });
      redis.defineCommand('parlorReleaseLease', { numberOfKeys: 1, lua: releaseScript });
    }
    this.#redis = redis as Redis & LeaseCommands;
    this.#prefix = prefix;
  }

  /** Gives the session to the node unless another holds it; true when the node has it now. */
  async acquire(sessionId: string, nodeId: string, ms: number): Promise<boolean> {
    return (await this.#redis.set(this.#key(sessionId), nodeId, 'PX', ms, 'NX')) === 'OK';
  }

  /** The node holding the session's lease, or null. */
  holder(sessionId: string): Promise<string | null> {
    return this.#redis.get(this.#key(sessionId));
  }

  /** Extends the node's lease to `ms` from now, or takes it if nobody holds it. */
  async renew(sessionId: string, nodeId: string, ms: number): Promise<RenewOutcome> {
    const result = await this.#redis.parlorRenewLease(this.#key(sessionId), nodeId, ms);
    return result === 1 ? 'renewed' : result === 2 ? 'reestablished' : 'lost';
  }

  /** Ends the node's lease; another node's is left alone. True when it was the node's. */
  async release(sessionId: string, nodeId: string): Promise<boolean> {
    return (await this.#redis.parlorReleaseLease(this.#key(sessionId), nodeId)) === 1;
  }

  #key(sessionId: string): string {
    return `${this.#prefix}lease:${sessionId}`;
  }
}
