import { createSocket, type Socket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { SrtpContext } from '../media/srtp/SrtpContext.js';
import { deriveSrtpSessionKeys } from '../media/srtp/keyDerivation.js';
import { TypedEmitter } from '../TypedEmitter.js';
import { createTranscoder, frameMs, type AudioTranscoder } from './audioCodecs.js';
import type { CallAnswer } from './callSdp.js';
import { CallTimers } from './CallTimers.js';
import {
  dtmfDigit,
  dtmfEvent,
  parseRtp,
  parseTelephoneEvent,
  serializeRtp,
  serializeTelephoneEvent,
} from './rtpPacket.js';

export interface CallMediaEvents {
  /** 20 ms (or what the far end packs) of the call's audio, mono at the codec's rate. */
  audio: [samples: Int16Array, sampleRate: number];
  /** The far end pressed a key (RFC 4733), reported once when it ends. */
  digit: [digit: string];
}

export interface CallMediaOptions {
  /** The address the RTP socket binds. */
  readonly host: string;
  /** The port range the RTP socket binds in; [0, 0] picks any free port. */
  readonly ports: readonly [number, number];
  /** Gives the frame the call hears next, at the given rate. */
  readonly nextFrame: (samples: number, sampleRate: number) => Int16Array;
  /** Our SDES master key and salt (30 bytes) when the call is secure (SRTP); null for RTP. */
  readonly srtpKey: Buffer | null;
}

/** An SDES master key and salt (AES_CM_128_HMAC_SHA1_80: 16 + 14 bytes) as an SRTP context. */
function sdesContext(keyAndSalt: Buffer): SrtpContext {
  return new SrtpContext(
    deriveSrtpSessionKeys({
      profile: 'AES_CM_128_HMAC_SHA1_80',
      masterKey: keyAndSalt.subarray(0, 16),
      masterSalt: keyAndSalt.subarray(16, 30),
    }),
  );
}

/** Ticks of 20 ms: a digit is 100 ms of events, 60 ms of quiet after it, `p` is 500 ms. */
const digitTicks = 5;
const gapTicks = 3;
const pauseTicks = 25;
/** Digits waiting to be sent, at most. */
const maxQueuedDigits = 64;

/**
 * A call's RTP toward the far end, over UDP: every 20 ms it encodes and sends the frame the call
 * hears (or RFC 4733 events while digits play), and it decodes what the far end sends. Symmetric:
 * one socket sends and receives; only packets from the negotiated address and port are read.
 */
export class CallMedia extends TypedEmitter<CallMediaEvents> {
  readonly #options: CallMediaOptions;
  readonly #socket: Socket;
  readonly #ssrc = randomBytes(4).readUInt32BE(0);
  #port = 0;
  #remote: CallAnswer | null = null;
  /** SRTP both ways when the call is secure: ours protects, the far end's key unprotects. */
  readonly #outbound: SrtpContext | null;
  #inbound: { key: Buffer; context: SrtpContext } | null = null;
  #transcoder: AudioTranscoder | null = null;
  #sequence = randomBytes(2).readUInt16BE(0);
  #timestamp = randomBytes(4).readUInt32BE(0);
  readonly #timers = new CallTimers();
  #timer: NodeJS.Timeout | null = null;
  #nextTickAt = 0;
  #sending = true;
  /** Digits still to play (`p` for a pause). */
  #digits: string[] = [];
  /** The digit being played: its event, the tick it is at, and its start timestamp. */
  #playing: { event: number | null; tick: number; ticks: number; timestamp: number } | null = null;
  /** The timestamp of the last event the far end ended, so that its repeated end packets count once. */
  #lastEventTimestamp: number | null = null;
  #lastPacketAtMs = 0;
  #closed = false;

  private constructor(options: CallMediaOptions, socket: Socket) {
    super();
    this.#options = options;
    this.#socket = socket;
    this.#outbound = options.srtpKey && sdesContext(options.srtpKey);
    socket.on('message', (packet, from) => {
      this.#receive(packet, from.address, from.port);
    });
    socket.on('error', () => undefined);
  }

  /** Binds the RTP socket (the first free port of the range). */
  static async open(options: CallMediaOptions): Promise<CallMedia> {
    const [first, last] = options.ports;
    for (let port = first; port <= last; port += first === 0 ? 1 : 2) {
      const socket = createSocket(options.host.includes(':') ? 'udp6' : 'udp4');
      try {
        await new Promise<void>((resolve, reject) => {
          socket.once('error', reject);
          socket.bind(port, options.host, () => {
            socket.off('error', reject);
            resolve();
          });
        });
      } catch {
        socket.close();
        continue;
      }
      const media = new CallMedia(options, socket);
      media.#port = socket.address().port;
      return media;
    }
    throw new Error(`no free RTP port from ${first} to ${last}`);
  }

  /** The RTP port the offer announces. */
  get port(): number {
    return this.#port;
  }

  /** What the media still holds: its RTP socket until closed, and its 20 ms timer while it runs. */
  get resources(): { readonly sockets: number; readonly timers: number } {
    return { sockets: this.#closed ? 0 : 1, timers: this.#timers.size };
  }

  /** When the far end's last packet came (Unix ms); 0 before any. */
  get lastPacketAtMs(): number {
    return this.#lastPacketAtMs;
  }

  /** Starts or changes the media with what the far end answered; holds sending while it holds the call. */
  setRemote(answer: CallAnswer): void {
    if (this.#closed) return;
    if (this.#transcoder?.name !== answer.codec) this.#transcoder = createTranscoder(answer.codec);
    if (answer.srtpKey && !answer.srtpKey.equals(this.#inbound?.key ?? Buffer.alloc(0)))
      this.#inbound = { key: answer.srtpKey, context: sdesContext(answer.srtpKey) };
    this.#remote = answer;
    this.#sending = !answer.onHold && answer.direction !== 'recvonly';
    this.#lastPacketAtMs ||= Date.now();
    if (!this.#timer) {
      this.#nextTickAt = performance.now();
      this.#schedule();
    }
  }

  /** Queues DTMF digits (0-9 * #, p a 500 ms pause) to play as RFC 4733 events. */
  playDigits(digits: string): void {
    for (const digit of digits) if (this.#digits.length < maxQueuedDigits) this.#digits.push(digit);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#timers.clearAll();
    this.#timer = null;
    this.#socket.close();
  }

  /** Ticks every 20 ms against the clock, catching up frames a late timer missed. */
  #schedule(): void {
    const delay = Math.max(0, this.#nextTickAt - performance.now());
    this.#timer = this.#timers.timeout(() => {
      this.#timer = null;
      let due = 0;
      while (this.#nextTickAt <= performance.now() && due < 5) {
        this.#tick();
        this.#nextTickAt += frameMs;
        due += 1;
      }
      if (this.#nextTickAt <= performance.now()) this.#nextTickAt = performance.now() + frameMs;
      if (!this.#closed) this.#schedule();
    }, delay);
  }

  #tick(): void {
    const remote = this.#remote;
    const transcoder = this.#transcoder;
    if (!remote || !transcoder) return;
    const frame = this.#options.nextFrame((transcoder.sampleRate * frameMs) / 1000, transcoder.sampleRate);
    if (this.#sending && !this.#playDigit(remote)) {
      this.#send(remote, remote.payloadType, transcoder.encode(frame), false);
    }
    this.#timestamp = (this.#timestamp + transcoder.timestampStep) >>> 0;
  }

  /** Sends this tick's event packet when a digit plays; false when there is none to play. */
  #playDigit(remote: CallAnswer): boolean {
    if (!this.#playing) {
      const digit = this.#digits.shift();
      if (digit === undefined || remote.telephoneEventPayloadType === null) return false;
      const event = dtmfEvent(digit) ?? null;
      this.#playing = {
        event,
        tick: 0,
        ticks: event === null ? pauseTicks : digitTicks + gapTicks,
        timestamp: this.#timestamp,
      };
    }
    const playing = this.#playing;
    playing.tick += 1;
    if (playing.tick >= playing.ticks) this.#playing = null;
    if (playing.event === null || playing.tick > digitTicks || remote.telephoneEventPayloadType === null)
      return false;
    // Events use an 8 kHz clock; their timestamp is the digit's start on the call's own clock.
    const clockRatio = (this.#transcoder?.clockRate ?? 8000) / 8000;
    const end = playing.tick === digitTicks;
    const payload = serializeTelephoneEvent({
      event: playing.event,
      end,
      volume: 10,
      duration: playing.tick * 160 * clockRatio,
    });
    const savedTimestamp = this.#timestamp;
    this.#timestamp = playing.timestamp;
    // The end packet goes three times (RFC 4733 §2.5.1.4).
    for (let copy = 0; copy < (end ? 3 : 1); copy += 1)
      this.#send(remote, remote.telephoneEventPayloadType, payload, playing.tick === 1);
    this.#timestamp = savedTimestamp;
    return true;
  }

  #send(remote: CallAnswer, payloadType: number, payload: Uint8Array, marker: boolean): void {
    const packet = serializeRtp(
      { payloadType, sequenceNumber: this.#sequence, timestamp: this.#timestamp, ssrc: this.#ssrc, marker },
      payload,
    );
    this.#sequence = (this.#sequence + 1) & 0xffff;
    this.#socket.send(this.#outbound?.protectRtp(packet) ?? packet, remote.port, remote.address);
  }

  #receive(data: Buffer, address: string, port: number): void {
    const remote = this.#remote;
    if (!remote || address !== remote.address || port !== remote.port) return;
    const clear = this.#outbound ? this.#inbound?.context.unprotectRtp(data) : data;
    const packet = clear && parseRtp(clear);
    if (!packet) return;
    this.#lastPacketAtMs = Date.now();
    if (packet.payloadType === remote.telephoneEventPayloadType) {
      const event = parseTelephoneEvent(packet.payload);
      if (!event?.end || this.#lastEventTimestamp === packet.timestamp) return;
      this.#lastEventTimestamp = packet.timestamp;
      const digit = dtmfDigit(event.event);
      if (digit !== null) this.safeEmit('digit', digit);
      return;
    }
    const transcoder = this.#transcoder;
    if (packet.payloadType !== remote.payloadType || !transcoder || packet.payload.length === 0) return;
    try {
      this.safeEmit('audio', transcoder.decode(packet.payload), transcoder.sampleRate);
    } catch {
      // A payload the decoder refuses is lost audio, no more.
    }
  }
}
