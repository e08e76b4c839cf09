import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RecordedFile, RecordOptions, StreamRecording } from '../ArchiveMedia.js';
import type { RecordStream } from '../../signaling/RoomArchiveMedia.js';

/**
 * How long a stop waits for ffmpeg's first packets, ms: told to quit before them, it leaves a file
 * with no media in it (on a loaded machine its start alone has taken longer than a short test's
 * recording).
 */
const firstPacketsTimeoutMs = 15_000;

/** What the test recorder writes for each stream. */
export interface FfmpegTestRecorderOptions {
  /** Picture size. Default: 320x240. */
  readonly size?: string;
  /** Default: 15. */
  readonly frameRate?: number;
  /** The ffmpeg to run. Default: ffmpeg on the PATH. */
  readonly ffmpegPath?: string;
}

/**
 * A recorder for tests in place of the Media Router's: for each stream, a live ffmpeg writes a
 * test pattern (testsrc2) and a tone as VP8 and Opus WebM in real time, streaming the file to
 * disk as a real recorder does, and completes it when stopped. An ffmpeg that ends by itself
 * with an error (a full disk) is reported as a recorder's write failure.
 */
export class FfmpegTestRecorder {
  readonly #size: string;
  readonly #frameRate: number;
  readonly #ffmpegPath: string;
  /** Tones of successive streams, so that each one sounds different. */
  #streams = 0;

  constructor(options: FfmpegTestRecorderOptions = {}) {
    this.#size = options.size ?? '320x240';
    this.#frameRate = options.frameRate ?? 15;
    this.#ffmpegPath = options.ffmpegPath ?? 'ffmpeg';
  }

  readonly record: RecordStream = (room, streamId, options) => {
    const info = room.stream(streamId)?.info;
    if (!info) return Promise.reject(new Error(`no stream ${streamId}`));
    return Promise.resolve(
      this.#start(options, options.hasVideo && info.hasVideo, options.hasAudio && info.hasAudio),
    );
  };

  #start(options: RecordOptions, video: boolean, audio: boolean): StreamRecording {
    const path = `${options.basePath}.webm`;
    if (!video && !audio) {
      return { stop: () => Promise.resolve({ path, startedAt: null, durationMs: 0 }) };
    }
    const frequency = 300 + 110 * (this.#streams++ % 8);
    const args = [
      '-hide_banner',
      '-loglevel',
      'error',
      '-y',
      ...(video ? ['-re', '-f', 'lavfi', '-i', `testsrc2=size=${this.#size}:rate=${this.#frameRate}`] : []),
      ...(audio ? ['-re', '-f', 'lavfi', '-i', `sine=frequency=${frequency}:sample_rate=48000`] : []),
      ...(video
        ? ['-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '300k', '-g', '30']
        : []),
      ...(audio ? ['-c:a', 'libopus', '-b:a', '32k'] : []),
      // Progress on standard output, to know when the first packets are written.
      '-progress',
      'pipe:1',
      '-stats_period',
      '0.1',
      // Write each half-second cluster as soon as it is complete, as a recorder streaming to disk does.
      '-flush_packets',
      '1',
      '-cluster_time_limit',
      '500',
      '-f',
      'webm',
      path,
    ];
    const child = spawn(this.#ffmpegPath, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const startedAt = Date.now();
    let errText = '';
    child.stderr.on('data', (chunk: Buffer) => {
      errText = (errText + chunk.toString('utf8')).slice(-500);
    });
    const firstPackets = new Promise<void>((resolve) => {
      let progress = '';
      child.stdout.on('data', (chunk: Buffer) => {
        progress = (progress + chunk.toString('utf8')).slice(-500);
        if (/out_time_us=[1-9]/.test(progress)) resolve();
      });
    });
    let stopping = false;
    /** Set when ffmpeg ended by itself with an error: the write failure a recorder reports. */
    let failure: Error | null = null;
    const exited = new Promise<void>((resolve) => {
      child.once('close', (code) => {
        if (!stopping && code !== 0) {
          failure = new Error(errText.trim().split('\n').at(-1) ?? `ffmpeg exited with ${String(code)}`);
          options.onWriteFailure(failure);
        }
        resolve();
      });
    });
    let stopped: Promise<RecordedFile> | null = null;
    return {
      stop: () => {
        stopped ??= (async () => {
          await Promise.race([firstPackets, exited, sleep(firstPacketsTimeoutMs, undefined, { ref: false })]);
          stopping = true;
          const durationMs = Date.now() - startedAt;
          // `q` on its standard input makes ffmpeg finish the file (cues, duration) and exit.
          if (child.exitCode === null && child.signalCode === null) child.stdin.end('q');
          await exited;
          if (failure) throw failure;
          return { path, startedAt, durationMs };
        })();
        return stopped;
      },
    };
  }
}
