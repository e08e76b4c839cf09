import type { Logger } from '../Logger.js';
import { TypedEmitter } from '../TypedEmitter.js';
import type { FrameKey } from './frameCipher.js';
import { deriveFrameKey } from './frameKeys.js';
import type { EncodedFrame, FromFrameWorker, ToFrameWorker, TransformOptions } from './workerMessages.js';

/** The frame worker's code, put in the bundle by `bundle.mjs`; absent when the SDK runs unbundled. */
declare const __PARLOR_FRAME_WORKER__: string | undefined;

/** How a browser lets a page transform encoded frames: the standard `RTCRtpScriptTransform`, or Chromium's older encoded streams. */
export type FrameTransformApi = 'scriptTransform' | 'encodedStreams';

/**
 * The frame transform API this browser has, the standard one first; null without one, without
 * WebCrypto, or in a build without the worker (the SDK compiled but not bundled).
 */
export function frameTransformApi(): FrameTransformApi | null {
  if (typeof __PARLOR_FRAME_WORKER__ !== 'string') return null;
  if (typeof Worker === 'undefined' || typeof crypto === 'undefined' || !('subtle' in crypto)) return null;
  if (typeof RTCRtpScriptTransform === 'function') return 'scriptTransform';
  if (typeof RTCRtpSender !== 'undefined' && 'createEncodedStreams' in RTCRtpSender.prototype)
    return 'encodedStreams';
  return null;
}

/** What a peer transport of an encrypted session asks of the frame encryption. */
export interface FrameProtection {
  /** Encrypts what the transceiver sends; its video goes out as VP8 (the codec whose clear header is known). */
  protectSender(transceiver: RTCRtpTransceiver): void;
  /** Decrypts what the receiver gets; `decryption` reports whether it opens. */
  protectReceiver(receiver: RTCRtpReceiver, subscriptionId: string): void;
}

interface FrameEncryptionEvents {
  /** A subscription's media started or stopped opening with this client's keys. */
  decryption: [subscriptionId: string, matches: boolean];
}

/** Chromium's encoded streams, which the DOM library does not declare. */
interface EncodedStreams {
  createEncodedStreams(): { readable: ReadableStream<EncodedFrame>; writable: WritableStream<EncodedFrame> };
}

/**
 * A session's end-to-end encryption on the page: the key derived from the secret, the worker
 * that encrypts and decrypts frames, and the transforms of every sender and receiver.
 */
export class FrameEncryption extends TypedEmitter<FrameEncryptionEvents> implements FrameProtection {
  readonly #sessionId: string;
  /** Looked up when first needed (undefined until then), then kept: every transform uses the same API. */
  #api: FrameTransformApi | null | undefined;
  readonly #logger: Logger;
  #worker: Worker | null = null;
  #workerUrl = '';
  /** Settles once the latest secret's key reached the worker; keys reach it in the order set. */
  #keyed: Promise<void> = Promise.resolve();
  #hasSecret = false;
  /** The latest secret's key, given to the worker when it starts (it starts with the first transform). */
  #key: FrameKey | null = null;
  #nextId = 1;
  readonly #receivers = new Map<number, string>();

  constructor(sessionId: string, logger: Logger) {
    super((event, error) => {
      logger.error(`a listener of the frame encryption "${event}" event threw`, error);
    });
    this.#sessionId = sessionId;
    this.#logger = logger;
  }

