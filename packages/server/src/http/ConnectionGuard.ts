import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { addressKey } from '../addressKey.js';

export interface ConnectionGuardOptions {
  /**
   * Connections from one address that have gone `pendingGraceMs` without completing a request or
   * a WebSocket upgrade; once this many, newcomers from the address are closed at once.
   * Well-behaved clients complete theirs in a round trip, so this stays small even for many
   * users behind one NAT, and a burst of them (a page's connections, a proxy's) is never refused.
   * Default: 64.
   */
  readonly maxPendingPerAddress?: number;
  /** How long a connection may take to complete its first request before it counts as pending, in ms. Default: 1000. */
  readonly pendingGraceMs?: number;
  /** Connections from one address, signaling WebSockets included; more are closed at once. Default: 1024. */
  readonly maxPerAddress?: number;
  /**
   * Connections in all. At the cap a newcomer takes the place of the connection that has kept
   * the server waiting longest (unfinished headers, a dripped body, an idle keep-alive); it is
   * refused only when every connection is being answered or is a WebSocket. Default: no cap.
   */
  readonly maxConnections?: number;
  readonly logger: Pick<Logger, 'warn'>;
  /** How often a summary of the connections closed by these rules is logged, at most, in ms. Default: 10000. */
  readonly reportIntervalMs?: number;
}

/** Why a connection was closed by the guard. */
export type GuardClosure = 'addressPending' | 'addressTotal' | 'evicted' | 'full';

interface Tracked {
  readonly socket: Socket;
  readonly address: string;
  /** When it was accepted (performance.now()). */
  readonly acceptedAt: number;
  /** The request being received or answered; null between requests. */
  request: IncomingMessage | null;
  /** Has completed a request, or been upgraded. */
  proven: boolean;
  upgraded: boolean;
}

/**
 * Guards an HTTP server's connections against clients that hold them open without finishing
 * their requests: caps per address (per /64 for IPv6) and in all, evicting the slowest
 * connection when the cap is reached. The timeouts that close such connections in the end are
 * the HTTP server's own (`headersTimeout`, `requestTimeout`, `keepAliveTimeout`).
 */
