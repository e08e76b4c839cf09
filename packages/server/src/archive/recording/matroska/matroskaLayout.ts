import {
  element,
  floatElement,
  ids,
  masterElement,
  sizeLength,
  stringElement,
  uintElement,
  voidElement,
  writeId,
  writeSize,
} from './ebml.js';

/**
 * The fixed parts of a Parlor recording (RFC 9559): EBML header, Info and Tracks written at the
 * start with room reserved for what is only known later (SeekHead, Duration, the codec details
 * of a video track), and the Cues and SeekHead written at the end.
 */

export type MatroskaCodecId = 'A_OPUS' | 'V_VP8' | 'V_VP9' | 'V_MPEG4/ISO/AVC';

export interface AudioTrackHeader {
  readonly kind: 'audio';
  readonly number: number;
  readonly codecId: MatroskaCodecId;
  readonly codecPrivate: Uint8Array;
  readonly codecDelayNs: number;
  readonly seekPreRollNs: number;
  readonly samplingFrequency: number;
  readonly channels: number;
}

export interface VideoTrackHeader {
  readonly kind: 'video';
  readonly number: number;
  readonly codecId: MatroskaCodecId;
}

export type TrackHeader = AudioTrackHeader | VideoTrackHeader;

/** What a video track's first keyframe tells: its size and, for H.264, the avcC record. */
export interface VideoFormat {
  readonly width: number;
  readonly height: number;
  readonly codecPrivate?: Uint8Array;
}

/** Until the first keyframe tells the real size. */
export const placeholderVideoFormat: VideoFormat = { width: 640, height: 480 };

/** Bytes of a Duration element: 2-byte ID, 1-byte size, 8-byte float. */
export const durationElementLength = 11;
/** Bytes reserved at the start of the Segment for the SeekHead written on close. */
export const seekHeadReservedLength = 96;
/** Bytes reserved in a video TrackEntry for its codec details (an avcC record fits easily). */
const videoEntryReserve = 512;
/** TrackEntry sizes are written in 2 bytes so an entry can be rewritten in place. */
const trackEntrySizeLength = 2;

export function ebmlHeader(docType: 'webm' | 'matroska'): Buffer {
  return masterElement(ids.ebml, [
    uintElement(ids.ebmlVersion, 1),
    uintElement(ids.ebmlReadVersion, 1),
    uintElement(ids.ebmlMaxIdLength, 4),
    uintElement(ids.ebmlMaxSizeLength, 8),
    stringElement(ids.docType, docType),
    uintElement(ids.docTypeVersion, 4),
    // SimpleBlock needs a reader of version 2.
    uintElement(ids.docTypeReadVersion, 2),
  ]);
}

/** Info with a Void where the Duration goes on close; `durationOffset` is that Void's offset. */
export function infoElement(): { bytes: Buffer; durationOffset: number } {
  const children = [
    uintElement(ids.timestampScale, 1_000_000),
    stringElement(ids.muxingApp, 'Parlor'),
    stringElement(ids.writingApp, 'Parlor'),
  ];
  const bytes = masterElement(ids.info, [...children, voidElement(durationElementLength)]);
  return { bytes, durationOffset: bytes.length - durationElementLength };
}

/** Duration in milliseconds (the TimestampScale), as a float element (RFC 9559 §5.1.2.3). */
export function durationElement(durationMs: number): Buffer {
  return floatElement(ids.duration, durationMs);
}

/** Tracks, and the offset of each TrackEntry within it (to rewrite a video one in place). */
export function tracksElement(tracks: readonly TrackHeader[]): {
  bytes: Buffer;
  entryOffsets: Map<number, number>;
} {
  const entries = tracks.map((track) => {
    if (track.kind === 'audio') return audioTrackEntry(track);
    const entry = videoTrackEntry(track, placeholderVideoFormat);
    if (!entry) throw new RangeError('the placeholder video format does not fit its TrackEntry');
    return entry;
  });
  const bytes = masterElement(ids.tracks, entries);
  const entryOffsets = new Map<number, number>();
  let offset = bytes.length - entries.reduce((sum, entry) => sum + entry.length, 0);
  tracks.forEach((track, i) => {
    entryOffsets.set(track.number, offset);
    offset += entries[i]?.length ?? 0;
  });
  return { bytes, entryOffsets };
}

