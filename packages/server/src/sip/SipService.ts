import { createHash, randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import type { Logger } from 'pino';
import sip, { type SipMessage } from 'sip';
import { ParlorError } from '@parlor/protocol';
import type { ClientTokenVerifier, VerifiedToken } from '../auth/ClientTokenVerifier.js';
import { TokenError } from '../auth/TokenError.js';
import type { SessionService } from '../sessions/SessionService.js';
import type { SessionRecord } from '../store/SessionRepository.js';
import type { RoomRegistry } from '../signaling/RoomRegistry.js';
import type { RoomConnection } from '../signaling/RoomConnection.js';
import type { SessionRoom } from '../signaling/SessionRoom.js';
import { TypedEmitter } from '../TypedEmitter.js';
import { createTranscoder } from './audioCodecs.js';
import { CallMedia } from './CallMedia.js';
import type { DialRequest } from './dialRequest.js';
import { hostPart, SipCall, type SipCallState } from './SipCall.js';
import { SipParticipant } from './SipParticipant.js';
import { SipStack, type SipTlsListener } from './SipStack.js';

export interface SipSettings {
  /** The address the SIP and RTP sockets bind. */
  readonly host: string;
  /** The SIP port (UDP and TCP). */
  readonly port: number;
  /** The address Contact headers and SDP announce. */
  readonly advertisedAddress: string;
  /** A PEM CA certificate trusted for far ends' TLS certificates besides the system's; null for none. */
  readonly tlsCa: string | null;
  /** Where far ends may open TLS connections to us; null for none. */
  readonly tls: SipTlsListener | null;
  /** RTP ports of calls, first and last; [0, 0] for any free port. */
  readonly rtpPorts: readonly [number, number];
  /** How long the far end may ring before the call is given up, ms. */
  readonly ringTimeoutMs: number;
  /** Longest call, ms. Default in config: 6 hours, as OpenTok's. */
  readonly maxDurationMs: number;
  /** Longest time without media from the far end, ms. Default in config: 5 minutes. */
  readonly inactivityMs: number;
  /** Calls in progress at once, at most (each holds an RTP socket, peers and codecs). */
  readonly maxCalls: number;
  /** Calls in progress in one session at once, at most. */
  readonly maxCallsPerSession: number;
}

export interface SipServiceOptions {
  /** Null when SIP is off: `dial` then refuses with SIP_UNAVAILABLE. */
  readonly settings: SipSettings | null;
  readonly sessions: SessionService;
  readonly tokens: ClientTokenVerifier;
  readonly rooms: RoomRegistry;
  /**
   * Whether a SIP connection may join the session on this node: null at once, or a promise that
   * rejects with the reason (a cluster's check that this node hosts the session). Default: always.
   */
  readonly admit?: (sessionId: string) => Promise<void> | null;
  readonly logger: Logger;
}

/** What `dial` answers (contracts/server-api.md §9.2). */
export interface DialResult {
  readonly id: string;
  readonly connectionId: string;
  readonly streamId: string;
}

/** A call as the SIP callbacks describe it. */
export interface SipCallInfo {
  readonly id: string;
  readonly apiKey: string;
  readonly sessionId: string;
  readonly connectionId: string;
  readonly createdAt: number;
}

export interface SipServiceEvents {
  callCreated: [call: SipCallInfo];
  callUpdated: [call: SipCallInfo, state: Exclude<SipCallState, 'ended'>];
  callDestroyed: [call: SipCallInfo, code: number, message: string];
  muteForced: [call: SipCallInfo];
}

/** What the gateway holds for its calls, ended calls included until they let go of everything. */
export interface SipResources {
  /** Calls whose RTP socket, timers or router peers are not all released yet. */
  readonly calls: number;
  /** The calls' RTP sockets. */
  readonly rtpSockets: number;
  /** The calls' pending timers (dialog and media). */
  readonly timers: number;
  /** The SIP parties' peer connections to the Media Router, those being made included. */
  readonly routerPeers: number;
  /**
   * Connections to far ends (connected UDP sockets, TLS), shared by the calls to one far end and
   * closed after 2 minutes without traffic: not a call's own.
   */
  readonly flows: number;
}

/** One call's parts that hold sockets and timers. */
interface CallParts {
  readonly call: SipCall;
  readonly media: CallMedia;
  readonly participant: SipParticipant;
}

interface LiveCall {
  readonly info: SipCallInfo;
  readonly call: SipCall;
}

/**
 * SIP interconnect: dials SIP endpoints into routed sessions. One SIP stack (UDP and TCP on one
 * port) carries every call's transactions; each call is a `SipCall` (the dialog), a `CallMedia`
 * (RTP to the far end) and a `SipParticipant` (its connection and stream in the room).
 */
export class SipService extends TypedEmitter<SipServiceEvents> {
  readonly #options: SipServiceOptions;
  readonly #logger: Logger;
  readonly #stack: SipStack | null;
  readonly #calls = new Map<string, LiveCall>();
  /** Every call's parts, from its dial until they released everything (read by `resources`). */
  readonly #parts = new Set<CallParts>();
  /** Dials waiting for the store or their RTP socket, by session, counted against the limits too. */
  readonly #opening = new Map<string, number>();
  #closed = false;

  private constructor(options: SipServiceOptions, stack: SipStack | null) {
    super();
    this.#options = options;
    this.#logger = options.logger.child({ component: 'sip' });
    this.#stack = stack;
  }

  /** Starts the SIP stack (when settings are given); fails when its port is taken. */
  static async start(options: SipServiceOptions): Promise<SipService> {
    const { settings } = options;
    if (!settings) return new SipService(options, null);
    // The stack's own socket has no error handler: a taken port is found here first.
    await assertUdpPortFree(settings.host, settings.port);
    let onRequest: ((request: SipMessage) => void) | null = null;
    const stack = new SipStack({
      host: settings.host,
      port: settings.port,
      advertisedAddress: hostPart(settings.advertisedAddress),
      tlsCa: settings.tlsCa,
      tls: settings.tls,
      onRequest: (request) => {
        onRequest?.(request);
      },
      onError: (error) => {
        options.logger.debug({ err: error }, 'sip stack error');
      },
    });
    try {
      await stack.listen();
    } catch (error) {
      stack.destroy();
      throw error;
    }
    const service = new SipService(options, stack);
    onRequest = (request) => {
      service.#onRequest(request);
    };
    options.logger.info(
      { host: settings.host, port: settings.port, tlsPort: settings.tls?.port ?? null },
      'SIP interconnect listening',
    );
    return service;
  }

  get enabled(): boolean {
    return this.#stack !== null;
  }

  /** Calls in progress. */
  get calls(): SipCallInfo[] {
    return [...this.#calls.values()].map((live) => live.info);
  }

  /**
   * What the calls hold now. A call hung up before any provisional response keeps one timer for
   * 5 s after it ended (its CANCEL waits for one); its router peers close asynchronously.
   */
  get resources(): SipResources {
    this.#forgetReleasedParts();
    let rtpSockets = 0;
    let timers = 0;
    let routerPeers = 0;
    for (const { call, media, participant } of this.#parts) {
      rtpSockets += media.resources.sockets;
      timers += media.resources.timers + call.pendingTimers;
      routerPeers += participant.routerPeers;
    }
    return { calls: this.#parts.size, rtpSockets, timers, routerPeers, flows: this.#stack?.flows ?? 0 };
  }

  /**
   * Joins a SIP connection and its stream to the session at once, then dials; the call's
   * progress comes as events. 400 for a bad token, 404 for an unknown session, 409 relayed.
   */
  async dial(apiKey: string, request: DialRequest): Promise<DialResult> {
    const settings = this.#options.settings;
    const stack = this.#stack;
    if (!settings || !stack || this.#closed) throw new ParlorError('SIP_UNAVAILABLE');
    this.#admitCall(request.sessionId, settings);
    // Counted from here: dials that wait for the store or the RTP ports count toward the limits.
    this.#opening.set(request.sessionId, (this.#opening.get(request.sessionId) ?? 0) + 1);
    let session: SessionRecord;
    let token: VerifiedToken;
    let media: CallMedia;
    const srtpKey = request.secure ? randomBytes(30) : null;
    try {
      session = await this.#options.sessions.get(apiKey, request.sessionId);
      if (session.mediaMode !== 'routed') throw new ParlorError('SIP_SESSION_NOT_ROUTED');
      try {
        token = await this.#options.tokens.verify(request.token);
      } catch (error) {
        if (error instanceof TokenError || error instanceof ParlorError)
          throw new ParlorError('INVALID_REQUEST', `token: ${error.message}`);
        throw error;
      }
      if (token.apiKey !== apiKey || token.sessionId !== request.sessionId)
        throw new ParlorError('INVALID_REQUEST', 'token: it is for another session');
      await this.#options.admit?.(session.sessionId);
      media = await CallMedia.open({
        host: settings.host,
        ports: settings.rtpPorts,
        nextFrame: (samples) => participant.nextFrame(samples),
        srtpKey,
      });
    } finally {
      const opening = (this.#opening.get(request.sessionId) ?? 1) - 1;
      if (opening === 0) this.#opening.delete(request.sessionId);
      else this.#opening.set(request.sessionId, opening);
    }
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- close() may have run during the await
    if (this.#closed) {
      media.close();
      throw new ParlorError('SIP_UNAVAILABLE');
    }
    const participant: SipParticipant = new SipParticipant({
      // The router may announce a loopback address (the default), which werift does not gather.
      peers: { extraHostAddress: '127.0.0.1', logger: this.#logger },
      streams: request.streams,
      onMuteForced: () => {
        onMuteForced();
      },
      logger: this.#logger,
    });
    const tokenKey = createHash('sha256').update(request.token).digest('base64url');
    let joined: { room: SessionRoom; connection: RoomConnection };
    try {
      joined = this.#options.rooms.join(session, token, tokenKey, participant.sink);
    } catch (error) {
      media.close();
      throw error;
    }
    const { room, connection } = joined;
    let streamId: string;
    try {
      streamId = participant.start(room, connection, request.from ?? '').streamId;
    } catch (error) {
      participant.close();
      media.close();
      connection.close('clientDisconnected');
      throw error;
    }
    const call = new SipCall({
      stack,
      local: {
        address: settings.advertisedAddress,
        port: settings.port,
        tlsPort: settings.tls?.port ?? null,
      },
      target: request.uri,
      from: fromUri(request.from, settings.advertisedAddress),
      headers: request.headers,
      auth: request.auth,
      media,
      srtpKey,
      ringTimeoutMs: settings.ringTimeoutMs,
      maxDurationMs: settings.maxDurationMs,
      inactivityMs: settings.inactivityMs,
      logger: this.#logger.child({ sessionId: session.sessionId, connectionId: connection.id }),
    });
    const info: SipCallInfo = {
      id: call.callId,
      apiKey,
      sessionId: session.sessionId,
      connectionId: connection.id,
      createdAt: Date.now(),
    };
    this.#calls.set(call.callId, { info, call });
    this.#forgetReleasedParts();
    this.#parts.add({ call, media, participant });
    let muted = false;
    const setMuted = (value: boolean): void => {
      muted = value;
      participant.setMuted(value);
      if (!room.closed && !connection.closed) room.updateStream(connection, { streamId, hasAudio: !value });
    };
    const onMuteForced = (): void => {
      if (!request.observeForceMute) return;
      participant.setMuted(true);
      muted = true;
      this.safeEmit('muteForced', info);
    };
    let lastDigit = '';
    media.on('audio', (samples) => {
      participant.publishAudio(samples);
    });
    media.on('digit', (digit) => {
      participant.signal('sip:dtmf', digit);
      if (request.observeForceMute && lastDigit === '*' && digit === '6') setMuted(!muted);
      lastDigit = digit;
    });
    call.on('answered', (answer) => {
      participant.setRate(createTranscoder(answer.codec).sampleRate);
    });
    call.on('state', (state) => {
      this.safeEmit('callUpdated', info, state);
    });
    call.on('ended', (code, message) => {
      this.#calls.delete(call.callId);
      participant.close();
      if (!connection.closed) connection.close('clientDisconnected');
      this.safeEmit('callDestroyed', info, code, message);
    });
    // Force disconnect of the SIP connection, or the room closing, hangs up.
    connection.on('close', () => {
      call.hangUp();
    });
    connection.on('roomClose', () => {
      call.hangUp();
    });
    this.safeEmit('callCreated', info);
    this.safeEmit('callUpdated', info, 'dialing');
    call.dial();
    return { id: call.callId, connectionId: connection.id, streamId };
  }

  /**
   * Plays DTMF digits into the session's calls, or into the call of one SIP connection
   * (SIP_CALL_NOT_FOUND when that connection is no SIP call).
   */
  async playDtmf(
    apiKey: string,
    sessionId: string,
    connectionId: string | null,
    digits: string,
  ): Promise<void> {
    await this.#options.sessions.get(apiKey, sessionId);
    const calls = [...this.#calls.values()].filter(
      (live) =>
        live.info.apiKey === apiKey &&
        live.info.sessionId === sessionId &&
        (connectionId === null || live.info.connectionId === connectionId),
    );
    if (connectionId !== null && calls.length === 0)
      throw new ParlorError('SIP_CALL_NOT_FOUND', connectionId);
    for (const live of calls) live.call.playDigits(digits);
  }

  /** Hangs up every call and stops the stack; idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const live of [...this.#calls.values()]) live.call.hangUp(700, 'The server is shutting down');
    // Lets the BYEs and CANCELs leave before the sockets close.
    const stack = this.#stack;
    if (stack)
      setTimeout(() => {
        stack.destroy();
      }, 200).unref();
  }

  /** Drops the parts of ended calls that hold nothing; run at each dial, so at most the calls of the last dial stay. */
  #forgetReleasedParts(): void {
    for (const parts of this.#parts) {
      const { call, media, participant } = parts;
      const { sockets, timers } = media.resources;
      if (call.state === 'ended' && sockets + timers + call.pendingTimers + participant.routerPeers === 0)
        this.#parts.delete(parts);
    }
  }

  /** Refuses a dial past the node's or the session's limit of calls in progress. */
  #admitCall(sessionId: string, settings: SipSettings): void {
    let opening = 0;
    for (const count of this.#opening.values()) opening += count;
    if (this.#calls.size + opening >= settings.maxCalls)
      throw new ParlorError('SIP_CALL_LIMIT', `${settings.maxCalls}`);
    let inSession = this.#opening.get(sessionId) ?? 0;
    for (const live of this.#calls.values()) if (live.info.sessionId === sessionId) inSession += 1;
    if (inSession >= settings.maxCallsPerSession)
      throw new ParlorError('SIP_SESSION_CALL_LIMIT', `${settings.maxCallsPerSession}`);
  }

  #onRequest(request: SipMessage): void {
    const stack = this.#stack;
    if (!stack) return;
    const live = this.#calls.get(request.headers['call-id'] ?? '');
    if (!live) {
      if (request.method !== 'ACK')
        stack.send(sip.makeResponse(request, 481, 'Call/Transaction Does Not Exist'));
      return;
    }
    const response = live.call.receive(request);
    if (response) stack.send(response);
  }
}

/** The From URI: a user part gets the advertised address as its host. */
function fromUri(from: string | null, advertisedAddress: string): string {
  if (from === null) return `sip:parlor@${hostPart(advertisedAddress)}`;
  return from.includes('@') ? `sip:${from}` : `sip:${from}@${hostPart(advertisedAddress)}`;
}

async function assertUdpPortFree(host: string, port: number): Promise<void> {
  const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(port, host, () => {
        resolve();
      });
    });
  } finally {
    socket.close();
  }
}
