import { close as closeFd, fdatasync, openSync, write } from 'node:fs';
import { promisify } from 'node:util';
import { ids, sizeLength, unknownSize8, voidElement, writeId, writeSize } from './ebml.js';
import {
  cuesElement,
  durationElement,
  ebmlHeader,
  infoElement,
  seekHeadElement,
  seekHeadReservedLength,
  segmentSizeField,
  tracksElement,
  videoTrackEntry,
  type CuePoint,
  type TrackHeader,
  type VideoFormat,
} from './matroskaLayout.js';
import { TrackEnd } from './TrackEnd.js';

const writeAsync = promisify(write);
const fdatasyncAsync = promisify(fdatasync);
const closeAsync = promisify(closeFd);

export interface MatroskaWriterOptions {
  /** The file to create; it must not exist. */
  readonly path: string;
  readonly docType: 'webm' | 'matroska';
  /** Numbered 1, 2, … in this order. */
  readonly tracks: readonly TrackHeader[];
  /** Longest time span of one cluster, ms: what a crash can lose at most. Default: 1000. */
  readonly maxClusterMs?: number;
  /** Called once if a write fails; nothing more is written after it. */
  readonly onWriteError: (error: Error) => void;
}

export interface MatroskaWriterResult {
  readonly durationMs: number;
  readonly bytes: number;
}

interface TrackState {
  readonly header: TrackHeader;
  readonly end: TrackEnd;
}

/** Cluster ID (4 bytes) and a size field of 4 bytes, patched when the cluster is complete. */
const clusterHeaderLength = 8;
const clusterSizeLength = 4;

/**
 * Writes a Matroska/WebM file as media arrives: the header at once, then each cluster (at most
 * `maxClusterMs` long, a new one at every video keyframe) with one positional write when it is
 * complete, so a killed process leaves a file whose complete clusters all play. `close()` adds
 * Cues and a SeekHead and patches Duration and the Segment size into the space left for them.
 */
export class MatroskaWriter {
  readonly #fd: number;
  readonly #tracks: (TrackState | undefined)[] = [];
  readonly #hasVideo: boolean;
  readonly #maxClusterMs: number;
  readonly #onWriteError: (error: Error) => void;
  readonly #segmentSizePosition: number;
  readonly #segmentDataStart: number;
  readonly #infoPosition: number;
  readonly #durationPosition: number;
  readonly #tracksPosition: number;
  readonly #entryOffsets: Map<number, number>;
  readonly #cues: CuePoint[] = [];
  #fileLength = 0;
  #pending: Promise<void> = Promise.resolve();
  #writeError: Error | null = null;
  #cluster = Buffer.allocUnsafe(64 * 1024);
  #clusterLength = 0;
  #clusterBlocks = 0;
  #clusterTimeMs = 0;
  /** The video track whose keyframe opened the current cluster, for its cue; 0 for none. */
  #clusterCueTrack = 0;

