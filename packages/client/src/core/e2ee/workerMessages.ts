import type { FrameKey } from './frameCipher.js';

export type EncodedFrame = RTCEncodedAudioFrame | RTCEncodedVideoFrame;

/** What one frame transform does, as the page tells the worker. */
export interface TransformOptions {
  /** Tells the page's reports apart. */
  readonly id: number;
  readonly role: 'sender' | 'receiver';
  readonly kind: 'audio' | 'video';
}

/** The page to the frame worker. */
export type ToFrameWorker =
  /** The key to encrypt with from now on; the one it replaces still decrypts for a while. */
  | { readonly type: 'key'; readonly key: FrameKey }
  /** A transform through the frame streams of `createEncodedStreams` (browsers without `RTCRtpScriptTransform`). */
  | {
      readonly type: 'streams';
      readonly options: TransformOptions;
      readonly readable: ReadableStream<EncodedFrame>;
      readonly writable: WritableStream<EncodedFrame>;
    };

/** The frame worker to the page. */
export type FromFrameWorker =
  /** A receiver's frames started or stopped opening with the keys it holds. */
  | { readonly type: 'decryption'; readonly id: number; readonly matches: boolean }
  /** A transform ended (its peer connection closed). */
  | { readonly type: 'ended'; readonly id: number };