function audioTrackEntry(track: AudioTrackHeader): Buffer {
  return masterElement(ids.trackEntry, [
    ...commonTrackFields(track, 2),
    element(ids.codecPrivate, track.codecPrivate),
    uintElement(ids.codecDelay, track.codecDelayNs),
    uintElement(ids.seekPreRoll, track.seekPreRollNs),
    masterElement(ids.audio, [
      floatElement(ids.samplingFrequency, track.samplingFrequency),
      uintElement(ids.channels, track.channels),
    ]),
  ]);
}

/**
 * A video TrackEntry of a fixed size whatever the format, so the one written at the start can be
 * replaced in place; null if the format does not fit the reserve.
 */
export function videoTrackEntry(track: VideoTrackHeader, format: VideoFormat): Buffer | null {
  const fields = [
    ...commonTrackFields(track, 1),
    masterElement(ids.video, [
      uintElement(ids.pixelWidth, format.width, 2),
      uintElement(ids.pixelHeight, format.height, 2),
    ]),
  ];
  const fixedLength = fields.reduce((sum, field) => sum + field.length, 0);
  const dataLength = fixedLength + videoEntryReserve;
  if (format.codecPrivate) {
    let codecPrivate = element(ids.codecPrivate, format.codecPrivate);
    // A Void takes 2 bytes at least: a gap of one is closed by a wider size field.
    if (dataLength - fixedLength - codecPrivate.length === 1)
      codecPrivate = element(
        ids.codecPrivate,
        format.codecPrivate,
        sizeLength(format.codecPrivate.length) + 1,
      );
    fields.push(codecPrivate);
  }
  const used = fields.reduce((sum, field) => sum + field.length, 0);
  if (dataLength - used < 2 && dataLength !== used) return null;
  if (dataLength > used) fields.push(voidElement(dataLength - used));
  return masterElement(ids.trackEntry, fields, trackEntrySizeLength);
}

function commonTrackFields(track: TrackHeader, type: 1 | 2): Buffer[] {
  return [
    uintElement(ids.trackNumber, track.number),
    uintElement(ids.trackUid, track.number),
    uintElement(ids.trackType, type),
    uintElement(ids.flagLacing, 0),
    stringElement(ids.codecId, track.codecId),
  ];
}

/** A cue: the cluster at `clusterPosition` (from the Segment's data start) starts at `timeMs`. */
export interface CuePoint {
  readonly timeMs: number;
  readonly track: number;
  readonly clusterPosition: number;
}

export function cuesElement(points: readonly CuePoint[]): Buffer {
  return masterElement(
    ids.cues,
    points.map((point) =>
      masterElement(ids.cuePoint, [
        uintElement(ids.cueTime, point.timeMs),
        masterElement(ids.cueTrackPositions, [
          uintElement(ids.cueTrack, point.track),
          uintElement(ids.cueClusterPosition, point.clusterPosition),
        ]),
      ]),
    ),
  );
}

/** The SeekHead, padded with a Void to fill the space reserved for it. */
export function seekHeadElement(entries: readonly { id: number; position: number }[]): Buffer {
  const seekHead = masterElement(
    ids.seekHead,
    entries.map(({ id, position }) => {
      const seekId = Buffer.alloc(4);
      writeId(seekId, 0, id);
      return masterElement(ids.seek, [
        element(ids.seekId, seekId),
        uintElement(ids.seekPosition, position, 8),
      ]);
    }),
  );
  return Buffer.concat([seekHead, voidElement(seekHeadReservedLength - seekHead.length)]);
}

/** An 8-byte Segment size field, to patch the unknown size written at the start. */
export function segmentSizeField(size: number): Buffer {
  const field = Buffer.alloc(8);
  writeSize(field, 0, size, 8);
  return field;
}