  /** The frame transform API in use; null when the browser has none. */
  get api(): FrameTransformApi | null {
    if (this.#api === undefined) this.#api = frameTransformApi();
    return this.#api;
  }

  /** Whether a secret was set: senders may start. */
  get hasSecret(): boolean {
    return this.#hasSecret;
  }

  /** Encrypts with the secret's key from now on (a valid secret: see `isValidSecret`); resolves once it applies. */
  setSecret(secret: string): Promise<void> {
    this.#hasSecret = true;
    const derived = deriveFrameKey(secret, this.#sessionId);
    const applied = this.#keyed
      .catch(() => undefined)
      .then(async () => {
        this.#key = await derived;
        this.#worker?.postMessage({ type: 'key', key: this.#key } satisfies ToFrameWorker);
      });
    this.#keyed = applied;
    return applied;
  }

  /** Resolves once the latest secret applies. */
  ready(): Promise<void> {
    return this.#keyed;
  }

  /** The peer connection settings the transforms need (Chromium's encoded streams must be asked for). */
  configure(configuration: RTCConfiguration): RTCConfiguration {
    return this.api === 'encodedStreams'
      ? ({ ...configuration, encodedInsertableStreams: true } as RTCConfiguration)
      : configuration;
  }

  protectSender(transceiver: RTCRtpTransceiver): void {
    const kind = transceiver.sender.track?.kind === 'video' ? 'video' : 'audio';
    if (kind === 'video') {
      const vp8 = (RTCRtpSender.getCapabilities('video')?.codecs ?? []).filter(({ mimeType }) =>
        /^video\/(vp8|rtx)$/i.test(mimeType),
      );
      try {
        transceiver.setCodecPreferences(vp8);
      } catch (error) {
        this.#logger.warn('the video codec could not be limited to VP8', error);
      }
    }
    this.#attach(transceiver.sender, { id: this.#nextId++, role: 'sender', kind });
  }

  protectReceiver(receiver: RTCRtpReceiver, subscriptionId: string): void {
    const id = this.#nextId++;
    this.#receivers.set(id, subscriptionId);
    this.#attach(receiver, {
      id,
      role: 'receiver',
      kind: receiver.track.kind === 'video' ? 'video' : 'audio',
    });
  }

  /**
   * Stops the worker: every transform stops passing frames. The key stays: a session connected
   * again starts another worker with its first transform. Idempotent.
   */
  stop(): void {
    this.#worker?.terminate();
    this.#worker = null;
    if (this.#workerUrl) URL.revokeObjectURL(this.#workerUrl);
    this.#receivers.clear();
  }

  #attach(target: RTCRtpSender | RTCRtpReceiver, options: TransformOptions): void {
    const worker = this.#workerOrStart();
    if (!worker) {
      // Nothing can encrypt or decrypt here: a sender sends nothing rather than clear media, a
      // receiver plays nothing rather than ciphertext.
      if (target instanceof RTCRtpSender) {
        void target.replaceTrack(null);
        return;
      }
      target.track.enabled = false;
      const subscriptionId = this.#receivers.get(options.id);
      queueMicrotask(() => {
        if (subscriptionId !== undefined) this.safeEmit('decryption', subscriptionId, false);
      });
      return;
    }
    if (this.api === 'scriptTransform') {
      target.transform = new RTCRtpScriptTransform(worker, options);
      return;
    }
    const { readable, writable } = (target as unknown as EncodedStreams).createEncodedStreams();
    const message: ToFrameWorker = { type: 'streams', options, readable, writable };
    worker.postMessage(message, [readable, writable]);
  }

  #workerOrStart(): Worker | null {
    if (this.#worker) return this.#worker;
    if (typeof __PARLOR_FRAME_WORKER__ !== 'string' || this.api === null) {
      this.#logger.error('end-to-end encryption is not available in this browser or build');
      return null;
    }
    this.#workerUrl = URL.createObjectURL(new Blob([__PARLOR_FRAME_WORKER__], { type: 'text/javascript' }));
    try {
      this.#worker = new Worker(this.#workerUrl);
    } catch (error) {
      // A Content Security Policy without blob: workers.
      this.#logger.error('the end-to-end encryption worker could not start', error);
      URL.revokeObjectURL(this.#workerUrl);
      this.#workerUrl = '';
      this.#api = null;
      return null;
    }
    this.#worker.onmessage = ({ data }: MessageEvent<FromFrameWorker>) => {
      const subscriptionId = this.#receivers.get(data.id);
      if (data.type === 'ended') this.#receivers.delete(data.id);
      else if (subscriptionId !== undefined) this.safeEmit('decryption', subscriptionId, data.matches);
    };
    this.#worker.onerror = (event) => {
      this.#logger.error('the frame worker failed', event.message);
    };
    if (this.#key) this.#worker.postMessage({ type: 'key', key: this.#key } satisfies ToFrameWorker);
    return this.#worker;
  }
}