  constructor(options: MatroskaWriterOptions) {
    this.#fd = openSync(options.path, 'wx');
    this.#maxClusterMs = options.maxClusterMs ?? 1000;
    this.#onWriteError = options.onWriteError;
    this.#hasVideo = options.tracks.some((track) => track.kind === 'video');
    for (const header of options.tracks) this.#tracks[header.number] = { header, end: new TrackEnd() };

    const ebml = ebmlHeader(options.docType);
    const segmentHeader = Buffer.alloc(4);
    writeId(segmentHeader, 0, ids.segment);
    this.#segmentSizePosition = ebml.length + segmentHeader.length;
    this.#segmentDataStart = this.#segmentSizePosition + unknownSize8.length;
    const info = infoElement();
    this.#infoPosition = this.#segmentDataStart + seekHeadReservedLength;
    this.#durationPosition = this.#infoPosition + info.durationOffset;
    const tracks = tracksElement(options.tracks);
    this.#tracksPosition = this.#infoPosition + info.bytes.length;
    this.#entryOffsets = tracks.entryOffsets;
    this.#append(
      Buffer.concat([
        ebml,
        segmentHeader,
        unknownSize8,
        voidElement(seekHeadReservedLength),
        info.bytes,
        tracks.bytes,
      ]),
    );
  }

  /** Bytes handed to the file so far (some may still be in flight). */
  get bytes(): number {
    return this.#fileLength;
  }

  /** Rewrites a video track's entry with what its first keyframe told; false if it does not fit. */
  setVideoFormat(trackNumber: number, format: VideoFormat): boolean {
    const track = this.#tracks[trackNumber];
    const offset = this.#entryOffsets.get(trackNumber);
    if (track?.header.kind !== 'video' || offset === undefined) return false;
    const entry = videoTrackEntry(track.header, format);
    if (!entry) return false;
    this.#enqueue(entry, this.#tracksPosition + offset);
    return true;
  }

  /**
   * Adds one frame as a SimpleBlock. `timeMs` must not be negative nor go backwards within the
   * track. `durationMs` is the frame's own duration when the codec tells it (Opus), else 0.
   */
  writeBlock(
    trackNumber: number,
    timeMs: number,
    keyframe: boolean,
    data: Uint8Array,
    length: number,
    durationMs: number,
  ): void {
    const track = this.#tracks[trackNumber];
    if (!track) throw new TypeError(`trackNumber ${trackNumber} is not a track of this file`);
    const isVideoKeyframe = keyframe && track.header.kind === 'video';
    const relative = timeMs - this.#clusterTimeMs;
    if (
      this.#clusterLength === 0 ||
      (isVideoKeyframe && this.#clusterBlocks > 0) ||
      relative >= this.#maxClusterMs ||
      relative < -0x8000
    ) {
      this.#flushCluster();
      this.#startCluster(timeMs, isVideoKeyframe ? trackNumber : 0);
    }
    track.end.add(timeMs, durationMs);

    // SimpleBlock (RFC 9559 §10.2): track number as a vint, int16 time, flags, frame.
    const blockSize = 4 + length;
    const sizeBytes = sizeLength(blockSize);
    this.#reserveCluster(1 + sizeBytes + blockSize);
    const out = this.#cluster;
    let offset = this.#clusterLength;
    out[offset++] = ids.simpleBlock;
    offset = writeSize(out, offset, blockSize, sizeBytes);
    out[offset++] = 0x80 | trackNumber;
    out.writeInt16BE(timeMs - this.#clusterTimeMs, offset);
    offset += 2;
    out[offset++] = keyframe || track.header.kind === 'audio' ? 0x80 : 0;
    out.set(length === data.length ? data : data.subarray(0, length), offset);
    this.#clusterLength = offset + length;
    this.#clusterBlocks++;
  }

  /** Writes the last cluster, Cues, SeekHead, Duration and the Segment size, and closes the file. */
  async close(): Promise<MatroskaWriterResult> {
    this.#flushCluster();
    let durationMs = 0;
    for (const track of this.#tracks) if (track) durationMs = Math.max(durationMs, track.end.endMs);
    const seekEntries: { id: number; position: number }[] = [
      { id: ids.info, position: this.#infoPosition - this.#segmentDataStart },
      { id: ids.tracks, position: this.#tracksPosition - this.#segmentDataStart },
    ];
    if (this.#cues.length > 0) {
      seekEntries.push({ id: ids.cues, position: this.#fileLength - this.#segmentDataStart });
      this.#append(cuesElement(this.#cues));
    }
    this.#enqueue(seekHeadElement(seekEntries), this.#segmentDataStart);
    if (durationMs > 0) this.#enqueue(durationElement(durationMs), this.#durationPosition);
    this.#enqueue(segmentSizeField(this.#fileLength - this.#segmentDataStart), this.#segmentSizePosition);
    await this.#pending;
    try {
      if (!this.#writeError) await fdatasyncAsync(this.#fd);
    } finally {
      await closeAsync(this.#fd);
    }
    if (this.#writeError) throw this.#writeError;
    return { durationMs, bytes: this.#fileLength };
  }

  #startCluster(timeMs: number, cueTrack: number): void {
    this.#clusterTimeMs = timeMs;
    this.#clusterCueTrack = cueTrack;
    this.#reserveCluster(clusterHeaderLength + 10);
    let offset = writeId(this.#cluster, 0, ids.cluster) + clusterSizeLength;
    // Timestamp (§5.1.3.1), an unsigned integer of as few bytes as it needs.
    this.#cluster[offset++] = ids.timestamp;
    const width =
      timeMs < 0x100 ? 1 : timeMs < 0x10000 ? 2 : timeMs < 0x1000000 ? 3 : timeMs < 2 ** 32 ? 4 : 6;
    this.#cluster[offset++] = 0x80 | width;
    this.#cluster.writeUIntBE(timeMs, offset, width);
    this.#clusterLength = offset + width;
  }

  #flushCluster(): void {
    if (this.#clusterLength === 0) return;
    writeSize(this.#cluster, 4, this.#clusterLength - clusterHeaderLength, clusterSizeLength);
    const clusterPosition = this.#fileLength - this.#segmentDataStart;
    if (this.#clusterCueTrack > 0)
      this.#cues.push({ timeMs: this.#clusterTimeMs, track: this.#clusterCueTrack, clusterPosition });
    else if (!this.#hasVideo) this.#cues.push({ timeMs: this.#clusterTimeMs, track: 1, clusterPosition });
    // The cluster buffer is reused at once: the write gets its own copy.
    this.#append(Buffer.from(this.#cluster.subarray(0, this.#clusterLength)));
    this.#clusterLength = 0;
    this.#clusterBlocks = 0;
  }

  #reserveCluster(extra: number): void {
    const needed = this.#clusterLength + extra;
    if (needed <= this.#cluster.length) return;
    let size = this.#cluster.length * 2;
    while (size < needed) size *= 2;
    const grown = Buffer.allocUnsafe(size);
    this.#cluster.copy(grown, 0, 0, this.#clusterLength);
    this.#cluster = grown;
  }

  #append(data: Buffer): void {
    this.#enqueue(data, this.#fileLength);
    this.#fileLength += data.length;
  }

  #enqueue(data: Buffer, position: number): void {
    this.#pending = this.#pending.then(async () => {
      if (this.#writeError) return;
      try {
        let written = 0;
        while (written < data.length) {
          const { bytesWritten } = await writeAsync(
            this.#fd,
            data,
            written,
            data.length - written,
            position + written,
          );
          written += bytesWritten;
        }
      } catch (error) {
        this.#writeError = error instanceof Error ? error : new Error(String(error));
        this.#onWriteError(this.#writeError);
      }
    });
  }
}
