import { open, type FileHandle } from 'node:fs/promises';
import { opusPacketDurationMs } from './codecs/opus.js';
import { CorruptRecordingError } from './CorruptRecordingError.js';
import { ids, voidElement } from './matroska/ebml.js';
import {
  childElements,
  readBytes,
  readElementHeader,
  readUint,
  type ElementHeader,
} from './matroska/ebmlReader.js';
import {
  cuesElement,
  durationElement,
  durationElementLength,
  seekHeadElement,
  seekHeadReservedLength,
  segmentSizeField,
  type CuePoint,
} from './matroska/matroskaLayout.js';
import { TrackEnd } from './matroska/TrackEnd.js';

interface RecoveredTrack {
  readonly video: boolean;
  readonly opus: boolean;
  readonly end: TrackEnd;
}

/**
 * Makes a recording that was interrupted (the process killed before `close()`) a complete file:
 * drops a partly written trailing element, writes Cues, a SeekHead, the Duration and the Segment
 * size as `close()` would have. Returns the duration in ms. A complete file is left untouched,
 * so calling it again is harmless. Throws `CorruptRecordingError` when the file is not a Parlor
 * recording or was cut before its header was complete.
 */
export async function recoverRecording(path: string): Promise<number> {
  const file = await open(path, 'r+');
  try {
    return await recover(file, (await file.stat()).size);
  } finally {
    await file.close();
  }
}

async function recover(file: FileHandle, fileSize: number): Promise<number> {
  const ebml = await readElementHeader(file, 0, fileSize);
  if (ebml?.id !== ids.ebml || ebml.end > fileSize) throw new CorruptRecordingError('no EBML header');
  const segment = await readElementHeader(file, ebml.end, fileSize);
  if (segment?.id !== ids.segment) throw new CorruptRecordingError('no Segment');

  const tracks = new Map<number, RecoveredTrack>();
  const cues: CuePoint[] = [];
  let info: ElementHeader | null = null;
  let tracksElement: ElementHeader | null = null;
  let recordedDurationMs: number | null = null;
  let durationSlot = -1;
  let seekHeadSlot = false;
  /** Where the last element worth keeping ends: anything after it is cut off or rewritten. */
  let keptEnd = segment.dataStart;

  for (let position = segment.dataStart; position < fileSize;) {
    const element = await readElementHeader(file, position, fileSize);
    if (!element || element.end > fileSize || element.id === ids.cues) break;
    if (position === segment.dataStart && element.end - element.position === seekHeadReservedLength)
      seekHeadSlot = element.id === ids.void || element.id === ids.seekHead;
    if (element.id === ids.info) {
      info = element;
      for (const child of childElements(await readBytes(file, element.dataStart, element.size))) {
        const childLength = child.end - child.position;
        if (child.id === ids.duration)
          recordedDurationMs = child.data.length === 8 ? Buffer.from(child.data).readDoubleBE(0) : 0;
        if ((child.id === ids.duration || child.id === ids.void) && childLength === durationElementLength)
          durationSlot = element.dataStart + child.position;
      }
    } else if (element.id === ids.tracks) {
      tracksElement = element;
      readTracks(await readBytes(file, element.dataStart, element.size), tracks);
    } else if (element.id === ids.cluster) {
      readCluster(
        await readBytes(file, element.dataStart, element.size),
        element.position - segment.dataStart,
        tracks,
        cues,
      );
    }
    keptEnd = element.end;
    position = element.end;
  }
  if (!info || !tracksElement) throw new CorruptRecordingError('the header is incomplete');

  const complete =
    segment.size >= 0 && segment.dataStart + segment.size === fileSize && recordedDurationMs !== null;
  if (complete) return recordedDurationMs ?? 0;

  let durationMs = 0;
  for (const track of tracks.values()) durationMs = Math.max(durationMs, track.end.endMs);
  await file.truncate(keptEnd);
  const seekEntries: { id: number; position: number }[] = [
    { id: ids.info, position: info.position - segment.dataStart },
    { id: ids.tracks, position: tracksElement.position - segment.dataStart },
  ];
  let end = keptEnd;
  if (cues.length > 0) {
    const bytes = cuesElement(cues);
    await file.write(bytes, 0, bytes.length, end);
    seekEntries.push({ id: ids.cues, position: end - segment.dataStart });
    end += bytes.length;
  }
  if (seekHeadSlot) await writeAt(file, seekHeadElement(seekEntries), segment.dataStart);
  if (durationSlot >= 0)
    await writeAt(
      file,
      durationMs > 0 ? durationElement(durationMs) : voidElement(durationElementLength),
      durationSlot,
    );
  // Last, so that a recovery cut short is done again from the start next time.
  if (segment.sizeLength === 8)
    await writeAt(file, segmentSizeField(end - segment.dataStart), segment.dataStart - 8);
  await file.datasync();
  return durationMs;
}

async function writeAt(file: FileHandle, bytes: Buffer, position: number): Promise<void> {
  await file.write(bytes, 0, bytes.length, position);
}

function readTracks(data: Uint8Array, tracks: Map<number, RecoveredTrack>): void {
  for (const entry of childElements(data)) {
    if (entry.id !== ids.trackEntry) continue;
    let number = 0;
    let type = 0;
    let codecId = '';
    for (const field of childElements(entry.data)) {
      if (field.id === ids.trackNumber) number = readUint(field.data);
      else if (field.id === ids.trackType) type = readUint(field.data);
      else if (field.id === ids.codecId) codecId = Buffer.from(field.data).toString('latin1');
    }
    if (number > 0)
      tracks.set(number, { video: type === 1, opus: codecId === 'A_OPUS', end: new TrackEnd() });
  }
}

/** Follows the blocks of one cluster, and notes its cue as the writer would have. */
function readCluster(
  data: Uint8Array,
  clusterPosition: number,
  tracks: Map<number, RecoveredTrack>,
  cues: CuePoint[],
): void {
  const hasVideo = [...tracks.values()].some((track) => track.video);
  let clusterTimeMs = 0;
  let first = true;
  for (const child of childElements(data)) {
    if (child.id === ids.timestamp) clusterTimeMs = readUint(child.data);
    if (child.id !== ids.simpleBlock || child.data.length < 4) continue;
    const number = (child.data[0] as number) & 0x7f;
    const track = tracks.get(number);
    if (!track) continue;
    const timeMs =
      clusterTimeMs + Buffer.from(child.data.buffer, child.data.byteOffset + 1, 2).readInt16BE(0);
    const keyframe = ((child.data[3] as number) & 0x80) !== 0;
    if (first && (hasVideo ? track.video && keyframe : true))
      cues.push({ timeMs: clusterTimeMs, track: number, clusterPosition });
    first = false;
    track.end.add(timeMs, track.opus ? opusPacketDurationMs(child.data, 4, child.data.length) : 0);
  }
}
