import { ClientError, clientErrorCodes, type MediaFailure } from './ClientError.js';

/** A media source: a device ID, a track of the application's, true for the default device, or none. */
export type MediaSource = string | MediaStreamTrack | boolean | null;

/** What to capture, in the terms of OpenTok's publisher properties. */
export interface MediaOptions {
  /** Default: true (the default microphone). */
  readonly audioSource?: MediaSource | undefined;
  /** 'screen', 'window', 'application' or 'browser' share a screen. Default: true (the default camera). */
  readonly videoSource?: MediaSource | undefined;
  /** Requested camera size, `WIDTHxHEIGHT`. Default: 640x480. */
  readonly resolution?: string | undefined;
  /** Requested frames per second. Default: 30. */
  readonly frameRate?: number | undefined;
  readonly facingMode?: 'user' | 'environment' | 'left' | 'right' | undefined;
  /** Turns echo cancellation, noise suppression and gain control off together. Default: false. */
  readonly disableAudioProcessing?: boolean | undefined;
  /** Raw constraints; when given, they replace everything above but track sources. */
  readonly constraints?: MediaStreamConstraints | undefined;
}

/** `videoSource` values that share a screen, as OpenTok.js takes them; the browser's picker chooses what. */
const screenSources: ReadonlySet<unknown> = new Set(['screen', 'window', 'application', 'browser']);

/** Whether a `videoSource` asks for screen sharing rather than a camera. */
export function isScreenSource(source: unknown): boolean {
  return screenSources.has(source);
}

/** Whether the browser can share a screen (`getDisplayMedia`). */
export function hasScreenSharing(): boolean {
  return 'mediaDevices' in navigator && typeof navigator.mediaDevices.getDisplayMedia === 'function';
}

const defaultResolution = '640x480';
/** Frames per second a publisher captures and sends unless told otherwise (OpenTok's default). */
export const defaultFrameRate = 30;

/** Captures the tracks the options ask for; rejects with a `ClientError` (1500) naming the failure. */
export async function acquireMedia(options: MediaOptions): Promise<MediaStream> {
  // Absent means the default device; null and false, none.
  const audio = options.audioSource === undefined ? true : options.audioSource;
  const video = options.videoSource === undefined ? true : options.videoSource;
  if ((audio === false || audio === null) && (video === false || video === null)) {
    throw new ClientError(clientErrorCodes.invalidParameter, 'a publisher needs audioSource or videoSource');
  }
  const given = [audio, video].filter((source) => source instanceof MediaStreamTrack);
  if (isScreenSource(video)) {
    const screen = await captureScreen(options);
    try {
      return await acquireMedia({ ...options, videoSource: screen });
    } catch (error) {
      screen.stop();
      throw error;
    }
  }
  const constraints = options.constraints ?? {
    audio: audioConstraints(audio, options),
    video: videoConstraints(video, options),
  };
  const wanted = { audio: constraints.audio ?? false, video: constraints.video ?? false };
  if (audio instanceof MediaStreamTrack) wanted.audio = false;
  if (video instanceof MediaStreamTrack) wanted.video = false;
  if (!wanted.audio && !wanted.video) return new MediaStream(given);
  let captured: MediaStream;
  try {
    captured = await navigator.mediaDevices.getUserMedia(wanted);
  } catch (error) {
    throw mediaError(error);
  }
  return new MediaStream([...given, ...captured.getTracks()]);
}

/** Asks the browser's picker for a screen, window or tab, at the options' frame rate if given. */
async function captureScreen(options: MediaOptions): Promise<MediaStreamTrack> {
  if (!hasScreenSharing()) {
    throw new ClientError(clientErrorCodes.unableToPublish, 'this browser cannot share a screen', {
      media: 'screenSharingNotSupported',
    });
  }
  const video = options.frameRate === undefined ? true : { frameRate: { ideal: options.frameRate } };
  let captured: MediaStream;
  try {
    captured = await navigator.mediaDevices.getDisplayMedia({ video, audio: false });
  } catch (error) {
    throw mediaError(error);
  }
  const [track] = captured.getVideoTracks();
  if (!track)
    throw new ClientError(clientErrorCodes.unableToPublish, 'the screen gave no video', { media: 'other' });
  return track;
}

/** Captures one device's track (true: the default device), with the options' size, frame rate and audio processing. */
export async function acquireTrack(
  kind: 'audio' | 'video',
  deviceId: string | true,
  options: MediaOptions,
): Promise<MediaStreamTrack> {
  const { constraints: _raw, ...rest } = options;
  const sources =
    kind === 'audio'
      ? { audioSource: deviceId, videoSource: false }
      : { audioSource: false, videoSource: deviceId };
  const [track] = (await acquireMedia({ ...rest, ...sources })).getTracks();
  if (!track)
    throw new ClientError(clientErrorCodes.unableToPublish, `no ${kind} from ${String(deviceId)}`, {
      media: 'notFound',
    });
  return track;
}

function audioConstraints(source: MediaSource, options: MediaOptions): MediaTrackConstraints | boolean {
  if (source === false || source === null || source instanceof MediaStreamTrack) return false;
  const processing = options.disableAudioProcessing
    ? { echoCancellation: false, noiseSuppression: false, autoGainControl: false }
    : {};
  return typeof source === 'string' ? { deviceId: { exact: source }, ...processing } : processing;
}

function videoConstraints(source: MediaSource, options: MediaOptions): MediaTrackConstraints | boolean {
  if (source === false || source === null || source instanceof MediaStreamTrack) return false;
  const [width, height] = (options.resolution ?? defaultResolution).split('x').map(Number);
  const constraints: MediaTrackConstraints = {
    width: { ideal: width ?? 640 },
    height: { ideal: height ?? 480 },
    frameRate: { ideal: options.frameRate ?? defaultFrameRate },
  };
  if (typeof source === 'string') constraints.deviceId = { exact: source };
  if (options.facingMode !== undefined) constraints.facingMode = options.facingMode;
  return constraints;
}

const failureByName: Readonly<Record<string, MediaFailure>> = {
  NotAllowedError: 'accessDenied',
  SecurityError: 'accessDenied',
  PermissionDeniedError: 'accessDenied',
  NotFoundError: 'notFound',
  DevicesNotFoundError: 'notFound',
  NotReadableError: 'unavailable',
  TrackStartError: 'unavailable',
  AbortError: 'unavailable',
  OverconstrainedError: 'overconstrained',
  ConstraintNotSatisfiedError: 'overconstrained',
};

function mediaError(error: unknown): ClientError {
  const name = error instanceof Error ? error.name : '';
  const media = failureByName[name] ?? 'other';
  const message = error instanceof Error ? error.message : String(error);
  return new ClientError(clientErrorCodes.unableToPublish, `cannot capture media (${name}): ${message}`, {
    media,
    cause: error,
  });
}
