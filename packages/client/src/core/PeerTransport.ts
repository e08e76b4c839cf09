import type { IceCandidate } from '@parlor/protocol';
import { ClientError, clientErrorCodes } from './ClientError.js';
import type { FrameProtection } from './e2ee/FrameEncryption.js';
import type { Logger } from './Logger.js';
import { answerOpusAsOffered, withOpusParameters, type OpusSendOptions } from './opusParameters.js';
import { SenderParameterUpdates } from './SenderParameterUpdates.js';
import type { SignalingClient } from './SignalingClient.js';
import type { VideoEncoding } from './videoEncodings.js';
import { sendVideo, type VideoSendLimit } from './videoSendPlan.js';
import { TypedEmitter } from './TypedEmitter.js';

/** `sender`: the publisher's end, which always offers; `receiver`: the subscriber's, which answers. */
export type PeerRole = 'sender' | 'receiver';

export type PeerTransportState = 'new' | 'connecting' | 'connected' | 'disconnected' | 'failed' | 'closed';

export interface PeerTransportOptions {
  readonly subscriptionId: string;
  /** The connection at the other end. */
  readonly remoteConnectionId: string;
  readonly configuration: RTCConfiguration;
  readonly signaling: SignalingClient;
  readonly logger: Logger;
  /** End-to-end encrypted sessions: encrypts what is sent and decrypts what is received. Default: none. */
  readonly frames?: FrameProtection | undefined;
}

interface PeerTransportEvents {
  /** `connected` after `connecting` or `disconnected`; `disconnected` and `failed` as ICE sees them. */
  stateChanged: [state: PeerTransportState];
  /** A remote track arrived (receivers only). */
  track: [track: MediaStreamTrack];
  /** Negotiating failed (1600); the transport is unusable. */
  error: [error: ClientError];
  /** Closed by `close()`: by this end, or because the server said the other end left. */
  closed: [];
}

/**
 * One `RTCPeerConnection` between a publisher and one subscriber of its stream (relayed media).
 * The sender offers, the receiver answers; offers, answers and ICE candidates travel through the
 * signaling server, addressed by the subscription.
 */
export class PeerTransport extends TypedEmitter<PeerTransportEvents> {
  readonly role: PeerRole;
  readonly subscriptionId: string;
  readonly remoteConnectionId: string;
  readonly #pc: RTCPeerConnection;
  /** Senders only: changes to the video sender's encodings, one at a time. */
  #videoUpdates: SenderParameterUpdates | null = null;
  /** Senders only: the video encodings asked for, as `createSender` got them. */
  #videoEncodings: readonly VideoEncoding[] = [];
  /** Senders only: the simulcast encodings the router wants sent, by RID. */
  readonly #wantedEncodings = new Map<string, boolean>();
  /** Senders only: how much video the publisher's audio fallback lets out. */
  #videoLimit: VideoSendLimit = 'all';
  /** Senders of one encoding: its bitrate cap at full quality. */
  #singleMaxBitrate: number | undefined;
  /** Senders only: what the audio encoder is asked for, in every offer. */
  #opus: OpusSendOptions = {};
  /** Senders only: changes to the audio sender's encoding. */
  #audioUpdates: SenderParameterUpdates | null = null;
  /** Senders only: whether media goes out (adaptive routing pauses the path not in use). */
  #sending = true;
  /** Senders only: whether it was ever paused, so that the state is set again once negotiated. */
  #everPaused = false;
  readonly #signaling: SignalingClient;
  readonly #logger: Logger;
  /** Candidates that came before the remote description, added once it is set. */
  #earlyCandidates: IceCandidate[] = [];
  #state: PeerTransportState = 'new';

