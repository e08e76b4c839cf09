import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import OpenTok from 'opentok';
import type { JSHandle } from 'playwright-core';
import { fromCallback } from '@parlor/server/testing';
import {
  lightVideo,
  openBrowserPeer,
  startBrowserTestBed,
  type BrowserPeer,
  type BrowserTestBed,
} from './helpers.js';
import { expectTonesOnTheirChannels, stereoTones } from './stereoTones.js';

// OpenTok.js's audio options on Parlor: audioLevelUpdated on publishers and subscribers (and
// nothing running while nobody listens), stereo through the Media Router into an individual
// archive, the encoder's bitrate cap, DTX and audio processing.

let bed: BrowserTestBed;
let opentok: OpenTok;
const scratch = mkdtempSync(join(tmpdir(), 'parlor-audio-'));

before(async () => {
  bed = await startBrowserTestBed();
  opentok = new OpenTok(bed.parlor.apiKey, bed.parlor.apiSecret, { apiUrl: bed.parlor.url });
});
after(async () => {
  await bed.close();
  rmSync(scratch, { recursive: true, force: true });
});

const open = (sessionId: string) => openBrowserPeer(bed.browser, bed.app.url, bed.parlor.apiKey, sessionId);

declare global {
  interface Window {
    /** Levels an audioLevelUpdated handler got. */
    levels: number[];
    levelHandler: ((event: { audioLevel: number }) => void) | null;
    /** Audio contexts the page made, and receivers' synchronization sources read. */
    audioContexts: AudioContext[];
    sourceReads: number;
    peerConnections: RTCPeerConnection[];
  }
}

/** Counts, in a page, what producing audio levels costs: audio contexts and receiver reads; keeps peer connections. */
async function instrument(peer: BrowserPeer): Promise<void> {
  await peer.page.evaluate(() => {
    window.audioContexts = [];
    window.sourceReads = 0;
    window.peerConnections = [];
    const Context = window.AudioContext;
    window.AudioContext = class extends Context {
      constructor(options?: AudioContextOptions) {
        super(options);
        window.audioContexts.push(this);
      }
    };
    const read: () => RTCRtpSynchronizationSource[] = Reflect.get(
      RTCRtpReceiver.prototype,
      'getSynchronizationSources',
    );
    Reflect.set(RTCRtpReceiver.prototype, 'getSynchronizationSources', function (this: RTCRtpReceiver) {
      window.sourceReads++;
      return read.call(this);
    });
    const Connection = window.RTCPeerConnection;
    window.RTCPeerConnection = class extends Connection {
      constructor(configuration?: RTCConfiguration) {
        super(configuration);
        window.peerConnections.push(this);
      }
    };
  });
}

/** Listens to the page's publisher, or its subscriber to a stream, for `ms`; the levels heard. */
async function levelsOver(peer: BrowserPeer, ms: number, streamId?: string): Promise<number[]> {
  await peer.page.evaluate((streamId) => {
    window.levels = [];
    window.levelHandler = (event) => {
      window.levels.push(event.audioLevel);
    };
    const handler = window.levelHandler;
    if (streamId === undefined) window.participant.publisher?.on('audioLevelUpdated', handler);
    else window.participant.subscribers.get(streamId)?.on('audioLevelUpdated', handler);
  }, streamId);
  await sleep(ms);
  return peer.page.evaluate((streamId) => {
    const handler = window.levelHandler ?? undefined;
    if (streamId === undefined) window.participant.publisher?.off('audioLevelUpdated', handler);
    else window.participant.subscribers.get(streamId)?.off('audioLevelUpdated', handler);
    return window.levels;
  }, streamId);
}

/** Goertzel power of one frequency in 48 kHz samples. */
function power(samples: Float64Array, frequency: number): number {
  const coefficient = 2 * Math.cos((2 * Math.PI * frequency) / 48_000);
  let [previous, beforePrevious] = [0, 0];
  for (const sample of samples) {
    const current = sample + coefficient * previous - beforePrevious;
    beforePrevious = previous;
    previous = current;
  }
  return previous * previous + beforePrevious * beforePrevious - coefficient * previous * beforePrevious;
}