export class ConnectionGuard {
  readonly #server: Server;
  readonly #maxPending: number;
  readonly #pendingGraceMs: number;
  readonly #maxPerAddress: number;
  readonly #max: number;
  readonly #logger: Pick<Logger, 'warn'>;
  readonly #reportIntervalMs: number;
  readonly #all = new Map<Socket, Tracked>();
  readonly #byAddress = new Map<string, Set<Tracked>>();
  /** Connections waiting for their client, the longest waiting first: the ones to evict. */
  readonly #waiting = new Set<Tracked>();
  readonly #closures: Record<GuardClosure, number> = {
    addressPending: 0,
    addressTotal: 0,
    evicted: 0,
    full: 0,
  };
  #unreported: Record<GuardClosure, number> | null = null;
  #report: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(server: Server, options: ConnectionGuardOptions) {
    this.#server = server;
    this.#maxPending = options.maxPendingPerAddress ?? 64;
    this.#pendingGraceMs = options.pendingGraceMs ?? 1000;
    this.#maxPerAddress = options.maxPerAddress ?? 1024;
    this.#max = options.maxConnections ?? Infinity;
    this.#logger = options.logger;
    this.#reportIntervalMs = options.reportIntervalMs ?? 10_000;
    server.on('connection', this.#onConnection);
    server.on('request', this.#onRequest);
    server.on('upgrade', this.#onUpgrade);
  }

  /** Connections open now. */
  get connections(): number {
    return this.#all.size;
  }

  /** Connections closed by the guard since it started, by reason. */
  get closures(): Readonly<Record<GuardClosure, number>> {
    return { ...this.#closures };
  }

  /** Stops guarding (connections open stay open) and logs what was not yet reported. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#server.off('connection', this.#onConnection);
    this.#server.off('request', this.#onRequest);
    this.#server.off('upgrade', this.#onUpgrade);
    clearTimeout(this.#report);
    this.#flushReport();
    this.#all.clear();
    this.#byAddress.clear();
    this.#waiting.clear();
  }

  readonly #onConnection = (socket: Socket): void => {
    if (socket.remoteAddress === undefined) return; // Already gone.
    const address = addressKey(socket.remoteAddress);
    const peers = this.#byAddress.get(address);
    if (peers && peers.size >= this.#maxPerAddress) {
      this.#refuse(socket, 'addressTotal');
      return;
    }
    if (peers && this.#pendingAmong(peers) >= this.#maxPending) {
      this.#refuse(socket, 'addressPending');
      return;
    }
    if (this.#all.size >= this.#max && !this.#evictOne()) {
      this.#refuse(socket, 'full');
      return;
    }
    const tracked: Tracked = {
      socket,
      address,
      acceptedAt: performance.now(),
      request: null,
      proven: false,
      upgraded: false,
    };
    this.#all.set(socket, tracked);
    if (peers) peers.add(tracked);
    else this.#byAddress.set(address, new Set([tracked]));
    this.#waiting.add(tracked);
    socket.once('close', () => {
      this.#untrack(tracked);
    });
  };

  readonly #onRequest = (request: IncomingMessage, response: ServerResponse): void => {
    const tracked = this.#all.get(request.socket);
    if (!tracked || tracked.upgraded) return;
    // It stays where it is among the waiting: from now on it waits for the body, if any.
    tracked.request = request;
    response.once('close', () => {
      if (tracked.request !== request) return;
      tracked.request = null;
      if (request.complete) tracked.proven = true;
      if (!this.#all.has(tracked.socket)) return;
      // Waiting for its client again (keep-alive), from now.
      this.#waiting.delete(tracked);
      this.#waiting.add(tracked);
    });
  };

  readonly #onUpgrade = (request: IncomingMessage): void => {
    const tracked = this.#all.get(request.socket);
    if (!tracked) return;
    tracked.upgraded = true;
    tracked.proven = true;
    tracked.request = null;
    this.#waiting.delete(tracked);
  };

  /** Connections among these that have gone the grace period without completing a request or upgrade. */
  #pendingAmong(peers: Set<Tracked>): number {
    const acceptedBefore = performance.now() - this.#pendingGraceMs;
    let pending = 0;
    for (const tracked of peers) {
      if (!tracked.proven && tracked.request?.complete === true) tracked.proven = true;
      if (!tracked.proven && tracked.acceptedAt <= acceptedBefore) pending += 1;
    }
    return pending;
  }

  /** Closes the connection that has waited longest for its client; false when none is waiting. */
  #evictOne(): boolean {
    for (const tracked of this.#waiting) {
      if (tracked.request?.complete === true) {
        // Received in full and being answered: back among the waiting once answered.
        this.#waiting.delete(tracked);
        continue;
      }
      this.#untrack(tracked);
      tracked.socket.destroy();
      this.#count('evicted');
      return true;
    }
    return false;
  }

  #refuse(socket: Socket, reason: GuardClosure): void {
    socket.destroy();
    this.#count(reason);
  }

  #untrack(tracked: Tracked): void {
    if (!this.#all.delete(tracked.socket)) return;
    this.#waiting.delete(tracked);
    const peers = this.#byAddress.get(tracked.address);
    peers?.delete(tracked);
    if (peers?.size === 0) this.#byAddress.delete(tracked.address);
  }

  /** Counts a closure, and logs a summary of them at most once per interval (an attack makes thousands). */
  #count(reason: GuardClosure): void {
    this.#closures[reason] += 1;
    if (this.#unreported) {
      this.#unreported[reason] += 1;
      return;
    }
    this.#unreported = { addressPending: 0, addressTotal: 0, evicted: 0, full: 0, [reason]: 1 };
    this.#report = setTimeout(() => {
      this.#flushReport();
    }, this.#reportIntervalMs).unref();
  }

  #flushReport(): void {
    if (!this.#unreported) return;
    this.#logger.warn(
      { closed: this.#unreported, open: this.#all.size },
      'HTTP connections closed: over the per-address caps, or evicted or refused at the connection cap',
    );
    this.#unreported = null;
  }
}
