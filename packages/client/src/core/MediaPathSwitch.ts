import type { MediaPath } from '@parlor/protocol';
import type { Logger } from './Logger.js';
import type { PeerTransport } from './PeerTransport.js';
import { TypedEmitter } from './TypedEmitter.js';

export interface MediaPathSwitchOptions {
  /** The subscription's peer connection from the router, which it plays from at first. */
  readonly routed: PeerTransport;
  /** Makes the receiving peer connection straight from the publisher, with this ID. */
  readonly createDirect: (subscriptionId: string) => PeerTransport;
  /** Tells the server the subscription plays from this path now. */
  readonly playing: (path: MediaPath) => Promise<void>;
  /** Tells the server this path decoded nothing in time (for `direct`, the server moves the session to the router). */
  readonly failed: (path: MediaPath) => Promise<void>;
  /** What the stream carries now: a new path is played once each of these flows on it. */
  readonly carries: () => { readonly video: boolean; readonly audio: boolean };
  readonly logger: Logger;
  /** How often a new path is checked for decoded media, ms. Default: 50. */
  readonly pollMs?: number;
  /** How long the router's path may take to decode before the move is given up, ms. Default: 30000. */
  readonly timeoutMs?: number;
  /**
   * How long the direct path may take to decode before it is given up, ms: the two clients
   * cannot reach each other, and the server moves them to the router. Default: 15000 (a loaded
   * machine may take a few seconds to decode the first frames).
   */
  readonly directTimeoutMs?: number;
}

interface MediaPathSwitchEvents {
  /** The subscription plays from this path now, over this peer connection. */
  switched: [path: MediaPath, transport: PeerTransport];
}

/**
 * Adaptive routing on a subscriber's side: which of a subscription's two peer connections (from
 * the router, or straight from the publisher) it plays from. Told a new path, it keeps playing
 * the old one until the new one decodes, then switches and tells the server, which lets the
 * publisher stop sending on the old one (make before break).
 */
export class MediaPathSwitch extends TypedEmitter<MediaPathSwitchEvents> {
  readonly #options: MediaPathSwitchOptions;
  readonly #routed: PeerTransport;
  #direct: PeerTransport | null = null;
  #playing: MediaPath = 'routed';
  /** Counts the server's instructions, so that a wait for an older one stops. */
  #instruction = 0;
  #closed = false;

  constructor(options: MediaPathSwitchOptions) {
    super((event, error) => {
      options.logger.error(`a listener of the media path "${event}" event threw`, error);
    });
    this.#options = options;
    this.#routed = options.routed;
  }

  /** The path played from. */
  get playing(): MediaPath {
    return this.#playing;
  }

  /** The peer connection played from. */
  get carrier(): PeerTransport {
    return (this.#playing === 'direct' ? this.#direct : null) ?? this.#routed;
  }

  /** The server's word: the path to play from, and the ID of the direct peer connection (made on first sight). */
  setPath(path: MediaPath, directSubscriptionId: string | null): void {
    if (this.#closed) return;
    if (directSubscriptionId !== null && this.#direct?.subscriptionId !== directSubscriptionId)
      this.#makeDirect(directSubscriptionId);
    const instruction = ++this.#instruction;
    if (path === this.#playing) {
      this.#confirm(path);
      return;
    }
    void this.#switchOnceDecoding(path, instruction);
  }

  /** Stops; the direct peer connection closes (the routed one is the subscription's own). Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#instruction += 1;
    this.#direct?.close();
    this.#direct = null;
  }

  #makeDirect(subscriptionId: string): void {
    this.#direct?.close();
    const direct = this.#options.createDirect(subscriptionId);
    this.#direct = direct;
    direct.on('closed', () => {
      if (this.#direct !== direct) return;
      this.#direct = null;
      // The server ended the direct path: the router's is the one left.
      if (this.#playing === 'direct' && !this.#closed) this.#switch('routed');
    });
  }

  async #switchOnceDecoding(path: MediaPath, instruction: number): Promise<void> {
    const transport = path === 'direct' ? this.#direct : this.#routed;
    if (!transport) return;
    const { pollMs = 50, timeoutMs = 30_000, directTimeoutMs = 15_000 } = this.#options;
    const waitMs = path === 'direct' ? directTimeoutMs : timeoutMs;
    const deadline = Date.now() + waitMs;
    const current = (): boolean => instruction === this.#instruction && !transport.closed;
    const before = await flowedSoFar(transport);
    while (Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, pollMs));
      if (!current()) return;
      const now = await flowedSoFar(transport);
      if (!current()) return;
      const { video, audio } = this.#options.carries();
      const flowing =
        (!video || now.frames >= before.frames + flowingAfter) &&
        (!audio || now.packets >= before.packets + flowingAfter);
      if (flowing) {
        this.#switch(path);
        this.#confirm(path);
        return;
      }
    }
    if (!current()) return;
    this.#options.logger.warn(
      `the ${path} path of ${this.#routed.subscriptionId} decoded nothing in ${waitMs} ms: it stays on ${this.#playing}`,
    );
    this.#options.failed(path).catch((error: unknown) => {
      this.#options.logger.debug('the failed media path was not acknowledged', error);
    });
  }

  #switch(path: MediaPath): void {
    this.#playing = path;
    this.#options.logger.info(`subscription ${this.#routed.subscriptionId} plays ${path}`);
    this.safeEmit('switched', path, this.carrier);
  }

  #confirm(path: MediaPath): void {
    this.#options.playing(path).catch((error: unknown) => {
      this.#options.logger.debug('the media path was not acknowledged', error);
    });
  }
}

/**
 * Video frames decoded and audio packets received that a new path must have had to be played: a
 * path whose first frame has just come may still stall while its sender's bandwidth estimate
 * ramps up.
 */
const flowingAfter = 3;

/** Video frames decoded and audio packets received so far. */
async function flowedSoFar(transport: PeerTransport): Promise<{ frames: number; packets: number }> {
  const flowed = { frames: 0, packets: 0 };
  (await transport.getStats()).forEach((entry: RTCStats & Record<string, unknown>) => {
    if (entry.type !== 'inbound-rtp') return;
    if (entry.kind === 'video') flowed.frames += Number(entry.framesDecoded ?? 0);
    if (entry.kind === 'audio') flowed.packets += Number(entry.packetsReceived ?? 0);
  });
  return flowed;
}
