import { randomBytes, randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import sip, { type NameAddr, type SipMessage } from 'sip';
import digest from 'sip/digest.js';
import { TypedEmitter } from '../TypedEmitter.js';
import { answerDirection, callOffer, readCallAnswer, type CallAnswer } from './callSdp.js';
import type { CallMedia } from './CallMedia.js';
import { CallTimers } from './CallTimers.js';
import type { SipStack } from './SipStack.js';

/** A call's state, as the SIP callbacks name it (lower case here). */
export type SipCallState = 'dialing' | 'ringing' | 'active' | 'onHold' | 'ended';

export interface SipCallEvents {
  /** Every state change but the end. */
  state: [state: Exclude<SipCallState, 'ended'>];
  /** The far end answered: media flows with this codec. */
  answered: [answer: CallAnswer];
  /** The call ended: a SIP status, or 700 normal clearing, 703 unexpected, 705 maximum duration, 706 no media. */
  ended: [code: number, message: string];
}

/** Where the SIP stack listens: what Contact and SDP announce. */
export interface SipEndpoint {
  readonly address: string;
  /** UDP and TCP. */
  readonly port: number;
  /** TLS, or null when we take no TLS connections. */
  readonly tlsPort: number | null;
}

export interface SipCallOptions {
  readonly stack: SipStack;
  readonly local: SipEndpoint;
  /** The `sip:` or `sips:` URI dialled. */
  readonly target: string;
  /** The From URI. */
  readonly from: string;
  /** Custom headers added to the INVITE (`X-` only, checked by the caller). */
  readonly headers: Readonly<Record<string, string>>;
  /** Answers digest challenges (401/407) once. */
  readonly auth: { readonly username: string; readonly password: string } | null;
  readonly media: CallMedia;
  /** Our SDES key when the call must be secure (SRTP): offered, and required of the answer; null for RTP. */
  readonly srtpKey: Buffer | null;
  /** How long the far end may ring before the call is given up, ms. */
  readonly ringTimeoutMs: number;
  /** Longest call, ms. */
  readonly maxDurationMs: number;
  /** Longest time without a packet from the far end (not on hold), ms. */
  readonly inactivityMs: number;
  readonly logger: Logger;
}

/** How often the far end's silence is looked at, ms. */
const inactivityCheckMs = 5000;

/**
 * How long the INVITE may go without any response, ms: a live far end answers at once (100
 * Trying within 200 ms, RFC 3261 §17.2.1), and over UDP the INVITE has been sent four times by
 * then (0, 0.5, 1.5, 3.5 s), so nothing is listening: the call fails now, not at the 32 s timeout.
 */
const noResponseTimeoutMs = 5000;

/**
 * One outbound call (RFC 3261 UAC): the INVITE with our SDP offer, digest authentication, the
 * dialog it makes (ACK, BYE both ways, CANCEL before the answer, re-INVITEs for hold), and the
 * timers that end it. The SIP stack carries the transactions; `SipService` hands it the requests
 * of its dialog.
 */
export class SipCall extends TypedEmitter<SipCallEvents> {
  readonly callId = randomUUID();
  readonly #options: SipCallOptions;
  readonly #logger: Logger;
  readonly #localTag = randomBytes(6).toString('hex');
  readonly #sdpSessionId = String(randomBytes(4).readUInt32BE(0));
  #sdpVersion = 1;
  #cseq = 1;
  #invite: SipMessage | null = null;
  #authenticated = false;
  /** The far end's To (with its tag), its Contact and the route set, once it answered. */
  #dialog: { to: NameAddr; target: string; route: NameAddr[] } | null = null;
  #state: SipCallState = 'dialing';
  /** Whether the far end answered the INVITE with anything, a provisional response included. */
  #heard = false;
  /** Whether the INVITE in progress had a provisional response: only then may it be cancelled (RFC 3261 §9.1). */
  #provisional = false;
  /** Set while a hang-up before any provisional response waits for one to send its CANCEL; gives up at its end. */
  #cancelWhenProvisional: NodeJS.Timeout | null = null;
  /** The call's timers, the wait for a provisional response included (it may outlive the call by 5 s). */
  readonly #timers = new CallTimers();

  constructor(options: SipCallOptions) {
    super();
    this.#options = options;
    this.#logger = options.logger.child({ callId: this.callId });
  }

  get state(): SipCallState {
    return this.#state;
  }

  /** Timers still pending: none once the call ended and no CANCEL waits for a provisional response. */
  get pendingTimers(): number {
    return this.#timers.size;
  }

  /** Sends the INVITE. */
  dial(): void {
    const { local, target } = this.#options;
    const uri = sip.parseUri(target);
    const transport = uri?.params.transport ?? undefined;
    const overTls = uri?.schema === 'sips' || transport?.toLowerCase() === 'tls';
    // The far end's own requests (BYE, re-INVITE) come to Contact: over TLS, our TLS listener's port.
    const contact =
      overTls && local.tlsPort !== null
        ? `${uri?.schema === 'sips' ? 'sips' : 'sip'}:parlor@${hostPart(local.address)}:${local.tlsPort}`
        : `sip:parlor@${hostPart(local.address)}:${local.port}`;
    const invite: SipMessage = {
      method: 'INVITE',
      uri: target,
      headers: {
        ...this.#options.headers,
        to: { uri: target, params: {} },
        from: { uri: this.#options.from, params: { tag: this.#localTag } },
        'call-id': this.callId,
        cseq: { method: 'INVITE', seq: this.#cseq },
        contact: [
          {
            uri: `${contact}${transport ? `;transport=${transport}` : ''}`,
            params: {},
          },
        ],
        'max-forwards': 70,
        'content-type': 'application/sdp',
        'user-agent': 'Parlor',
      },
      content: this.#sdp('sendrecv'),
    };
    this.#send(invite);
    this.#timers.timeout(() => {
      if (!this.#heard) this.#giveUp();
    }, noResponseTimeoutMs);
    this.#timers.timeout(() => {
      if (!this.#heard) this.#giveUp();
      else this.hangUp(408, 'No answer');
    }, this.#options.ringTimeoutMs);
    this.#timers.timeout(() => {
      this.hangUp(705, 'Maximum duration reached');
    }, this.#options.maxDurationMs);
  }

  /**
   * Ends the call from our side: BYE after the answer, CANCEL before it once the far end sent a
   * provisional response (the call ends now; a CANCEL waits for that response, or is not sent when
   * none comes). Idempotent.
   */
  hangUp(code = 700, message = 'Normal clearing'): void {
    if (this.#state === 'ended') return;
    if (this.#dialog) this.#bye();
    else if (this.#provisional) this.#cancel();
    this.#end(code, message);
    if (!this.#dialog && !this.#provisional) {
      const invite = this.#invite;
      this.#cancelWhenProvisional = this.#timers.timeout(() => {
        this.#cancelWhenProvisional = null;
        if (invite && !this.#dialog) this.#options.stack.abandon(invite);
      }, noResponseTimeoutMs);
      this.#cancelWhenProvisional.unref();
    }
  }

  /** Queues DTMF digits to play into the call (0-9 * #, p a pause). */
  playDigits(digits: string): void {
    if (this.#state !== 'ended') this.#options.media.playDigits(digits);
  }

  /** A request of this call's dialog from the far end. */
  receive(request: SipMessage): SipMessage | null {
    switch (request.method) {
      case 'BYE':
        this.#end(700, 'The far end hung up');
        return sip.makeResponse(request, 200, 'OK');
      case 'INVITE':
        return this.#reInvite(request);
      case 'ACK':
        return null;
      case 'OPTIONS':
        return sip.makeResponse(request, 200, 'OK');
      default:
        return sip.makeResponse(request, 501, 'Not Implemented');
    }
  }

  #send(invite: SipMessage): void {
    this.#invite = invite;
    this.#provisional = false;
    this.#options.stack.send(invite, (response) => {
      this.#onResponse(invite, response);
    });
  }

  #onResponse(invite: SipMessage, response: SipMessage): void {
    const status = response.status ?? 0;
    this.#heard = true;
    if (invite === this.#invite && status >= 100) this.#settlePendingCancel(status);
    if (status >= 200 && status < 300) {
      this.#onAnswer(invite, response);
      return;
    }
    // After the answer only its retransmissions matter (a 503 then is the flow closing).
    if (this.#state === 'ended' || invite !== this.#invite || this.#dialog) return;
    if (status < 200) this.#provisional = true;
    if (status === 180 || status === 183) {
      this.#setState('ringing');
    } else if ((status === 401 || status === 407) && this.#options.auth && !this.#authenticated) {
      this.#authenticated = true;
      const retry: SipMessage = {
        ...invite,
        headers: { ...invite.headers, via: [], cseq: { method: 'INVITE', seq: ++this.#cseq } },
      };
      delete retry.headers['authorization'];
      delete retry.headers['proxy-authorization'];
      digest.signRequest(null, retry, response, {
        user: this.#options.auth.username,
        password: this.#options.auth.password,
      });
      this.#send(retry);
    } else if (status >= 300) {
      this.#end(status, response.reason ?? 'Call failed');
    }
  }

  #onAnswer(invite: SipMessage, response: SipMessage): void {
    const contact = response.headers.contact?.[0]?.uri ?? String(invite.uri);
    const to = response.headers.to ?? { uri: String(invite.uri), params: {} };
    const route = [...(response.headers['record-route'] ?? [])].reverse();
    const ack: SipMessage = {
      method: 'ACK',
      uri: contact,
      headers: {
        to,
        from: invite.headers.from,
        'call-id': this.callId,
        cseq: { method: 'ACK', seq: invite.headers.cseq?.seq ?? this.#cseq },
        via: [],
        ...(route.length > 0 ? { route } : {}),
      },
    };
    this.#options.stack.send(ack);
    if (this.#dialog) return; // a retransmitted 200, acknowledged again
    this.#dialog = { to, target: contact, route };
    // Answered after we gave up (our CANCEL crossed its 200): the dialog is ended at once.
    if (this.#state === 'ended') {
      this.#bye();
      return;
    }
    let answer: CallAnswer;
    try {
      answer = this.#readAnswer(response.content ?? '');
    } catch (error) {
      this.hangUp(488, `Not acceptable here: ${(error as Error).message}`);
      return;
    }
    this.#options.media.setRemote(answer);
    this.safeEmit('answered', answer);
    this.#setState(answer.onHold ? 'onHold' : 'active');
    this.#timers.interval(
      () => {
        const silentMs = Date.now() - this.#options.media.lastPacketAtMs;
        if (this.#state === 'active' && silentMs > this.#options.inactivityMs)
          this.hangUp(706, 'No media from the far end');
      },
      Math.min(inactivityCheckMs, this.#options.inactivityMs),
    );
  }

  /** A re-INVITE: hold (sendonly, inactive, or address 0.0.0.0) and back, or a codec change. */
  #reInvite(request: SipMessage): SipMessage {
    let answer: CallAnswer;
    try {
      answer = this.#readAnswer(request.content ?? '');
    } catch (error) {
      this.#logger.warn({ err: error }, 'a re-INVITE was refused');
      return sip.makeResponse(request, 488, 'Not Acceptable Here');
    }
    this.#options.media.setRemote(answer);
    this.safeEmit('answered', answer);
    if (this.#state === 'active' || this.#state === 'onHold')
      this.#setState(answer.onHold ? 'onHold' : 'active');
    const response = sip.makeResponse(request, 200, 'OK');
    this.#sdpVersion += 1;
    response.headers.contact = this.#invite?.headers.contact ?? [];
    response.headers['content-type'] = 'application/sdp';
    response.content = this.#sdp(answerDirection(answer.direction), [answer.codec]);
    return response;
  }

  /** The far end's description, which must have SRTP when the call is secure. */
  #readAnswer(sdp: string): CallAnswer {
    const answer = readCallAnswer(sdp);
    if (this.#options.srtpKey && !answer.srtpKey) throw new TypeError('the call must be secure (SRTP)');
    return answer;
  }

  #sdp(direction: 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive', codecs?: CallAnswer['codec'][]): string {
    return callOffer({
      address: this.#options.local.address,
      port: this.#options.media.port,
      sessionId: this.#sdpSessionId,
      version: this.#sdpVersion,
      direction,
      srtpKey: this.#options.srtpKey,
      ...(codecs ? { codecs } : {}),
    });
  }

  /** A response to the INVITE of a call hung up before it: a provisional one lets the CANCEL go; a final one ends the wait. */
  #settlePendingCancel(status: number): void {
    const pending = this.#cancelWhenProvisional;
    if (!pending) return;
    this.#timers.clear(pending);
    this.#cancelWhenProvisional = null;
    if (status < 200) this.#cancel();
  }

  /** Ends a call whose INVITE got no response at all: nothing to CANCEL (RFC 3261 §9.1), it is just dropped. */
  #giveUp(): void {
    if (this.#state === 'ended') return;
    if (this.#invite) this.#options.stack.abandon(this.#invite);
    this.#end(408, 'No response from the far end');
  }

  #bye(): void {
    const dialog = this.#dialog;
    const invite = this.#invite;
    if (!dialog || !invite) return;
    this.#options.stack.send(
      {
        method: 'BYE',
        uri: dialog.target,
        headers: {
          to: dialog.to,
          from: invite.headers.from,
          'call-id': this.callId,
          cseq: { method: 'BYE', seq: ++this.#cseq },
          ...(dialog.route.length > 0 ? { route: dialog.route } : {}),
        },
      },
      () => undefined,
    );
  }

  #cancel(): void {
    const invite = this.#invite;
    const via = invite?.headers.via?.[0];
    if (!invite || !via) return;
    this.#options.stack.send(
      {
        method: 'CANCEL',
        uri: invite.uri,
        headers: {
          to: invite.headers.to,
          from: invite.headers.from,
          'call-id': this.callId,
          cseq: { method: 'CANCEL', seq: invite.headers.cseq?.seq ?? this.#cseq },
          via: [via],
        },
      },
      () => undefined,
    );
  }

  #setState(state: Exclude<SipCallState, 'ended'>): void {
    if (this.#state === state || this.#state === 'ended') return;
    this.#logger.info(`sip call ${this.#state} -> ${state}`);
    this.#state = state;
    this.safeEmit('state', state);
  }

  #end(code: number, message: string): void {
    if (this.#state === 'ended') return;
    this.#logger.info({ code, reason: message }, `sip call ${this.#state} -> ended`);
    this.#state = 'ended';
    this.#timers.clearAll();
    this.#options.media.close();
    this.safeEmit('ended', code, message);
  }
}

/** A host for a URI: IPv6 addresses in brackets. */
export function hostPart(address: string): string {
  return address.includes(':') ? `[${address}]` : address;
}