/** Publishes a Web Audio source in stereo: one tone on the left, another on the right; resolves with the error name, or null. */
function publishTones(peer: BrowserPeer): Promise<string | null> {
  return peer.page.evaluate(
    ({ tones, lightVideo }) =>
      new Promise<string | null>((resolve) => {
        const context = new AudioContext();
        const merger = context.createChannelMerger(2);
        for (const [channel, frequency] of [tones.left, tones.right].entries()) {
          const oscillator = context.createOscillator();
          oscillator.frequency.value = frequency;
          oscillator.connect(merger, 0, channel);
          oscillator.start();
        }
        const destination = context.createMediaStreamDestination();
        destination.channelCount = 2;
        merger.connect(destination);
        const { participant } = window;
        const publisher = window.OT.initPublisher(undefined, {
          ...lightVideo,
          insertMode: 'append',
          audioSource: destination.stream.getAudioTracks()[0],
          enableStereo: true,
          audioBitrate: 128_000,
          enableDtx: true,
        });
        participant.publisher = publisher;
        participant.session.publish(publisher, (error) => {
          resolve(error?.name ?? null);
        });
      }),
    { tones: stereoTones, lightVideo },
  );
}

/** The peer's `<video>` of its subscriber to the stream. */
function subscriberVideo(peer: BrowserPeer, streamId: string): Promise<JSHandle<HTMLVideoElement | null>> {
  return peer.page.evaluateHandle(
    (id) => window.participant.subscribers.get(id)?.element?.querySelector('video') ?? null,
    streamId,
  );
}

describe('audio levels', () => {
  it('reach publisher and subscriber listeners about 60 times a second, high while the microphone beeps and near 0 muted; nothing runs unheard', async () => {
    const sessionId = await bed.parlor.createSession({ mediaMode: 'routed' });
    const [alice, bob] = await Promise.all([open(sessionId), open(sessionId)]);
    await Promise.all([instrument(alice), instrument(bob)]);
    for (const peer of [alice, bob]) assert.equal(await peer.connect(bed.parlor.token(sessionId)), null);
    assert.equal(await alice.publish({ ...lightVideo, disableAudioProcessing: true }), null);
    const streamId = await alice.streamId();
    await bob.expectMediaFlowing(streamId);
    assert.deepEqual(
      await alice.page.evaluate(() => {
        const { echoCancellation, noiseSuppression, autoGainControl } =
          window.participant.publisher?.getAudioSource()?.getSettings() ?? {};
        return { echoCancellation, noiseSuppression, autoGainControl };
      }),
      { echoCancellation: false, noiseSuppression: false, autoGainControl: false },
    );
    // Nobody listens yet: no audio graph, no reads.
    await sleep(500);
    assert.equal(await alice.page.evaluate(() => window.audioContexts.length), 0);
    assert.equal(await bob.page.evaluate(() => window.sourceReads), 0);

    const [published, received] = await Promise.all([
      levelsOver(alice, 2500),
      levelsOver(bob, 2500, streamId),
    ]);
    for (const [levels, who] of [
      [published, 'publisher'],
      [received, 'subscriber'],
    ] as const) {
      // 60 a second is 150; a loaded machine's timers run late, never early.
      assert.ok(levels.length >= 60 && levels.length <= 165, `${levels.length} ${who} levels in 2.5 s`);
      assert.ok(Math.max(...levels) > 0.05, `the ${who} heard at most ${Math.max(...levels)}`);
      assert.ok(levels.every((level) => level >= 0 && level <= 1));
    }
    // Listening stopped: the publisher's audio graph is closed, the subscriber reads no more.
    const reads = await bob.page.evaluate(() => window.sourceReads);
    await sleep(300);
    assert.equal(await bob.page.evaluate(() => window.sourceReads), reads);
    const states = await alice.page.evaluate(() => window.audioContexts.map((context) => context.state));
    assert.deepEqual(states, ['closed']);

    // The default UI's meter shows while no video shows, fed by the same levels.
    const meter = await bob.page.evaluate(async (streamId) => {
      const subscriber = window.participant.subscribers.get(streamId);
      const element = () => subscriber?.element?.querySelector<HTMLElement>('.OT_audio-level-meter');
      subscriber?.subscribeToVideo(false);
      let widest = 0;
      for (let sample = 0; sample < 40; sample++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        widest = Math.max(widest, parseFloat(element()?.style.width ?? '0'));
      }
      subscriber?.subscribeToVideo(true);
      return { widest, hiddenWithVideo: element()?.hidden };
    }, streamId);
    assert.ok(meter.widest > 5, `the meter reached ${meter.widest}%`);
    assert.equal(meter.hiddenWithVideo, true);

    await alice.page.evaluate(() => window.participant.publisher?.publishAudio(false));
    await sleep(1000);
    const [mutedOut, mutedIn] = await Promise.all([levelsOver(alice, 2000), levelsOver(bob, 2000, streamId)]);
    assert.ok(Math.max(...mutedOut) < 0.01, `muted publisher at ${Math.max(...mutedOut)}`);
    assert.ok(Math.max(...mutedIn) < 0.01, `muted stream heard at ${Math.max(...mutedIn)}`);
    await Promise.all([alice.page.close(), bob.page.close()]);
  });
});

