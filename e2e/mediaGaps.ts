import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Subscriber } from '@parlor/client';
import type { BrowserPeer } from './helpers.js';

// Adaptive routing's measures in Chromium pages: which path each subscriber plays from, the
// longest time its decoded video frames or received audio packets stood still (from getStats
// every 50 ms), and whether its <video> element ever showed a black picture (its pixels, drawn
// to a canvas at each sample). Shared by e2e/adaptiveRouting.test.ts and the switch benchmark's runs.

/**
 * A sample that comes this long after the one before, ms, is too coarse to hold against a bound
 * of a few hundred ms: the page itself stalled (the machine is overloaded). It counts no gap;
 * `sampledEveryMs` reports the stall.
 */
const lateSampleMs = 120;

/**
 * A picture whose mean luma (0–255) is below this is black: Chromium's fake camera never comes
 * near it (its background is a bright green), a video element without a frame to show is 0.
 */
const blackLuma = 16;

/** The path each of the page's subscribers plays from, by stream ID. */
export function pathsOf(peer: BrowserPeer): Promise<Record<string, string | undefined>> {
  return peer.page.evaluate(async () => {
    const paths: Record<string, string | undefined> = {};
    for (const [streamId, subscriber] of window.participant.subscribers)
      paths[streamId] = (await subscriber.getStats()).mediaPath;
    return paths;
  });
}

/**
 * Waits until every page plays the streams of the other pages from `path` (the new path decoding
 * already); returns how long it took, ms.
 */
export async function everyonePlays(peers: readonly BrowserPeer[], path: string, timeoutMs: number) {
  const started = Date.now();
  const streamIds = await Promise.all(peers.map((peer) => peer.streamId()));
  for (;;) {
    const all = await Promise.all(peers.map(pathsOf));
    const done = all.every((paths, index) =>
      streamIds.every((streamId, other) => other === index || paths[streamId] === path),
    );
    if (done) return Date.now() - started;
    if (Date.now() - started > timeoutMs)
      assert.fail(`not every page plays ${path} after ${timeoutMs} ms: ${JSON.stringify(all)}`);
    await sleep(50);
  }
}

/** What a page measured: the longest gaps, when the longest video one ended, and how often it sampled. */
export interface Gaps {
  videoMs: number;
  audioMs: number;
  samples: number;
  /** The longest time between two samples, ms: the measure's resolution. */
  sampledEveryMs: number;
  /** When the longest video freeze was seen, ms from the start of the watch. */
  videoAt: number;
  /** Samples whose <video> picture was black, once it had shown one that was not. */
  blackFrames: number;
  /** The darkest picture's mean luma, 0–255, once one was shown. */
  minLuma: number;
}

/**
 * Starts measuring, in each page, the longest stand-still of the video frames and audio packets
 * of its subscribers to the other pages' streams (not to those of pages that come and go).
 */
export async function watchGaps(peers: readonly BrowserPeer[]): Promise<void> {
  const streamIds = await Promise.all(peers.map((peer) => peer.streamId()));
  await Promise.all(peers.map((peer) => watchPage(peer, streamIds)));
}

