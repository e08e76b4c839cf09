/**
 * The frame worker: encrypts what the page's senders encode and decrypts what its receivers get,
 * off the main thread. Bundled on its own and started from a Blob URL by `FrameEncryption`.
 */
import { clearHeaderLength, decryptFrame, encryptFrame, type FrameKey } from './frameCipher.js';
import type { EncodedFrame, FromFrameWorker, ToFrameWorker, TransformOptions } from './workerMessages.js';

/** How long the key a rotation replaced still opens frames: senders that rotate later are not cut off meanwhile. */
const previousKeyGraceMs = 10_000;

/** What this worker uses of `RTCRtpScriptTransformer` (the DOM library has no worker types). */
interface Transformer {
  readonly readable: ReadableStream<EncodedFrame>;
  readonly writable: WritableStream<EncodedFrame>;
  readonly options: TransformOptions;
  generateKeyFrame?(): Promise<void>;
  sendKeyFrameRequest?(): Promise<void>;
}

interface WorkerScope {
  postMessage(message: FromFrameWorker): void;
  onmessage: ((event: MessageEvent<ToFrameWorker>) => void) | null;
  addEventListener(
    type: 'rtctransform',
    listener: (event: Event & { transformer: Transformer }) => void,
  ): void;
}

const scope = self as unknown as WorkerScope;
let current: FrameKey | null = null;
/** Keys that open frames, by ID, with when each stops (Infinity for the current one). */
const keys = new Map<number, { key: CryptoKey; until: number }>();
/** Video senders of the standard API, asked for a keyframe when the key changes. */
const videoSenders = new Set<Transformer>();

function setKey(key: FrameKey): void {
  const now = Date.now();
  for (const [id, entry] of keys) if (entry.until < now) keys.delete(id);
  if (current && current.id !== key.id)
    keys.set(current.id, { key: current.key, until: now + previousKeyGraceMs });
  current = key;
  keys.set(key.id, { key: key.key, until: Infinity });
  // Receivers that lost the picture while their key differed decode again from the next keyframe.
  for (const sender of videoSenders) sender.generateKeyFrame?.().catch(() => undefined);
}

function keyOf(id: number): CryptoKey | undefined {
  const entry = keys.get(id);
  if (entry && entry.until < Date.now()) {
    keys.delete(id);
    return undefined;
  }
  return entry?.key;
}

function run(
  options: TransformOptions,
  readable: ReadableStream<EncodedFrame>,
  writable: WritableStream<EncodedFrame>,
  transformer?: Transformer,
): void {
  let matches: boolean | null = null;
  const report = (opened: boolean): void => {
    if (opened === matches) return;
    const recovered = opened && matches === false;
    matches = opened;
    scope.postMessage({ type: 'decryption', id: options.id, matches: opened });
    if (recovered && options.kind === 'video') transformer?.sendKeyFrameRequest?.().catch(() => undefined);
  };
  const transform = new TransformStream<EncodedFrame, EncodedFrame>({
    async transform(frame, controller) {
      if (frame.data.byteLength === 0) {
        controller.enqueue(frame);
        return;
      }
      if (options.role === 'sender') {
        // Without a key nothing leaves: a frame never goes out in clear.
        if (!current) return;
        const keyframe = 'type' in frame && frame.type === 'key';
        frame.data = await encryptFrame(frame.data, clearHeaderLength(options.kind, keyframe), current);
        controller.enqueue(frame);
        return;
      }
      const opened = await decryptFrame(frame.data, keyOf);
      // A frame that does not open is dropped: the decoder never sees ciphertext.
      if (typeof opened === 'string') {
        report(false);
        return;
      }
      frame.data = opened;
      report(true);
      controller.enqueue(frame);
    },
  });
  if (transformer && options.role === 'sender' && options.kind === 'video') videoSenders.add(transformer);
  readable
    .pipeThrough(transform)
    .pipeTo(writable)
    .catch(() => undefined)
    .finally(() => {
      if (transformer) videoSenders.delete(transformer);
      scope.postMessage({ type: 'ended', id: options.id });
    });
}

scope.onmessage = ({ data }) => {
  if (data.type === 'key') setKey(data.key);
  else run(data.options, data.readable, data.writable);
};
scope.addEventListener('rtctransform', ({ transformer }) => {
  run(transformer.options, transformer.readable, transformer.writable, transformer);
});
