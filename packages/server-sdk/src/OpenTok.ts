import { isIP } from 'node:net';
import { createRequire } from 'node:module';
import { archiveModes, archiveResolutions, mediaModes } from '@parlor/protocol';
import { generateClientToken, type TokenOptions } from './clientToken.js';
import { signingCredentials, type SigningCredentials } from './credentials.js';
import type { ArchiveLayout } from '@parlor/protocol';
import { ArgumentError, RequestError } from './errors.js';
import * as archives from './archives.js';
import type { Archive, ArchiveList, ArchiveOptions, ListArchivesOptions } from './archives.js';
import { settle } from './callbacks.js';
import * as moderation from './moderation.js';
import type { ForceMuteAllOptions, SignalPayload } from './moderation.js';
import { RestClient } from './restClient.js';
import { Session, type SessionOptions } from './Session.js';
import * as sip from './sip.js';
import type { DialOptions, SipCall } from './sip.js';
import * as streams from './streams.js';
import type { Stream, StreamClassList } from './streams.js';

const { version } = createRequire(import.meta.url)('../package.json') as { version: string };

/** Options of the `OpenTok` constructor. */
export interface OpenTokOptions {
  /** Base URL of the REST API. Default: `http://localhost:3000` (a local `npm start`). */
  readonly apiUrl?: string;
  /** Timeout of each request, in milliseconds. Default: 20000. */
  readonly timeout?: number;
  /** Text appended to the User-Agent header. */
  readonly uaAddendum?: string;
}

export type Callback<T> = (error: Error | null, result?: T) => void;

const defaultApiUrl = 'http://localhost:3000';
const defaultTimeoutMs = 20_000;

/**
 * The Parlor server SDK, shaped like the `opentok` package: `new OpenTok(apiKey, apiSecret,
 * { apiUrl })` (or the API URL as a string), `createSession` with a callback or a promise, and
 * `generateToken`. As in opentok-node's Vonage mode, `new OpenTok(applicationId, privateKeyPem,
 * { apiUrl })` authenticates as a Vonage application instead (RS256).
 */
export class OpenTok {
  readonly apiKey: string;
  readonly apiSecret: string;
  readonly apiUrl: string;
  readonly #rest: RestClient;
  readonly #credentials: SigningCredentials;