  private constructor(role: PeerRole, options: PeerTransportOptions) {
    super((event, error) => {
      options.logger.error(`a listener of the peer transport "${event}" event threw`, error);
    });
    this.role = role;
    this.subscriptionId = options.subscriptionId;
    this.remoteConnectionId = options.remoteConnectionId;
    this.#signaling = options.signaling;
    this.#logger = options.logger;
    this.#pc = new RTCPeerConnection(options.configuration);
    this.#pc.onicecandidate = ({ candidate }) => {
      // The end-of-candidates marker (null or an empty candidate) is not relayed.
      if (candidate?.candidate) this.#sendCandidate(candidate.toJSON());
    };
    this.#pc.onconnectionstatechange = () => {
      this.#onConnectionState(this.#pc.connectionState);
    };
  }

  /**
   * The publisher's end: sends the tracks, the video in the encodings given (simulcast layers
   * when they have RIDs), the audio as `opus` asks, and starts negotiating at once; `paused`:
   * sends nothing until `setSending(true)`.
   */
  static createSender(
    options: PeerTransportOptions,
    stream: MediaStream,
    videoEncodings: readonly VideoEncoding[],
    opus: OpusSendOptions = {},
    paused = false,
  ): PeerTransport {
    const transport = new PeerTransport('sender', options);
    transport.#opus = opus;
    transport.#sending = !paused;
    transport.#everPaused = paused;
    const audio: RTCRtpTransceiverInit = {
      direction: 'sendonly',
      streams: [stream],
      sendEncodings: [
        { active: !paused, ...(opus.maxBitrate === undefined ? {} : { maxBitrate: opus.maxBitrate }) },
      ],
    };
    for (const track of stream.getTracks()) {
      const transceiver =
        track.kind === 'video'
          ? transport.#addVideo(
              track,
              stream,
              paused ? videoEncodings.map((encoding) => ({ ...encoding, active: false })) : videoEncodings,
            )
          : transport.#addAudio(track, audio);
      options.frames?.protectSender(transceiver);
    }
    void transport.#offer();
    return transport;
  }

  /** The subscriber's end: waits for the publisher's offer. */
  static createReceiver(options: PeerTransportOptions): PeerTransport {
    const transport = new PeerTransport('receiver', options);
    transport.#pc.ontrack = ({ track, receiver }) => {
      options.frames?.protectReceiver(receiver, options.subscriptionId);
      transport.safeEmit('track', track);
    };
    return transport;
  }

  get closed(): boolean {
    return this.#state === 'closed';
  }

  /**
   * Whether the other end gives transport-wide congestion control feedback (its description
   * negotiates the transport-wide-cc header extension), so that the browser's estimate of what
   * this connection can send follows delay. Parlor's router gives none; browsers do.
   */
  get transportFeedback(): boolean {
    return this.#pc.remoteDescription?.sdp.includes('transport-wide-cc') ?? false;
  }

  /** The standard statistics of the peer connection. */
  getStats(): Promise<RTCStatsReport> {
    return this.#pc.getStats();
  }

  /** The other end's offer (receivers) or answer (senders). */
  async handleDescription(type: 'offer' | 'answer', sdp: string): Promise<void> {
    if (this.closed) return;
    const expected = this.role === 'receiver' ? 'offer' : 'answer';
    if (type !== expected) {
      this.#logger.warn(`a ${this.role} transport ignored an unexpected ${type}`);
      return;
    }
    try {
      await this.#pc.setRemoteDescription({ type, sdp });
      const early = this.#earlyCandidates;
      this.#earlyCandidates = [];
      for (const candidate of early) await this.#addCandidate(candidate);
      if (type === 'answer') {
        await this.#fitDeclinedSimulcast();
        // What was paused or resumed before the connection was negotiated may not have taken.
        if (this.#everPaused) await Promise.all([this.#updateVideo(), this.#updateAudio()]);
        return;
      }
      const created = await this.#pc.createAnswer();
      const answer = { type: 'answer' as const, sdp: answerOpusAsOffered(sdp, created.sdp ?? '') };
      await this.#pc.setLocalDescription(answer);
      await this.#signaling.request('answer', { subscriptionId: this.subscriptionId, sdp: answer.sdp });
    } catch (error) {
      this.#fail(error);
    }
  }

  async handleCandidate(candidate: IceCandidate): Promise<void> {
    if (this.closed) return;
    if (!this.#pc.remoteDescription) {
      this.#earlyCandidates.push(candidate);
      return;
    }
    await this.#addCandidate(candidate);
  }

  /**
   * Senders only: sends the simulcast encodings marked active and pauses the others, by RID (as
   * the router asks); encodings not named keep their state.
   */
  async setActiveEncodings(
    encodings: readonly { readonly rid: string; readonly active: boolean }[],
  ): Promise<void> {
    for (const { rid, active } of encodings) this.#wantedEncodings.set(rid, active);
    await this.#updateVideo();
  }

  /**
   * Senders only: how much video goes out, for the publisher's audio fallback; it prevails over
   * what the router asks, which applies again once the limit is lifted.
   */
  async setVideoLimit(limit: VideoSendLimit): Promise<void> {
    if (limit === this.#videoLimit) return;
    this.#videoLimit = limit;
    await this.#updateVideo();
  }

  /**
   * Senders only (adaptive routing): sends the media, or stops sending it while the connection
   * stays up; resuming video starts with a key frame.
   */
  async setSending(send: boolean): Promise<void> {
    if (send === this.#sending) return;
    this.#sending = send;
    this.#everPaused = true;
    await Promise.all([this.#updateVideo(), this.#updateAudio()]);
  }

  /** Whether this sender sends its media (adaptive routing pauses the path not in use). */
  get sending(): boolean {
    return this.#sending;
  }

  /** Receivers only: the tracks of what it receives, as they are now (each exists from the offer on). */
  receivedTracks(): MediaStreamTrack[] {
    return this.#pc.getReceivers().map(({ track }) => track);
  }

  /** Senders only: sends the track in place of the one of its kind, on the live connection (no renegotiation). */
  async replaceTrack(track: MediaStreamTrack): Promise<void> {
    if (this.closed) return;
    const transceiver = this.#pc.getTransceivers().find(({ receiver }) => receiver.track.kind === track.kind);
    await transceiver?.sender.replaceTrack(track);
  }

  /** Receivers only: the level of the audio last received, 0–1, from its audio-level header extension. */
  audioLevel(): number {
    const receiver = this.#pc.getReceivers().find(({ track }) => track.kind === 'audio');
    return receiver?.getSynchronizationSources()[0]?.audioLevel ?? 0;
  }

  /** Closes the peer connection. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.#setState('closed');
    this.#pc.onicecandidate = this.#pc.onconnectionstatechange = this.#pc.ontrack = null;
    this.#pc.close();
    this.safeEmit('closed');
  }

  /** Adds the video track; a browser that refuses the scalability mode sends the layers without it. */
  #addVideo(
    track: MediaStreamTrack,
    stream: MediaStream,
    encodings: readonly VideoEncoding[],
  ): RTCRtpTransceiver {
    const init: RTCRtpTransceiverInit = { direction: 'sendonly', streams: [stream] };
    let transceiver: RTCRtpTransceiver;
    try {
      transceiver = this.#pc.addTransceiver(track, { ...init, sendEncodings: [...encodings] });
      this.#videoEncodings = encodings;
    } catch (error) {
      this.#logger.warn('the browser refused the video encodings; trying without scalability modes', error);
      this.#videoEncodings = encodings.map(({ scalabilityMode: _mode, ...encoding }) => encoding);
      transceiver = this.#pc.addTransceiver(track, { ...init, sendEncodings: [...this.#videoEncodings] });
    }
    if (encodings.length === 1) this.#singleMaxBitrate = encodings[0]?.maxBitrate;
    this.#videoUpdates = new SenderParameterUpdates(transceiver.sender, (error: unknown) => {
      this.#logger.warn('the video encodings could not be changed', error);
    });
    return transceiver;
  }

  /**
   * When the answer declines simulcast, the browser keeps only the first (lowest) layer: it is
   * made the full-size encoding instead, so the stream is sent at its best as one encoding.
   */
  async #fitDeclinedSimulcast(): Promise<void> {
    const top = this.#videoEncodings.at(-1);
    if (!this.#videoUpdates || !top || this.#videoEncodings.length < 2) return;
    await this.#videoUpdates.update((parameters) => {
      const [kept] = parameters.encodings;
      if (parameters.encodings.length !== 1 || !kept) return;
      this.#logger.info('the answer declined simulcast: sending one full-size encoding');
      kept.scaleResolutionDownBy = top.scaleResolutionDownBy ?? 1;
      if (top.maxBitrate !== undefined) kept.maxBitrate = top.maxBitrate;
      this.#singleMaxBitrate = top.maxBitrate;
    });
  }

  #updateVideo(): Promise<void> {
    if (this.closed || !this.#videoUpdates) return Promise.resolve();
    // The plan is read as the change is made: a declined simulcast may have set the cap meanwhile.
    return this.#videoUpdates.update((parameters) => {
      sendVideo({
        wanted: this.#wantedEncodings,
        limit: this.#videoLimit,
        maxBitrate: this.#singleMaxBitrate,
        paused: !this.#sending,
      })(parameters);
    });
  }

  #updateAudio(): Promise<void> {
    if (this.closed || !this.#audioUpdates) return Promise.resolve();
    const active = this.#sending;
    return this.#audioUpdates.update((parameters) => {
      for (const encoding of parameters.encodings) encoding.active = active;
    });
  }

  #addAudio(track: MediaStreamTrack, init: RTCRtpTransceiverInit): RTCRtpTransceiver {
    const transceiver = this.#pc.addTransceiver(track, init);
    this.#audioUpdates = new SenderParameterUpdates(transceiver.sender, (error: unknown) => {
      this.#logger.warn('the audio encoding could not be changed', error);
    });
    return transceiver;
  }

  async #offer(): Promise<void> {
    try {
      const created = await this.#pc.createOffer();
      const offer = { type: 'offer' as const, sdp: withOpusParameters(created.sdp ?? '', this.#opus) };
      await this.#pc.setLocalDescription(offer);
      await this.#signaling.request('offer', { subscriptionId: this.subscriptionId, sdp: offer.sdp });
    } catch (error) {
      this.#fail(error);
    }
  }

  async #addCandidate(candidate: IceCandidate): Promise<void> {
    try {
      await this.#pc.addIceCandidate(candidate);
    } catch (error) {
      // One bad candidate does not break ICE: the others may still connect.
      this.#logger.warn('ignored a remote ICE candidate', error);
    }
  }

  #sendCandidate(candidate: RTCIceCandidateInit): void {
    if (candidate.candidate === undefined) return;
    const relayed: IceCandidate = { candidate: candidate.candidate };
    if (candidate.sdpMid !== undefined) relayed.sdpMid = candidate.sdpMid;
    if (candidate.sdpMLineIndex !== undefined) relayed.sdpMLineIndex = candidate.sdpMLineIndex;
    if (candidate.usernameFragment !== undefined) relayed.usernameFragment = candidate.usernameFragment;
    this.#signaling
      .request('iceCandidate', { subscriptionId: this.subscriptionId, candidate: relayed })
      .catch((error: unknown) => {
        this.#logger.debug('an ICE candidate was not relayed', error);
      });
  }

  #onConnectionState(state: RTCPeerConnectionState): void {
    switch (state) {
      case 'connecting':
      case 'connected':
      case 'disconnected':
      case 'failed':
        this.#setState(state);
        break;
      default:
        break;
    }
  }

  #fail(error: unknown): void {
    if (this.closed) return;
    const failure =
      error instanceof ClientError
        ? error
        : new ClientError(clientErrorCodes.negotiationFailed, `negotiation failed: ${String(error)}`, {
            cause: error,
          });
    this.#logger.error(`the ${this.role} transport of ${this.subscriptionId} failed`, failure);
    this.safeEmit('error', failure);
  }

  #setState(state: PeerTransportState): void {
    if (state === this.#state) return;
    this.#logger.debug(`peer ${this.subscriptionId} ${this.#state} -> ${state}`);
    this.#state = state;
    if (state !== 'closed') this.safeEmit('stateChanged', state);
  }
}
