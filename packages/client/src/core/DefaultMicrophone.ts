import { DeviceWatch, type DeviceSource } from './DeviceWatch.js';
import type { Logger } from './Logger.js';

/**
 * Which microphone the browser uses by default, as a key that changes when another one becomes
 * the default: Chromium lists the default as `default` (its group and label those of the device
 * behind it); other browsers list it first. Null without microphones.
 */
export function defaultMicrophoneKey(list: readonly MediaDeviceInfo[]): string | null {
  const microphones = list.filter((device) => device.kind === 'audioinput');
  const chosen = microphones.find((device) => device.deviceId === 'default') ?? microphones[0];
  return chosen ? [chosen.deviceId, chosen.groupId, chosen.label].join('\n') : null;
}

export interface DefaultMicrophoneOptions {
  /** The browser's devices. Default: `navigator.mediaDevices`. */
  readonly source?: DeviceSource;
  /** Quiet time after the last `devicechange` before the list is read. Default: 300 ms. */
  readonly debounceMs?: number;
  /** Captures the browser's default microphone. */
  readonly capture: () => Promise<MediaStreamTrack>;
  /** The microphone track in use. */
  readonly current: () => MediaStreamTrack | undefined;
  /** Sends a new microphone track in place of the one in use, which it stops. */
  readonly use: (track: MediaStreamTrack) => Promise<void>;
  /** The publisher moved to this microphone. */
  readonly onMoved: (track: MediaStreamTrack) => void;
  /** The microphone in use went away and none could take its place. */
  readonly onLost: (ended: MediaStreamTrack, error: unknown) => void;
  readonly logger: Logger;
}

function sameDevice(a: MediaStreamTrack, b: MediaStreamTrack): boolean {
  const [first, second] = [a.getSettings(), b.getSettings()];
  return first.deviceId === second.deviceId && first.groupId === second.groupId;
}

/**
 * Keeps a publisher that uses the default microphone on it, as OpenTok.js does: when another
 * microphone becomes the default (one is plugged in) or the one in use goes away, it captures
 * the default again and sends it in place of the old track (no renegotiation). Moves happen one
 * at a time; one that finds the microphone in use already is the default changes nothing.
 */
export class DefaultMicrophone {
  readonly #options: DefaultMicrophoneOptions;
  readonly #watch: DeviceWatch<string | null>;
  #moves: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(options: DefaultMicrophoneOptions) {
    this.#options = options;
    this.#watch = new DeviceWatch({
      ...(options.source ? { source: options.source } : {}),
      ...(options.debounceMs === undefined ? {} : { debounceMs: options.debounceMs }),
      read: defaultMicrophoneKey,
      same: (a, b) => a === b,
      onChange: (key) => {
        if (key !== null) this.#move(undefined);
      },
      onError: (error) => {
        options.logger.warn('the device list could not be read', error);
      },
    });
  }

  /** The microphone's track ended (its device went away): moves to the default, or reports it lost. */
  trackEnded(track: MediaStreamTrack): void {
    this.#move(track);
  }

  /** Follows the default no more (the application chose a source). Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#watch.close();
  }

  /** Read through a method: `close()` may run while a move awaits. */
  #isClosed(): boolean {
    return this.#closed;
  }

  #move(ended: MediaStreamTrack | undefined): void {
    this.#moves = this.#moves
      .then(() => this.#moveNow(ended))
      .catch((error: unknown) => {
        this.#options.logger.warn('moving to the default microphone failed', error);
      });
  }

  async #moveNow(ended: MediaStreamTrack | undefined): Promise<void> {
    const current = this.#options.current();
    if (this.#isClosed() || (ended && current !== ended)) return;
    let track: MediaStreamTrack;
    try {
      track = await this.#options.capture();
    } catch (error) {
      if (ended && !this.#isClosed()) this.#options.onLost(ended, error);
      else this.#options.logger.warn('the default microphone could not be captured', error);
      return;
    }
    if (this.#isClosed() || (current?.readyState === 'live' && sameDevice(current, track))) {
      track.stop();
      return;
    }
    try {
      await this.#options.use(track);
    } catch (error) {
      if (ended && !this.#isClosed()) this.#options.onLost(ended, error);
      else this.#options.logger.warn('the default microphone could not be sent', error);
      return;
    }
    this.#options.onMoved(track);
  }
}
