import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startTestServer, type TestServer, type TestServerOptions } from '@parlor/server/testing';
import type {
  Connection,
  OTNamespace,
  Publisher,
  PublisherProperties,
  Session,
  SessionOptions,
  Subscriber,
} from '@parlor/client';

export interface ChromiumOptions {
  /** The browser's executable, e.g. a script that runs Chromium in a network namespace. Default: Debian's. */
  readonly executablePath?: string;
  /** Further command-line switches. Default: none. */
  readonly args?: readonly string[];
}

/** Debian's Chromium, headless, with a fake camera and microphone and loopback ICE candidates. */
export function launchChromium(options: ChromiumOptions = {}): Promise<Browser> {
  return chromium.launch({
    executablePath: options.executablePath ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--use-fake-device-for-media-stream',
      '--use-fake-ui-for-media-stream',
      '--allow-loopback-in-peer-connection',
      '--disable-features=WebRtcHideLocalIpsWithMdns',
      ...(options.args ?? []),
    ],
  });
}

/** A web app on its own origin: one empty page that loads the SDK from Parlor by script tag. */
export interface AppOrigin {
  readonly url: string;
  close(): Promise<void>;
}

/** Serves the app on `host` (default 127.0.0.1), on a free port. */
export async function startAppOrigin(parlorUrl: string, host = '127.0.0.1'): Promise<AppOrigin> {
  const page = `<!doctype html><html><head><meta charset="utf-8"><title>app</title>
<script src="${parlorUrl}/v2/js/opentok.js"></script></head><body></body></html>`;
  const server = createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(page);
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}/`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => {
          if (error) reject(error);
          else resolve();
        });
      }),
  };
}

/**
 * A page in a context of its own (its own permissions and storage), whose errors are printed.
 * tsx compiles the functions given to `page.evaluate` with esbuild's `keepNames`, which calls a
 * `__name` helper that pages lack: an identity function stands in.
 */
export async function newPage(browser: Browser): Promise<Page> {
  const page = await browser.newPage();
  await page.addInitScript({ content: 'globalThis.__name = (target) => target;' });
  // Keeps the page's WebSockets within reach, so that a test can drop the signaling link.
  await page.addInitScript({
    content: `globalThis.sockets = [];
      globalThis.WebSocket = class extends WebSocket {
        constructor(...args) { super(...args); globalThis.sockets.push(this); }
      };`,
  });
  page.on('pageerror', (error) => {
    console.error(`page error: ${error.message}`);
  });
  return page;
}

/** What a participant's page recorded: every event the test looks at, in order. */
export interface RecordedEvent {
  readonly target: 'session' | 'publisher' | 'subscriber' | 'OT';
  readonly type: string;
  readonly reason?: string;
  readonly connectionId?: string;
  readonly streamId?: string;
  readonly data?: string;
  /** The signal event's own `type`. */
  readonly signalType?: string;
  readonly from?: string | null;
  readonly code?: number;
  readonly name?: string;
  /** A `streamPropertyChanged` event's property and new value. */
  readonly property?: string;
  readonly value?: unknown;
  /** An `archiveStarted` or `archiveStopped` event's archive. */
  readonly archiveId?: string;
  /** When the page got a subscriber's video event, Unix ms: the test host's clock. */
  readonly atMs?: number;
}

/** The page side of a participant, installed by `openBrowserPeer`. */
interface Participant {
  readonly session: Session;
  readonly events: RecordedEvent[];
  /** The other connections, by ID, as `connectionCreated` handed them. */
  readonly connections: Map<string, Connection>;
  /** Subscribers by stream ID: the participant subscribes to every stream it is told of. */
  readonly subscribers: Map<string, Subscriber>;
  publisher: Publisher | null;
}

declare global {
  interface Window {
    OT: OTNamespace;
    participant: Participant;
    /** Every WebSocket the page opened, oldest first. */
    sockets: WebSocket[];
  }
}

/** Counters of a subscriber's peer connection that prove media is decoded and heard. */
export interface MediaCounters {
  readonly framesDecoded: number;
  readonly videoWidth: number;
  /** Video packets received, and those its browser counts lost (never received, even resent). */
  readonly videoPackets: number;
  readonly videoPacketsLost: number;
  readonly audioPackets: number;
  readonly audioBytes: number;
  readonly audioEnergy: number;
}

/** One participant: a page of the app origin with the SDK, driven by the test. */
export class BrowserPeer {
  readonly page: Page;

  private constructor(page: Page) {
    this.page = page;
  }

  /** The connection's ID, once connected. */
  connectionId(): Promise<string> {
    return this.page.evaluate(() => window.participant.session.connection?.connectionId ?? '');
  }

  /** Joins the session; resolves with the error name and code, or null on success. */
  async connect(token: string): Promise<{ name: string; code: number } | null> {
    return this.page.evaluate(
      (token) =>
        new Promise<{ name: string; code: number } | null>((resolve) => {
          window.participant.session.connect(token, (error) => {
            resolve(error ? { name: error.name, code: error.code } : null);
          });
        }),
      token,
    );
  }

  /** Publishes the fake camera and microphone; resolves with the error, or null once the stream is live. */
  async publish(properties: PublisherProperties = {}): Promise<{ name: string; code: number } | null> {
    return this.page.evaluate(
      (properties) =>
        new Promise<{ name: string; code: number } | null>((resolve) => {
          const { participant } = window;
          const publisher = window.OT.initPublisher(undefined, { insertMode: 'append', ...properties });
          participant.publisher = publisher;
          for (const type of ['streamCreated', 'streamDestroyed'] as const) {
            publisher.on(type, (event) => {
              participant.events.push({
                target: 'publisher',
                type,
                streamId: event.stream.streamId,
                ...('reason' in event ? { reason: event.reason } : {}),
              });
            });
          }
          publisher.on('muteForced', () => {
            participant.events.push({ target: 'publisher', type: 'muteForced' });
          });
          // Publisher audio fallback.
          for (const type of [
            'videoDisableWarning',
            'videoDisableWarningLifted',
            'videoDisabled',
            'videoEnabled',
          ] as const) {
            publisher.on(type, (event) => {
              participant.events.push({
                target: 'publisher',
                type,
                ...('reason' in event ? { reason: event.reason } : {}),
              });
            });
          }
          participant.session.publish(publisher, (error) => {
            resolve(error ? { name: error.name, code: error.code } : null);
          });
        }),
      properties,
    );
  }

  /** Subscribes to the page's own stream (routed sessions), its counters kept under `self`. */
  subscribeToSelf(): Promise<void> {
    return this.page.evaluate(() => {
      const { participant } = window;
      const stream = participant.publisher?.stream;
      if (!stream) throw new Error('not publishing');
      participant.subscribers.set(
        'self',
        participant.session.subscribe(stream, undefined, { insertMode: 'append' }),
      );
    });
  }

  /** Drops the signaling socket as a network failure would (a close code that is not "normal"). */
  dropSignaling(): Promise<void> {
    return this.page.evaluate(() => {
      window.sockets.at(-1)?.close(4000, 'test: link lost');
    });
  }

  /** The own stream's ID, while publishing. */
  streamId(): Promise<string> {
    return this.page.evaluate(() => window.participant.publisher?.stream?.streamId ?? '');
  }

  /** The events recorded so far. */
  events(): Promise<RecordedEvent[]> {
    return this.page.evaluate(() => [...window.participant.events]);
  }

  /** Waits until an event matching every given field has been recorded; returns it. */
  async waitForEvent(match: Partial<RecordedEvent>, timeout = 15_000): Promise<RecordedEvent> {
    const handle = await this.page.waitForFunction(
      (match) =>
        window.participant.events.find((event) =>
          Object.entries(match).every(([key, value]) => event[key as keyof RecordedEvent] === value),
        ),
      match,
      { timeout, polling: 50 },
    );
    return (await handle.jsonValue()) as RecordedEvent;
  }

  /** Counts the recorded events of a type (on the session unless said otherwise). */
  async count(type: string, target: RecordedEvent['target'] = 'session'): Promise<number> {
    const events = await this.events();
    return events.filter((event) => event.type === type && event.target === target).length;
  }

  /** The media counters of the subscriber to a stream (zeros before media arrives). */
  mediaCounters(streamId: string): Promise<MediaCounters> {
    return this.page.evaluate(async (streamId) => {
      const counters = {
        framesDecoded: 0,
        videoWidth: 0,
        videoPackets: 0,
        videoPacketsLost: 0,
        audioPackets: 0,
        audioBytes: 0,
        audioEnergy: 0,
      };
      const subscriber = window.participant.subscribers.get(streamId);
      if (!subscriber) return counters;
      counters.videoWidth = subscriber.videoWidth();
      const report = await subscriber.getRtcStatsReport().catch(() => null);
      report?.forEach((entry: RTCStats & Record<string, unknown>) => {
        if (entry.type !== 'inbound-rtp') return;
        if (entry.kind === 'video') {
          counters.framesDecoded += Number(entry.framesDecoded ?? 0);
          counters.videoPackets += Number(entry.packetsReceived ?? 0);
          counters.videoPacketsLost += Number(entry.packetsLost ?? 0);
        }
        if (entry.kind === 'audio') {
          counters.audioPackets += Number(entry.packetsReceived ?? 0);
          counters.audioBytes += Number(entry.bytesReceived ?? 0);
          counters.audioEnergy += Number(entry.totalAudioEnergy ?? 0);
        }
      });
      return counters;
    }, streamId);
  }

  /** Resolves once video frames are decoded at a real size and audio with energy arrives, all rising. */
  async expectMediaFlowing(streamId: string, timeoutMs = 20_000): Promise<MediaCounters> {
    const deadline = Date.now() + timeoutMs;
    let first: MediaCounters | null = null;
    let last = await this.mediaCounters(streamId);
    while (Date.now() < deadline) {
      if (first === null && last.framesDecoded > 0 && last.audioPackets > 0) first = last;
      if (
        first &&
        last.videoWidth > 0 &&
        last.framesDecoded > first.framesDecoded &&
        last.audioPackets > first.audioPackets &&
        last.audioBytes > first.audioBytes &&
        last.audioEnergy > first.audioEnergy &&
        last.audioEnergy > 0
      ) {
        return last;
      }
      await this.page.waitForTimeout(200);
      last = await this.mediaCounters(streamId);
    }
    throw new Error(
      `media of ${streamId} is not flowing: first ${JSON.stringify(first)}, last ${JSON.stringify(last)}`,
    );
  }

  /**
   * The candidate types (`host`, `srflx`, `prflx`, `relay`) of the selected pair of the
   * subscriber to a stream: this side's, then the other's; null before a pair is selected.
   */
  selectedCandidateTypes(
    streamId: string,
  ): Promise<{ local: string; remote: string; protocol: string } | null> {
    return this.page.evaluate(async (streamId) => {
      const report = await window.participant.subscribers.get(streamId)?.getRtcStatsReport();
      if (!report) return null;
      const byId = new Map<string, RTCStats & Record<string, unknown>>();
      report.forEach((entry: RTCStats & Record<string, unknown>) => byId.set(entry.id, entry));
      const transport = [...byId.values()].find((entry) => entry.type === 'transport');
      const pair = byId.get(String(transport?.selectedCandidatePairId));
      const local = byId.get(String(pair?.localCandidateId));
      const remote = byId.get(String(pair?.remoteCandidateId));
      if (!local || !remote) return null;
      return {
        local: String(local.candidateType),
        remote: String(remote.candidateType),
        protocol: String(local.protocol),
      };
    }, streamId);
  }

  /** Opens a page of the app origin and sets up a session object that records its events. */
  static async open(
    browser: Browser,
    appUrl: string,
    apiKey: string,
    sessionId: string,
    sessionOptions: SessionOptions = {},
  ): Promise<BrowserPeer> {
    const page = await newPage(browser);
    await page.goto(appUrl);
    await page.evaluate(
      ({ apiKey, sessionId, sessionOptions }) => {
        const events: RecordedEvent[] = [];
        const subscribers = new Map<string, Subscriber>();
        const session = window.OT.initSession(apiKey, sessionId, sessionOptions);
        const connections = new Map<string, Connection>();
        const participant: Participant = { session, events, connections, subscribers, publisher: null };
        window.participant = participant;
        window.OT.on('exception', (event) => {
          events.push({ target: 'OT', type: 'exception', code: event.code });
        });
        session.on({
          sessionConnected: () => events.push({ target: 'session', type: 'sessionConnected' }),
          archiveStarted: (event) =>
            events.push({ target: 'session', type: 'archiveStarted', archiveId: event.id, name: event.name }),
          archiveStopped: (event) =>
            events.push({ target: 'session', type: 'archiveStopped', archiveId: event.id }),
          sessionReconnecting: () => events.push({ target: 'session', type: 'sessionReconnecting' }),
          sessionReconnected: () => events.push({ target: 'session', type: 'sessionReconnected' }),
          sessionDisconnected: (event) =>
            events.push({ target: 'session', type: 'sessionDisconnected', reason: event.reason }),
          connectionCreated: (event) => {
            connections.set(event.connection.connectionId, event.connection);
            events.push({
              target: 'session',
              type: 'connectionCreated',
              connectionId: event.connection.connectionId,
            });
          },
          connectionDestroyed: (event) =>
            events.push({
              target: 'session',
              type: 'connectionDestroyed',
              connectionId: event.connection.connectionId,
              reason: event.reason,
            }),
          streamCreated: (event) => {
            events.push({ target: 'session', type: 'streamCreated', streamId: event.stream.streamId });
            const { streamId } = event.stream;
            const subscriber = session.subscribe(event.stream, undefined, { insertMode: 'append' });
            subscribers.set(streamId, subscriber);
            for (const type of ['videoDisabled', 'videoEnabled'] as const) {
              subscriber.on(type, ({ reason }) => {
                events.push({ target: 'subscriber', type, streamId, reason, atMs: Date.now() });
              });
            }
            for (const type of [
              'videoDisableWarning',
              'videoDisableWarningLifted',
              'encryptionSecretMatch',
              'encryptionSecretMismatch',
            ] as const) {
              subscriber.on(type, () => {
                events.push({ target: 'subscriber', type, streamId, atMs: Date.now() });
              });
            }
            subscriber.on('qualityScoreChanged', ({ qualityScore }) => {
              events.push({
                target: 'subscriber',
                type: 'qualityScoreChanged',
                streamId,
                value: qualityScore,
                atMs: Date.now(),
              });
            });
            subscriber.on('videoDimensionsChanged', ({ newValue }) => {
              events.push({
                target: 'subscriber',
                type: 'videoDimensionsChanged',
                streamId,
                value: newValue,
              });
            });
          },
          streamPropertyChanged: (event) =>
            events.push({
              target: 'session',
              type: 'streamPropertyChanged',
              streamId: event.stream.streamId,
              property: event.changedProperty,
              value: event.newValue,
            }),
          streamDestroyed: (event) =>
            events.push({
              target: 'session',
              type: 'streamDestroyed',
              streamId: event.stream.streamId,
              reason: event.reason,
            }),
          signal: (event) =>
            events.push({
              target: 'session',
              type: 'signal',
              signalType: event.type,
              data: event.data,
              from: event.from?.connectionId ?? null,
            }),
        });
        session.on('signal:greeting', (event) => {
          events.push({
            target: 'session',
            type: 'signal:greeting',
            signalType: event.type,
            data: event.data,
            from: event.from?.connectionId ?? null,
          });
        });
      },
      { apiKey, sessionId, sessionOptions },
    );
    return new BrowserPeer(page);
  }
}

/** Opens a participant's page (one page per participant; share one browser across tests). */
export function openBrowserPeer(
  browser: Browser,
  appUrl: string,
  apiKey: string,
  sessionId: string,
  sessionOptions: SessionOptions = {},
): Promise<BrowserPeer> {
  return BrowserPeer.open(browser, appUrl, apiKey, sessionId, sessionOptions);
}

/** Small, cheap video: several pages encode and decode at once on two cores. */
export const lightVideo = { resolution: '320x240', frameRate: 15 } as const;

/** What a browser test file runs against: a Parlor, a page origin of its own, and Chromium. */
export interface BrowserTestBed {
  readonly parlor: TestServer;
  readonly app: AppOrigin;
  readonly browser: Browser;
  close(): Promise<void>;
}

export async function startBrowserTestBed(options: TestServerOptions = {}): Promise<BrowserTestBed> {
  const parlor = await startTestServer(options);
  const app = await startAppOrigin(parlor.url);
  const browser = await launchChromium();
  return {
    parlor,
    app,
    browser,
    close: async () => {
      await browser.close();
      await app.close();
      await parlor.dispose();
    },
  };
}