function watchPage(peer: BrowserPeer, streamIds: readonly string[]): Promise<void> {
  return peer.page.evaluate(
    ({ lateSampleMs, blackLuma, streamIds }) => {
      const seen = new Map<
        string,
        { frames: number; packets: number; framesAt: number; packetsAt: number; sampledAt: number }
      >();
      const start = performance.now();
      let lastSample = start;
      const gaps = {
        videoMs: 0,
        audioMs: 0,
        samples: 0,
        sampledEveryMs: 0,
        videoAt: 0,
        blackFrames: 0,
        minLuma: 255,
      };
      const canvas = document.createElement('canvas');
      canvas.width = 32;
      canvas.height = 24;
      const context = canvas.getContext('2d', { willReadFrequently: true });
      /** Streams whose picture has been seen not black: from then on a black one counts. */
      const lit = new Set<string>();
      /** The mean luma of the subscriber's picture now, 0–255 (0 when it has no frame to show). */
      const lumaOf = (subscriber: Subscriber): number | null => {
        const video = subscriber.element?.querySelector('video');
        if (!video || !context) return null;
        if (video.readyState < HTMLMediaElement.HAVE_CURRENT_DATA || video.videoWidth === 0) return 0;
        context.drawImage(video, 0, 0, canvas.width, canvas.height);
        const { data } = context.getImageData(0, 0, canvas.width, canvas.height);
        let sum = 0;
        for (let index = 0; index < data.length; index += 4)
          sum +=
            0.2126 * (data[index] ?? 0) + 0.7152 * (data[index + 1] ?? 0) + 0.0722 * (data[index + 2] ?? 0);
        return sum / (data.length / 4);
      };
      const lookAt = (streamId: string, subscriber: Subscriber): void => {
        const luma = lumaOf(subscriber);
        if (luma === null) return;
        if (!lit.has(streamId)) {
          if (luma >= blackLuma) lit.add(streamId);
          return;
        }
        gaps.minLuma = Math.min(gaps.minLuma, luma);
        if (luma < blackLuma) gaps.blackFrames += 1;
      };
      const watch = { gaps, running: true };
      (window as unknown as { gapWatch: typeof watch }).gapWatch = watch;
      const sampleOne = async (streamId: string, subscriber: Subscriber): Promise<void> => {
        lookAt(streamId, subscriber);
        const report = await subscriber.getRtcStatsReport().catch(() => null);
        if (!report) return;
        let frames = -1;
        let packets = -1;
        report.forEach((entry: RTCStats & Record<string, unknown>) => {
          if (entry.type !== 'inbound-rtp') return;
          if (entry.kind === 'video') frames = Number(entry.framesDecoded ?? 0);
          if (entry.kind === 'audio') packets = Number(entry.packetsReceived ?? 0);
        });
        const now = performance.now();
        const last = seen.get(streamId);
        if (!last) {
          if (frames > 0 && packets > 0)
            seen.set(streamId, { frames, packets, framesAt: now, packetsAt: now, sampledAt: now });
          return;
        }
        const late = now - last.sampledAt > lateSampleMs;
        last.sampledAt = now;
        if (late) {
          // What stood still before the stall, the sample before saw; what did during it, none can tell.
          Object.assign(last, { frames, packets, framesAt: now, packetsAt: now });
          return;
        }
        // After a switch the new path's counters are the ones played: any change is progress.
        if (frames !== last.frames) Object.assign(last, { frames, framesAt: now });
        else if (now - last.framesAt > gaps.videoMs) {
          gaps.videoMs = now - last.framesAt;
          gaps.videoAt = now - start;
        }
        if (packets !== last.packets) Object.assign(last, { packets, packetsAt: now });
        else gaps.audioMs = Math.max(gaps.audioMs, now - last.packetsAt);
      };
      const sample = async (): Promise<void> => {
        await Promise.all(
          [...window.participant.subscribers]
            .filter(([streamId]) => streamIds.includes(streamId))
            .map(([streamId, subscriber]) => sampleOne(streamId, subscriber)),
        );
        gaps.samples += 1;
        gaps.sampledEveryMs = Math.max(gaps.sampledEveryMs, performance.now() - lastSample);
        lastSample = performance.now();
        if (watch.running) setTimeout(() => void sample(), 50);
      };
      void sample();
    },
    { lateSampleMs, blackLuma, streamIds },
  );
}

/** Stops measuring; the longest gaps seen. */
export function gapsOf(peer: BrowserPeer): Promise<Gaps> {
  return peer.page.evaluate(() => {
    const watch = (window as unknown as { gapWatch: { gaps: Gaps; running: boolean } }).gapWatch;
    watch.running = false;
    const rounded = Object.entries(watch.gaps).map(([key, value]: [string, number]) => [
      key,
      Math.round(value),
    ]);
    return Object.fromEntries(rounded) as Gaps;
  });
}
