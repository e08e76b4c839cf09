import type { MediaMode, VideoType } from '@parlor/protocol';

/** An RTP encoding with WebRTC-SVC's scalability mode, which TypeScript's DOM library lacks. */
export interface VideoEncoding extends RTCRtpEncodingParameters {
  /** E.g. `L1T3`: one spatial layer, three temporal layers. */
  scalabilityMode?: string;
}

/** What decides whether a publisher sends simulcast layers (client-api.md §2.4). */
export interface ScalableVideoOptions {
  readonly mediaMode: MediaMode;
  readonly videoType: VideoType;
  /** Layers for camera and custom video. Default: true. */
  readonly scalableVideo?: boolean | undefined;
  /** Layers for screen sharing. Default: false. */
  readonly scalableScreenshare?: boolean | undefined;
}

/**
 * Whether the video goes out in simulcast layers: only to the Media Router (relayed streams have
 * one encoding per subscriber), and as OpenTok.js defaults, for cameras and custom sources but
 * not for screens.
 */
export function isScalable(options: ScalableVideoOptions): boolean {
  if (options.mediaMode !== 'routed') return false;
  return options.videoType === 'screen'
    ? (options.scalableScreenshare ?? false)
    : (options.scalableVideo ?? true);
}

/** How a publisher's video track is encoded. */
export interface VideoEncodingOptions {
  /** The captured size in pixels; null when the source does not say (no bitrate cap then). */
  readonly size: { readonly width: number; readonly height: number } | null;
  /** Frames per second to send (OpenTok's `frameRate`: 30, 15, 7 or 1). */
  readonly frameRate: number;
  /** Whether to send simulcast layers (see `isScalable`). */
  readonly simulcast: boolean;
}

/** The frame rate the bitrate caps are for. */
const referenceFrameRate = 30;

/**
 * Bitrate caps at 30 fps, bits/s, by an encoding's size: the first row whose pixel count the
 * encoding reaches. Near Chromium's own simulcast table and OpenTok's "excellent" figures
 * (640×480: 600 kbps; 1280×720: above 1 Mbps).
 */
const bitrateBySize: readonly { readonly pixels: number; readonly bitrate: number }[] = [
  { pixels: 1920 * 1080, bitrate: 2_500_000 },
  { pixels: 1280 * 720, bitrate: 1_500_000 },
  { pixels: 960 * 540, bitrate: 1_000_000 },
  { pixels: 640 * 480, bitrate: 600_000 },
  { pixels: 640 * 360, bitrate: 500_000 },
  { pixels: 480 * 270, bitrate: 300_000 },
  { pixels: 320 * 180, bitrate: 150_000 },
  { pixels: 0, bitrate: 100_000 },
];

/** The least a cap becomes at low frame rates, bits/s: below it a keyframe takes seconds to send. */
const minBitrate = 30_000;

/**
 * Simulcast layers, lowest first, named by RID: a quarter, half and full size. Chromium sends no
 * more layers than its table allows for the captured size, and drops the top ones beyond that:
 * three from 960×540 up, two from 480×270 up (640×480 sends half and full), one below.
 */
const layers = [
  { rid: 'q', scaleResolutionDownBy: 4 },
  { rid: 'h', scaleResolutionDownBy: 2 },
  { rid: 'f', scaleResolutionDownBy: 1 },
] as const;

/** How many simulcast layers a source of this size sends. */
export function simulcastLayerCount(width: number, height: number): 1 | 2 | 3 {
  const pixels = width * height;
  if (pixels >= 960 * 540) return 3;
  if (pixels >= 480 * 270) return 2;
  return 1;
}

/**
 * The bitrate cap of an encoding of this size at this frame rate: the table's, scaled by the
 * frame rate (so that 7 fps sends about a quarter of 30 fps), never below 30 kbps.
 */
export function videoBitrateCap(width: number, height: number, frameRate: number): number {
  const pixels = width * height;
  const atReference = bitrateBySize.find((row) => pixels >= row.pixels)?.bitrate ?? minBitrate;
  return Math.max(minBitrate, Math.round((atReference * frameRate) / referenceFrameRate));
}

/**
 * The `sendEncodings` of a video track. Simulcast: the layers the size allows, lowest first, each
 * with three temporal layers (L1T3, so the router can also lower the frame rate) and its own cap.
 * Otherwise one encoding without RID. Every encoding is held to the frame rate.
 */
export function videoSendEncodings(options: VideoEncodingOptions): VideoEncoding[] {
  const { size, frameRate } = options;
  if (!size) return [{ maxFramerate: frameRate }];
  const count = options.simulcast ? simulcastLayerCount(size.width, size.height) : 1;
  if (count === 1) {
    return [{ maxFramerate: frameRate, maxBitrate: videoBitrateCap(size.width, size.height, frameRate) }];
  }
  return layers.slice(layers.length - count).map(({ rid, scaleResolutionDownBy }) => ({
    rid,
    scaleResolutionDownBy,
    maxFramerate: frameRate,
    maxBitrate: videoBitrateCap(
      size.width / scaleResolutionDownBy,
      size.height / scaleResolutionDownBy,
      frameRate,
    ),
    scalabilityMode: 'L1T3',
  }));
}
