import { DeviceWatch, inputDevices, sameDevices, type Device } from '../core/DeviceWatch.js';
import { frameTransformApi } from '../core/e2ee/FrameEncryption.js';
import { acquireMedia, hasScreenSharing, type MediaOptions } from '../core/localMedia.js';
import { Logger, logLevels, type LogLevel } from '../core/Logger.js';
import { hasMediaProcessorSupport } from '../core/PublisherTracks.js';
import { Collection } from './Collection.js';
import type { Completion, OTContext } from './context.js';
import { titleOf, toOTError, type OTError } from './errors.js';
import { createEvent, type EventOf } from './OTEvent.js';
import { OTEventEmitter } from './OTEventEmitter.js';
import { otProperties, type OTProperties } from './properties.js';
import { Publisher, type PublisherProperties } from './Publisher.js';
import { Session, type SessionOptions } from './Session.js';
import type { Subscriber } from './Subscriber.js';
import type { WidgetTarget } from './widget.js';

/** `OT.checkScreenSharingCapability`'s answer, in OpenTok.js's shape (the extension fields are for old browsers). */
export interface ScreenSharingCapability {
  readonly supported: boolean;
  readonly supportedSources: {
    readonly screen: boolean;
    readonly window: boolean;
    readonly application: boolean;
    readonly browser: boolean;
  };
  readonly extensionRequired: undefined;
  readonly extensionInstalled: undefined;
  readonly extensionRegistered: undefined;
}

export type { Device } from '../core/DeviceWatch.js';

export interface OTEvents {
  /** An error the application may not have a callback for: `{code, message, title, target}`. */
  exception: EventOf<'exception', { code: number; message: string; title: string }>;
  /**
   * A camera or microphone was plugged in or out (or its label changed): `devices` is the new
   * list, as `OT.getDevices` gives it. Read while the event has handlers only.
   */
  devicesChanged: EventOf<'devicesChanged', { devices: Device[] }>;
}

type InitPublisher = {
  (target?: WidgetTarget, properties?: PublisherProperties, completion?: Completion): Publisher;
  (target: WidgetTarget, completion: Completion): Publisher;
  /** Resolves with the publisher once its media is acquired. */
  promise(target?: WidgetTarget, properties?: PublisherProperties): Promise<Publisher>;
};

/**
 * The `OT` namespace of OpenTok.js over Parlor's engine. `apiUrl` is the Parlor server the
 * SDK came from, the default of every session.
 */
export class OTNamespace extends OTEventEmitter<OTEvents> {
  readonly NONE = logLevels.NONE;
  readonly ERROR = logLevels.ERROR;
  readonly WARN = logLevels.WARN;
  readonly INFO = logLevels.INFO;
  readonly LOG = logLevels.LOG;
  readonly DEBUG = logLevels.DEBUG;
  readonly #context: OTContext;
  #deviceWatch: DeviceWatch<Device[]> | undefined;
  /** The page's publishers, until destroyed. */
  readonly publishers = new Collection<Publisher>();
  /** The page's subscribers, until destroyed. */
  readonly subscribers = new Collection<Subscriber>();
  /** The server's API and logging URLs, as OpenTok.js's `OT.properties` has them. */
  readonly properties: OTProperties;

  /** Creates a publisher at once; its camera and microphone come later (`completion`, `accessAllowed`). */
  readonly initPublisher: InitPublisher;