  constructor(apiKey: string | number, apiSecret: string, options: OpenTokOptions | string = {}) {
    if ((typeof apiKey !== 'string' && typeof apiKey !== 'number') || typeof apiSecret !== 'string') {
      throw new ArgumentError(
        'Invalid arguments when initializing OpenTok: apiKey must be a string or number, apiSecret a string',
      );
    }
    const settings = typeof options === 'string' ? { apiUrl: options } : options;
    this.apiKey = String(apiKey);
    this.apiSecret = apiSecret;
    this.#credentials = signingCredentials(this.apiKey, apiSecret);
    this.apiUrl = (settings.apiUrl ?? defaultApiUrl).replace(/\/+$/, '');
    if (!/^https?:\/\/[^/]/.test(this.apiUrl)) throw new ArgumentError(`Invalid apiUrl: ${this.apiUrl}`);
    const timeout = settings.timeout ?? defaultTimeoutMs;
    if (!Number.isInteger(timeout) || timeout <= 0) throw new ArgumentError(`Invalid timeout: ${timeout}`);
    this.#rest = new RestClient({
      credentials: this.#credentials,
      apiUrl: this.apiUrl,
      timeoutMs: timeout,
      userAgent: `Parlor-Node-SDK/${version}${settings.uaAddendum ? ` ${settings.uaAddendum}` : ''}`,
    });
  }

  /**
   * Creates a session. With a callback, calls it as `(error, session)`; without, returns a
   * promise of the session.
   */
  createSession(options?: SessionOptions): Promise<Session>;
  createSession(callback: Callback<Session>): void;
  createSession(options: SessionOptions, callback: Callback<Session>): void;
  createSession(
    optionsOrCallback?: SessionOptions | Callback<Session>,
    callback?: Callback<Session>,
  ): Promise<Session> | void {
    const options = typeof optionsOrCallback === 'function' ? {} : (optionsOrCallback ?? {});
    const done = typeof optionsOrCallback === 'function' ? optionsOrCallback : callback;
    const session = this.#createSession(options);
    if (!done) return session;
    session.then(
      (created) => {
        done(null, created);
      },
      (error: unknown) => {
        done(error instanceof Error ? error : new RequestError(String(error)));
      },
    );
  }

  /**
   * Makes a client token for a session of this project: a JWT by default, the legacy `T1==`
   * form when `legacyT1` is true. Throws `ArgumentError` on invalid options.
   */
  generateToken(sessionId: string, options?: TokenOptions, legacyT1 = false): string {
    return generateClientToken(this.#credentials, sessionId, options, legacyT1);
  }

  /** Dials a SIP endpoint into a routed session; its connection and stream join at once. */
  dial(sessionId: string, token: string, sipUri: string, options?: DialOptions): Promise<SipCall>;
  dial(
    sessionId: string,
    token: string,
    sipUri: string,
    options: DialOptions,
    callback: Callback<SipCall>,
  ): void;
  dial(
    sessionId: string,
    token: string,
    sipUri: string,
    options: DialOptions = {},
    callback?: Callback<SipCall>,
  ): Promise<SipCall> | void {
    return settle(sip.dial(this.#rest, this.apiKey, sessionId, token, sipUri, options), callback);
  }

  /** Plays DTMF digits into the session's SIP calls, or into one SIP connection's call. */
  playDTMF(sessionId: string, connectionId: string | null | undefined, digits: string): Promise<void>;
  playDTMF(
    sessionId: string,
    connectionId: string | null | undefined,
    digits: string,
    callback: Callback<void>,
  ): void;
  playDTMF(
    sessionId: string,
    connectionId: string | null | undefined,
    digits: string,
    callback?: Callback<void>,
  ): Promise<void> | void {
    return settle(sip.playDtmf(this.#rest, this.apiKey, sessionId, connectionId, digits), callback);
  }

  /** Sends a signal to every client of the session, or to one connection when it is given. */
  signal(sessionId: string, connectionId: string | null | undefined, payload: SignalPayload): Promise<void>;
  signal(
    sessionId: string,
    connectionId: string | null | undefined,
    payload: SignalPayload,
    callback: Callback<void>,
  ): void;
  signal(
    sessionId: string,
    connectionId: string | null | undefined,
    payload: SignalPayload,
    callback?: Callback<void>,
  ): Promise<void> | void {
    return settle(moderation.sendSignal(this.#rest, this.apiKey, sessionId, connectionId, payload), callback);
  }

  /** Disconnects a client from the session. */
  forceDisconnect(sessionId: string, connectionId: string): Promise<void>;
  forceDisconnect(sessionId: string, connectionId: string, callback: Callback<void>): void;
  forceDisconnect(sessionId: string, connectionId: string, callback?: Callback<void>): Promise<void> | void {
    return settle(moderation.forceDisconnect(this.#rest, this.apiKey, sessionId, connectionId), callback);
  }

  /** The live streams of the session. */
  listStreams(sessionId: string): Promise<Stream[]>;
  listStreams(sessionId: string, callback: Callback<Stream[]>): void;
  listStreams(sessionId: string, callback?: Callback<Stream[]>): Promise<Stream[]> | void {
    return settle(streams.listStreams(this.#rest, this.apiKey, sessionId), callback);
  }

  /** One live stream of the session. */
  getStream(sessionId: string, streamId: string): Promise<Stream>;
  getStream(sessionId: string, streamId: string, callback: Callback<Stream>): void;
  getStream(sessionId: string, streamId: string, callback?: Callback<Stream>): Promise<Stream> | void {
    return settle(streams.getStream(this.#rest, this.apiKey, sessionId, streamId), callback);
  }

  /** Replaces the layout classes of streams of the session. */
  setStreamClassLists(sessionId: string, classLists: readonly StreamClassList[]): Promise<void>;
  setStreamClassLists(
    sessionId: string,
    classLists: readonly StreamClassList[],
    callback: Callback<void>,
  ): void;
  setStreamClassLists(
    sessionId: string,
    classLists: readonly StreamClassList[],
    callback?: Callback<void>,
  ): Promise<void> | void {
    return settle(streams.setStreamClassLists(this.#rest, this.apiKey, sessionId, classLists), callback);
  }

  /** Mutes the audio of one stream. */
  forceMuteStream(sessionId: string, streamId: string): Promise<void>;
  forceMuteStream(sessionId: string, streamId: string, callback: Callback<void>): void;
  forceMuteStream(sessionId: string, streamId: string, callback?: Callback<void>): Promise<void> | void {
    return settle(moderation.forceMuteStream(this.#rest, this.apiKey, sessionId, streamId), callback);
  }

  /** Mutes every stream but the excluded ones, and streams published later until `disableForceMute`. */
  forceMuteAll(sessionId: string, options?: ForceMuteAllOptions): Promise<void>;
  forceMuteAll(sessionId: string, callback: Callback<void>): void;
  forceMuteAll(sessionId: string, options: ForceMuteAllOptions, callback: Callback<void>): void;
  forceMuteAll(
    sessionId: string,
    optionsOrCallback?: ForceMuteAllOptions | Callback<void>,
    callback?: Callback<void>,
  ): Promise<void> | void {
    const options = typeof optionsOrCallback === 'function' ? {} : optionsOrCallback;
    const done = typeof optionsOrCallback === 'function' ? optionsOrCallback : callback;
    return settle(moderation.forceMuteAll(this.#rest, this.apiKey, sessionId, options), done);
  }

  /** Lets streams published from now on keep their audio; muted streams stay muted. */
  disableForceMute(sessionId: string): Promise<void>;
  disableForceMute(sessionId: string, callback: Callback<void>): void;
  disableForceMute(sessionId: string, callback?: Callback<void>): Promise<void> | void {
    return settle(moderation.disableForceMute(this.#rest, this.apiKey, sessionId), callback);
  }

  /** Starts archiving a live routed session. */
  startArchive(sessionId: string, options?: ArchiveOptions): Promise<Archive>;
  startArchive(sessionId: string, callback: Callback<Archive>): void;
  startArchive(sessionId: string, options: ArchiveOptions, callback: Callback<Archive>): void;
  startArchive(
    sessionId: string,
    optionsOrCallback?: ArchiveOptions | Callback<Archive>,
    callback?: Callback<Archive>,
  ): Promise<Archive> | void {
    const options = typeof optionsOrCallback === 'function' ? {} : optionsOrCallback;
    const done = typeof optionsOrCallback === 'function' ? optionsOrCallback : callback;
    return settle(archives.startArchive(this.#rest, this.apiKey, sessionId, options), done);
  }

  /** Stops recording an archive; it becomes available once its file is made. */
  stopArchive(archiveId: string): Promise<Archive>;
  stopArchive(archiveId: string, callback: Callback<Archive>): void;
  stopArchive(archiveId: string, callback?: Callback<Archive>): Promise<Archive> | void {
    return settle(archives.stopArchive(this.#rest, this.apiKey, archiveId), callback);
  }

  getArchive(archiveId: string): Promise<Archive>;
  getArchive(archiveId: string, callback: Callback<Archive>): void;
  getArchive(archiveId: string, callback?: Callback<Archive>): Promise<Archive> | void {
    return settle(archives.getArchive(this.#rest, this.apiKey, archiveId), callback);
  }

  /**
   * The project's archives, newest first. With a callback, calls it as `(error, archives,
   * totalCount)` as opentok does; without, returns a promise of `{archives, totalCount}`.
   */
  listArchives(options?: ListArchivesOptions): Promise<ArchiveList>;
  listArchives(callback: (error: Error | null, archives?: Archive[], totalCount?: number) => void): void;
  listArchives(
    options: ListArchivesOptions,
    callback: (error: Error | null, archives?: Archive[], totalCount?: number) => void,
  ): void;
  listArchives(
    optionsOrCallback?:
      ListArchivesOptions | ((error: Error | null, archives?: Archive[], totalCount?: number) => void),
    callback?: (error: Error | null, archives?: Archive[], totalCount?: number) => void,
  ): Promise<ArchiveList> | void {
    const options = typeof optionsOrCallback === 'function' ? {} : optionsOrCallback;
    const done = typeof optionsOrCallback === 'function' ? optionsOrCallback : callback;
    const listed = archives.listArchives(this.#rest, this.apiKey, options);
    if (!done) return listed;
    void settle(listed, (error, list) => {
      done(error, list?.archives, list?.totalCount);
    });
  }

  /** Deletes an available archive and its file. */
  deleteArchive(archiveId: string): Promise<void>;
  deleteArchive(archiveId: string, callback: Callback<void>): void;
  deleteArchive(archiveId: string, callback?: Callback<void>): Promise<void> | void {
    return settle(archives.deleteArchive(this.#rest, this.apiKey, archiveId), callback);
  }

  /** Adds a stream to an archive in manual stream mode (again, to change its tracks). */
  addArchiveStream(
    archiveId: string,
    streamId: string,
    options?: { hasAudio?: boolean; hasVideo?: boolean },
  ): Promise<void>;
  addArchiveStream(
    archiveId: string,
    streamId: string,
    options: { hasAudio?: boolean; hasVideo?: boolean },
    callback: Callback<void>,
  ): void;
  addArchiveStream(
    archiveId: string,
    streamId: string,
    options: { hasAudio?: boolean; hasVideo?: boolean } = {},
    callback?: Callback<void>,
  ): Promise<void> | void {
    return settle(archives.addArchiveStream(this.#rest, this.apiKey, archiveId, streamId, options), callback);
  }

  removeArchiveStream(archiveId: string, streamId: string): Promise<void>;
  removeArchiveStream(archiveId: string, streamId: string, callback: Callback<void>): void;
  removeArchiveStream(archiveId: string, streamId: string, callback?: Callback<void>): Promise<void> | void {
    return settle(archives.removeArchiveStream(this.#rest, this.apiKey, archiveId, streamId), callback);
  }

  /** Changes a recording composed archive's layout from now on. */
  setArchiveLayout(archiveId: string, layout: ArchiveLayout): Promise<void>;
  setArchiveLayout(archiveId: string, layout: ArchiveLayout, callback: Callback<void>): void;
  setArchiveLayout(
    archiveId: string,
    layout: ArchiveLayout,
    callback?: Callback<void>,
  ): Promise<void> | void {
    return settle(archives.setArchiveLayout(this.#rest, this.apiKey, archiveId, layout), callback);
  }

  async #createSession(options: SessionOptions): Promise<Session> {
    const settings = {
      ...options,
      mediaMode: options.mediaMode ?? 'relayed',
      archiveMode: options.archiveMode ?? 'manual',
      e2ee: options.e2ee ?? false,
    };
    validateSessionOptions(settings);
    const form: Record<string, string> = {
      'p2p.preference': settings.mediaMode === 'routed' ? 'disabled' : 'enabled',
      archiveMode: settings.archiveMode,
      e2ee: settings.e2ee ? 'true' : 'false',
    };
    if (settings.location !== undefined) form.location = settings.location;
    if (settings.archiveName !== undefined) form.archiveName = settings.archiveName;
    if (settings.archiveResolution !== undefined) form.archiveResolution = settings.archiveResolution;

    const answer = await this.#rest.send({ method: 'POST', path: '/session/create', form });
    const sessionId = Array.isArray(answer)
      ? (answer[0] as { session_id?: unknown } | undefined)?.session_id
      : undefined;
    if (typeof sessionId !== 'string') {
      throw new RequestError(`Unexpected response from the server: ${JSON.stringify(answer)}`);
    }
    return new Session(sessionId, settings, (id, tokenOptions) => this.generateToken(id, tokenOptions));
  }
}

function validateSessionOptions(
  settings: Required<Pick<SessionOptions, 'mediaMode' | 'archiveMode' | 'e2ee'>> & SessionOptions,
): void {
  if (!(mediaModes as readonly string[]).includes(settings.mediaMode)) {
    throw new ArgumentError(`Invalid mediaMode: ${settings.mediaMode}`);
  }
  if (!(archiveModes as readonly string[]).includes(settings.archiveMode)) {
    throw new ArgumentError(`Invalid archiveMode: ${settings.archiveMode}`);
  }
  if (settings.archiveMode === 'always' && settings.mediaMode !== 'routed') {
    throw new ArgumentError('A session with always archive mode must also have the routed media mode.');
  }
  if (settings.location !== undefined && isIP(settings.location) !== 4) {
    throw new ArgumentError('Invalid arguments when calling createSession, location must be an IPv4 address');
  }
  if (settings.e2ee && (settings.mediaMode !== 'routed' || settings.archiveMode === 'always')) {
    throw new ArgumentError('End-to-end encryption needs the routed media mode and manual archiving.');
  }
  if (
    settings.archiveResolution !== undefined &&
    !(archiveResolutions as readonly string[]).includes(settings.archiveResolution)
  ) {
    throw new ArgumentError(`Invalid archiveResolution: ${settings.archiveResolution}`);
  }
}