describe('stereo and the Opus options', () => {
  it('carries two tones on their own channels through the router to a subscriber and into an individual archive, at the bitrate asked', async () => {
    const sessionId = await bed.parlor.createSession({ mediaMode: 'routed' });
    const [alice, bob] = await Promise.all([open(sessionId), open(sessionId)]);
    await Promise.all([instrument(alice), instrument(bob)]);
    for (const peer of [alice, bob]) assert.equal(await peer.connect(bed.parlor.token(sessionId)), null);
    assert.equal(await publishTones(alice), null);
    const streamId = await alice.streamId();
    await bob.expectMediaFlowing(streamId);

    // The offer asks for stereo, the bitrate and DTX; the router's answer grants them; the
    // sender is capped; the subscriber's answer takes stereo.
    const negotiated = await alice.page.evaluate(() => {
      const [pc] = window.peerConnections;
      const opus = (sdp: string | undefined) => /a=fmtp:111 (.*)/.exec(sdp ?? '')?.[1] ?? '';
      const sender = pc?.getSenders().find((candidate) => candidate.track?.kind === 'audio');
      return {
        offer: opus(pc?.localDescription?.sdp),
        answer: opus(pc?.remoteDescription?.sdp),
        maxBitrate: sender?.getParameters().encodings[0]?.maxBitrate,
      };
    });
    for (const description of [negotiated.offer, negotiated.answer]) {
      for (const parameter of ['stereo=1', 'sprop-stereo=1', 'maxaveragebitrate=128000', 'usedtx=1'])
        assert.ok(description.includes(parameter), `${parameter} missing from ${description}`);
    }
    assert.equal(negotiated.maxBitrate, 128_000);
    const subscriberAnswer = await bob.page.evaluate(
      () => window.peerConnections.at(-1)?.localDescription?.sdp ?? '',
    );
    assert.match(subscriberAnswer, /a=fmtp:111 .*stereo=1/);

    await expectTonesOnTheirChannels(await subscriberVideo(bob, streamId));

    // An individual archive keeps both channels: ffprobe says 2, and each tone decodes on its side.
    const archive = await fromCallback<OpenTok.Archive>((done) => {
      opentok.startArchive(sessionId, { outputMode: 'individual' }, (error, started) => {
        done(error, started as OpenTok.Archive);
      });
    });
    await sleep(3000);
    await fromCallback((done) => {
      opentok.stopArchive(archive.id, done);
    });
    const deadline = Date.now() + 30_000;
    let stored = archive;
    while (stored.status !== 'available') {
      if (Date.now() > deadline) assert.fail(`archive ${stored.id} is ${stored.status}`);
      await sleep(250);
      stored = await fromCallback<OpenTok.Archive>((done) => {
        opentok.getArchive(archive.id, done);
      });
    }
    const response = await fetch(stored.url ?? '');
    const zip = join(scratch, 'archive.zip');
    writeFileSync(zip, Buffer.from(await response.arrayBuffer()));
    execFileSync('unzip', ['-o', '-q', zip, '-d', scratch]);
    const manifest = JSON.parse(execFileSync('unzip', ['-p', zip, `${stored.id}.json`]).toString()) as {
      files: { filename: string; streamId: string }[];
    };
    const file = join(scratch, manifest.files.find((entry) => entry.streamId === streamId)?.filename ?? '');
    const probe = JSON.parse(
      execFileSync('ffprobe', [
        '-v',
        'error',
        '-select_streams',
        'a',
        '-show_streams',
        '-of',
        'json',
        file,
      ]).toString(),
    ) as { streams: { codec_name: string; channels: number }[] };
    assert.deepEqual(
      probe.streams.map(({ codec_name, channels }) => [codec_name, channels]),
      [['opus', 2]],
    );
    const pcm = execFileSync('ffmpeg', [
      '-v',
      'error',
      '-i',
      file,
      '-map',
      '0:a',
      '-f',
      's16le',
      '-ac',
      '2',
      '-ar',
      '48000',
      '-',
    ]);
    const sides = [new Float64Array(pcm.length / 4), new Float64Array(pcm.length / 4)] as const;
    for (let frame = 0; frame < pcm.length / 4; frame++) {
      sides[0][frame] = pcm.readInt16LE(frame * 4) / 32768;
      sides[1][frame] = pcm.readInt16LE(frame * 4 + 2) / 32768;
    }
    const [recordedLeft, recordedRight] = sides;
    assert.ok(
      power(recordedLeft, stereoTones.left) > 100 * power(recordedLeft, stereoTones.right),
      'the left channel of the archive does not carry the left tone alone',
    );
    assert.ok(
      power(recordedRight, stereoTones.right) > 100 * power(recordedRight, stereoTones.left),
      'the right channel of the archive does not carry the right tone alone',
    );
    await Promise.all([alice.page.close(), bob.page.close()]);
  });

  it('carries the two tones peer to peer in a relayed session: the subscriber answers with stereo, the sender is capped', async () => {
    const sessionId = await bed.parlor.createSession({ mediaMode: 'relayed' });
    const [alice, bob] = await Promise.all([open(sessionId), open(sessionId)]);
    await Promise.all([instrument(alice), instrument(bob)]);
    for (const peer of [alice, bob]) assert.equal(await peer.connect(bed.parlor.token(sessionId)), null);
    assert.equal(await publishTones(alice), null);
    const streamId = await alice.streamId();
    await bob.expectMediaFlowing(streamId);
    const answer = await bob.page.evaluate(() => window.peerConnections.at(-1)?.localDescription?.sdp ?? '');
    assert.match(answer, /a=fmtp:111 .*stereo=1/);
    assert.match(answer, /a=fmtp:111 .*maxaveragebitrate=128000/);
    const maxBitrate = await alice.page.evaluate(
      () =>
        window.peerConnections[0]
          ?.getSenders()
          .find((sender) => sender.track?.kind === 'audio')
          ?.getParameters().encodings[0]?.maxBitrate,
    );
    assert.equal(maxBitrate, 128_000);
    await expectTonesOnTheirChannels(await subscriberVideo(bob, streamId));
    await Promise.all([alice.page.close(), bob.page.close()]);
  });
});