  constructor(apiUrl: string | undefined) {
    const logger = new Logger();
    super(logger);
    this.properties = otProperties(apiUrl);
    this.#context = {
      logger,
      apiUrl,
      reportException: (error: OTError, target: unknown) => {
        logger.error(`${error.name} (${error.code}): ${error.message}`);
        const fields = { code: error.code, message: error.message, title: titleOf(error.code) };
        this.dispatch(createEvent('exception', target, fields));
      },
      publishers: this.publishers,
      subscribers: this.subscribers,
    };
    const initPublisher = (
      target?: WidgetTarget,
      properties?: unknown,
      completion?: Completion,
    ): Publisher => {
      const props = typeof properties === 'object' && properties !== null ? properties : {};
      const done = typeof properties === 'function' ? (properties as Completion) : completion;
      return new Publisher(this.#context, target, props, done);
    };
    this.initPublisher = Object.assign(initPublisher, {
      promise: (target?: WidgetTarget, properties: PublisherProperties = {}) =>
        new Promise<Publisher>((resolve, reject) => {
          const publisher = new Publisher(this.#context, target, properties, (error) => {
            if (error) reject(error);
            else resolve(publisher);
          });
        }),
    });
  }

  /** A session object; `connect` joins it. */
  initSession(apiKey: string | number, sessionId: string, options?: SessionOptions): Session {
    return new Session(this.#context, String(apiKey), sessionId, options);
  }

  /**
   * Whether the browser lets publishers process their media (`setVideoMediaProcessorConnector`,
   * `setAudioMediaProcessorConnector`): Insertable Streams' breakout box, as in Chromium.
   */
  hasMediaProcessorSupport(): boolean {
    return hasMediaProcessorSupport();
  }

  /**
   * The cameras and microphones, as the browser lists them at the call (so a device plugged in
   * or out since is there or gone); labels are empty until the page has been granted access.
   */
  getDevices(completion?: (error?: OTError, devices?: Device[]) => void): Promise<Device[]> {
    const devices = navigator.mediaDevices.enumerateDevices().then(
      (list) => inputDevices(list),
      (error: unknown) => {
        throw toOTError(error);
      },
    );
    if (completion) {
      devices.then(
        (list) => {
          completion(undefined, list);
        },
        (error: unknown) => {
          completion(error as OTError);
        },
      );
    }
    return devices;
  }

  /** Captures media with the publisher's media properties, without publishing. */
  async getUserMedia(properties: MediaOptions = {}): Promise<MediaStream> {
    try {
      return await acquireMedia(properties);
    } catch (error) {
      throw toOTError(error);
    }
  }

  /** Whether this browser can encrypt media end to end (it can transform encoded frames in a worker). */
  hasEndToEndEncryptionSupport(): boolean {
    return frameTransformApi() !== null;
  }

  /**
   * What screen sharing the browser offers, to `callback`: with `getDisplayMedia` every source
   * is `supported` and no extension is needed (the browser's own picker chooses what is shared).
   */
  checkScreenSharingCapability(callback: (response: ScreenSharingCapability) => void): void {
    const supported = hasScreenSharing();
    callback({
      supported,
      supportedSources: { screen: supported, window: supported, application: supported, browser: supported },
      extensionRequired: undefined,
      extensionInstalled: undefined,
      extensionRegistered: undefined,
    });
  }

  /** Kept for pages written for old browsers: no extension is needed any more, so it does nothing. */
  registerScreenSharingExtension(_kind: string, _id: string, _version?: number): void {}

  /** 1 when the browser has what the SDK needs (WebRTC, camera access, WebSocket), else 0. */
  checkSystemRequirements(): 0 | 1 {
    const supported =
      typeof RTCPeerConnection === 'function' &&
      typeof WebSocket === 'function' &&
      'mediaDevices' in navigator;
    return supported ? 1 : 0;
  }

  /** How much the SDK logs to the console: `OT.NONE` to `OT.DEBUG`. Default: `OT.ERROR`. */
  setLogLevel(level: LogLevel): void {
    this.#context.logger.setLevel(level);
  }

  /** `devicesChanged` follows the browser's device list while it has handlers, and only then. */
  protected override listenersChanged(type: string): void {
    if (type !== 'devicesChanged') return;
    const wanted =
      this.listenerCount(type) > 0 && typeof navigator !== 'undefined' && 'mediaDevices' in navigator;
    if (wanted && !this.#deviceWatch) {
      this.#deviceWatch = new DeviceWatch({
        read: inputDevices,
        same: sameDevices,
        onChange: (devices) => {
          this.dispatch(createEvent('devicesChanged', this, { devices }));
        },
        onError: (error) => {
          this.#context.logger.warn('the device list could not be read', error);
        },
      });
    } else if (!wanted && this.#deviceWatch) {
      this.#deviceWatch.close();
      this.#deviceWatch = undefined;
    }
  }

  /** Logs a message at the `OT.LOG` level. */
  log(...message: unknown[]): void {
    this.#context.logger.log(...message);
  }
}
