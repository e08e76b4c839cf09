import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { openBrowserPeer, startBrowserTestBed, type BrowserPeer, type BrowserTestBed } from './helpers.js';

// The publisher's built-in filters as subscribers get them. Background blur and replacement in
// the decoded pixels: the camera is a head-and-shoulders figure over sharp vertical stripes.
// Noise suppression in the received audio's energy: the microphone is white noise. The model
// files come from Parlor's own origin, and nothing from anywhere else.

let bed: BrowserTestBed;
/** Every URL the pages asked for. */
const requested: string[] = [];

before(async () => {
  bed = await startBrowserTestBed();
});
after(() => bed.close());

/** Mean horizontal luminance change (sharpness) and mean colour of a region of a subscriber's picture. */
interface RegionReading {
  readonly energy: number;
  readonly rgb: readonly [number, number, number];
}
interface PictureReading {
  readonly background: RegionReading;
  readonly subject: RegionReading;
}

declare global {
  interface Window {
    /** Reads the background (top corners) and the subject (the shirt) of a video's picture. */
    readPicture(video: HTMLVideoElement | null | undefined): PictureReading | null;
    /** The microphone gives a vowel-like voice (true) or white noise (false, at first). */
    speak(on: boolean): void;
    /** The URLs of the AudioWorklet modules the page loaded, which playwright's request events miss. */
    workletModules: string[];
    /** Masks the SDK's segmentation worker sent the page. */
    workerMasks: number;
    /** The main thread's long tasks (over 50 ms), in ms, since the last reset. */
    longTasks: number[];
  }
}

/**
 * Makes the page's microphone white noise, and its camera a 640×480 canvas track: black and white stripes 4 px wide, and over
 * them a head and shoulders with a face, hair and a checked shirt, which the model takes for a
 * person.
 */
async function installCamera(page: Page): Promise<void> {
  await page.evaluate(() => {
    const draw = (g: CanvasRenderingContext2D) => {
      g.fillStyle = '#ddd';
      g.fillRect(0, 0, 640, 480);
      g.fillStyle = '#222';
      for (let x = 0; x < 640; x += 8) g.fillRect(x, 0, 4, 480);
      g.save();
      g.scale(2, 2);
      const cx = 160;
      g.fillStyle = '#2b4a8a';
      g.beginPath();
      g.moveTo(cx - 110, 240);
      g.bezierCurveTo(cx - 110, 173, cx - 70, 158, cx - 25, 154);
      g.lineTo(cx + 25, 154);
      g.bezierCurveTo(cx + 70, 158, cx + 110, 173, cx + 110, 240);
      g.closePath();
      g.fill();
      g.save();
      g.clip();
      g.fillStyle = '#7a9ae0';
      for (let y = 150; y < 240; y += 4)
        for (let x = ((y / 4) % 2) * 4; x < 320; x += 8) g.fillRect(x, y, 4, 4);
      g.restore();
      g.fillStyle = '#d7a07f';
      g.fillRect(cx - 18, 120, 36, 41);
      g.fillStyle = '#e2b08f';
      g.beginPath();
      g.ellipse(cx, 86, 42, 54, 0, 0, Math.PI * 2);
      g.fill();
      g.fillStyle = '#2e1f14';
      g.beginPath();
      g.ellipse(cx, 65, 46, 36, 0, Math.PI, Math.PI * 2);
      g.fill();
      g.fillRect(cx - 46, 58, 10, 30);
      g.fillRect(cx + 36, 58, 10, 30);
      g.fillStyle = '#fff';
      g.beginPath();
      g.ellipse(cx - 16, 84, 8, 4, 0, 0, Math.PI * 2);
      g.ellipse(cx + 16, 84, 8, 4, 0, 0, Math.PI * 2);
      g.fill();
      g.fillStyle = '#3b2a20';
      g.beginPath();
      g.arc(cx - 16, 84, 3, 0, Math.PI * 2);
      g.arc(cx + 16, 84, 3, 0, Math.PI * 2);
      g.fill();
      g.fillRect(cx - 25, 74, 18, 3);
      g.fillRect(cx + 7, 74, 18, 3);
      g.fillStyle = '#c48a6a';
      g.fillRect(cx - 3, 89, 6, 14);
      g.fillStyle = '#a0463c';
      g.beginPath();
      g.ellipse(cx, 110, 13, 4, 0, 0, Math.PI * 2);
      g.fill();
      g.fillStyle = '#d9a382';
      g.beginPath();
      g.ellipse(cx - 43, 89, 6, 11, 0, 0, Math.PI * 2);
      g.ellipse(cx + 43, 89, 6, 11, 0, 0, Math.PI * 2);
      g.fill();
      g.restore();
    };
    window.workletModules = [];
    const addModule: (this: AudioWorklet, url: string | URL, options?: WorkletOptions) => Promise<void> =
      Reflect.get(AudioWorklet.prototype, 'addModule');
    Reflect.set(
      AudioWorklet.prototype,
      'addModule',
      function (this: AudioWorklet, url: string | URL, options?: WorkletOptions) {
        window.workletModules.push(String(url));
        return addModule.call(this, url, options);
      },
    );
    const devices = navigator.mediaDevices;
    devices.getUserMedia = async (constraints) => {
      const tracks: MediaStreamTrack[] = [];
      if (constraints?.audio) {
        const audio = new AudioContext({ sampleRate: 48_000 });
        const noise = audio.createBuffer(1, 96_000, 48_000);
        const samples = noise.getChannelData(0);
        for (let i = 0; i < samples.length; i++) samples[i] = (Math.random() * 2 - 1) * 0.3;
        const noiseSource = audio.createBufferSource();
        noiseSource.buffer = noise;
        noiseSource.loop = true;
        // A vowel: harmonics of 130 Hz shaped by formants near 700, 1200 and 2600 Hz, in syllables of 250 ms.
        const harmonics = 36;
        const real = new Float32Array(harmonics + 1);
        const imag = new Float32Array(harmonics + 1);
        for (let k = 1; k <= harmonics; k++) {
          const f = 130 * k;
          imag[k] =
            [700, 1200, 2600].reduce((sum, formant) => sum + 1 / (1 + ((f - formant) / 120) ** 2), 0) /
            k ** 0.3;
        }
        const voice = audio.createOscillator();
        voice.frequency.value = 130;
        voice.setPeriodicWave(audio.createPeriodicWave(real, imag));
        const syllables = audio.createGain();
        syllables.gain.value = 0.5;
        const rhythm = audio.createOscillator();
        rhythm.frequency.value = 4;
        const depth = audio.createGain();
        depth.gain.value = 0.5;
        rhythm.connect(depth).connect(syllables.gain);
        const noiseGain = audio.createGain();
        const voiceGain = audio.createGain();
        voiceGain.gain.value = 0;
        const destination = audio.createMediaStreamDestination();
        noiseSource.connect(noiseGain).connect(destination);
        voice.connect(syllables).connect(voiceGain).connect(destination);
        window.speak = (on) => {
          noiseGain.gain.value = on ? 0 : 1;
          voiceGain.gain.value = on ? 0.3 : 0;
        };
        for (const source of [noiseSource, voice, rhythm]) source.start();
        await audio.resume();
        tracks.push(...destination.stream.getAudioTracks());
      }
      if (constraints?.video) {
        const canvas = document.createElement('canvas');
        canvas.width = 640;
        canvas.height = 480;
        const context = canvas.getContext('2d') as CanvasRenderingContext2D;
        draw(context);
        const timer = setInterval(() => {
          draw(context);
        }, 66);
        const [track] = canvas.captureStream(15).getVideoTracks() as [MediaStreamTrack];
        const stop = track.stop.bind(track);
        track.stop = () => {
          clearInterval(timer);
          stop();
        };
        tracks.push(track);
      }
      return new MediaStream(tracks);
    };
    window.readPicture = (video) => {
      if (!video || video.videoWidth === 0) return null;
      const canvas = document.createElement('canvas');
      canvas.width = 640;
      canvas.height = 480;
      const context = canvas.getContext('2d', { willReadFrequently: true }) as CanvasRenderingContext2D;
      context.drawImage(video, 0, 0, 640, 480);
      const region = (boxes: readonly (readonly [number, number, number, number])[]) => {
        let energy = 0;
        let pixels = 0;
        const rgb = [0, 0, 0];
        for (const [left, top, width, height] of boxes) {
          const { data } = context.getImageData(left, top, width, height);
          const luma = (i: number) =>
            0.299 * (data[i] ?? 0) + 0.587 * (data[i + 1] ?? 0) + 0.114 * (data[i + 2] ?? 0);
          for (let y = 0; y < height; y++) {
            for (let x = 0; x < width; x++) {
              const i = (y * width + x) * 4;
              for (let channel = 0; channel < 3; channel++)
                rgb[channel] = (rgb[channel] ?? 0) + (data[i + channel] ?? 0);
              if (x > 0) energy += Math.abs(luma(i) - luma(i - 4));
              pixels++;
            }
          }
        }
        return {
          energy: energy / pixels,
          rgb: rgb.map((sum) => Math.round(sum / pixels)) as [number, number, number],
        };
      };
      return {
        background: region([
          [8, 8, 150, 200],
          [482, 8, 150, 200],
        ]),
        subject: region([[250, 390, 140, 80]]),
      };
    };
  });
}

async function participant(sessionId: string): Promise<BrowserPeer> {
  const peer = await openBrowserPeer(bed.browser, bed.app.url, bed.parlor.apiKey, sessionId);
  peer.page.context().on('request', (request) => {
    requested.push(request.url());
  });
  await installCamera(peer.page);
  assert.equal(await peer.connect(bed.parlor.token(sessionId)), null);
  return peer;
}

function readSubscriber(peer: BrowserPeer, streamId: string): Promise<PictureReading | null> {
  return peer.page.evaluate(
    (streamId) =>
      window.readPicture(window.participant.subscribers.get(streamId)?.element?.querySelector('video')),
    streamId,
  );
}

/** Waits until the subscriber's picture meets `test`; fails with the last reading after 20 s. */
async function waitForPicture(
  peer: BrowserPeer,
  streamId: string,
  what: string,
  test: (reading: PictureReading) => boolean,
): Promise<PictureReading> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const last = await readSubscriber(peer, streamId);
    if (last && test(last)) return last;
    if (Date.now() > deadline) assert.fail(`${what}: the subscriber's picture reads ${JSON.stringify(last)}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** The audio energy a subscriber receives a second, over one second. */
async function audioEnergyRate(peer: BrowserPeer, streamId: string): Promise<number> {
  const first = await peer.mediaCounters(streamId);
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const last = await peer.mediaCounters(streamId);
  return last.audioEnergy - first.audioEnergy;
}

/** Switches the publisher's microphone to the voice or the noise; the subscriber's energy rate a second later. */
async function speaking(
  alice: BrowserPeer,
  bob: BrowserPeer,
  streamId: string,
  on: boolean,
): Promise<number> {
  await alice.page.evaluate((on) => {
    window.speak(on);
  }, on);
  await new Promise((resolve) => setTimeout(resolve, 1000));
  return audioEnergyRate(bob, streamId);
}

/**
 * Nothing was asked of any origin but Parlor's and the app's, and Parlor served files ending
 * with each of `endings` under `/v2/js/filters/`. (Worklet modules are not seen here.)
 */
function assertServedByParlorOnly(endings: readonly string[]): void {
  const allowed = new Set([new URL(bed.parlor.url).origin, new URL(bed.app.url).origin]);
  const outside = requested.filter((url) => !/^(data|blob):/.test(url) && !allowed.has(new URL(url).origin));
  assert.deepEqual(outside, []);
  const filters = requested.filter((url) => url.startsWith(`${bed.parlor.url}/v2/js/filters/`));
  for (const ending of endings) {
    assert.ok(
      filters.some((url) => url.endsWith(ending)),
      `no ${ending} from Parlor: ${filters.join(', ')}`,
    );
  }
}

describe('built-in filters', () => {
  it('background blur and replacement reach the subscriber of a routed session: the background loses its stripes or takes the image, the person stays sharp; clearVideoFilter restores the picture', async () => {
    const sessionId = await bed.parlor.createSession({ mediaMode: 'routed' });
    const alice = await participant(sessionId);
    const bob = await participant(sessionId);
    try {
      assert.equal(await alice.publish(), null);
      const streamId = await alice.streamId();
      const sharp = await waitForPicture(bob, streamId, 'unfiltered', ({ background, subject }) => {
        return background.energy > 20 && subject.energy > 5;
      });

      await alice.page.evaluate(() => {
        const NativeWorker = window.Worker;
        window.workerMasks = 0;
        window.Worker = class extends NativeWorker {
          constructor(url: string | URL, options?: WorkerOptions) {
            super(url, options);
            if (options?.name !== 'parlor-segmentation') return;
            this.addEventListener('message', ({ data }: MessageEvent<{ type?: string }>) => {
              if (data.type === 'mask') window.workerMasks++;
            });
          }
        };
        window.longTasks = [];
        new PerformanceObserver((list) => {
          for (const entry of list.getEntries()) window.longTasks.push(entry.duration);
        }).observe({ type: 'longtask' });
      });
      const applied = await alice.page.evaluate(async () => {
        const publisher = window.participant.publisher;
        await publisher?.applyVideoFilter({ type: 'backgroundBlur', blurStrength: 'high' });
        return publisher?.getVideoFilter();
      });
      assert.deepEqual(applied, { type: 'backgroundBlur', blurStrength: 'high' });
      await waitForPicture(
        bob,
        streamId,
        'blurred',
        ({ background, subject }) =>
          background.energy < sharp.background.energy * 0.2 && subject.energy > sharp.subject.energy * 0.5,
      );
      // The segmentation runs in the SDK's worker: masks keep coming from it, and the page's main
      // thread is left its frames to draw (on software WebGL a mask costs ~200 ms wherever it runs).
      const offMain = await alice.page.evaluate(async () => {
        const [masks, since] = [window.workerMasks, performance.now()];
        window.longTasks = [];
        await new Promise((resolve) => setTimeout(resolve, 3000));
        const busy = window.longTasks.reduce((sum, duration) => sum + duration, 0);
        return { masks: window.workerMasks - masks, share: busy / (performance.now() - since) };
      });
      assert.ok(offMain.masks >= 2, `${offMain.masks} masks from the worker in 3 s`);
      // On the main thread, segmenting kept it busy all the time (long tasks ~100 % of it).
      assert.ok(offMain.share < 0.6, `the main thread spent ${offMain.share} of its time in long tasks`);
      assert.ok(
        !requested.some((url) => url.includes('selfie_segmentation_solution')),
        'the main thread loaded no segmentation of its own',
      );

      await alice.page.evaluate(async () => {
        const image = document.createElement('canvas');
        image.width = 160;
        image.height = 90;
        const context = image.getContext('2d') as CanvasRenderingContext2D;
        context.fillStyle = 'rgb(40, 200, 60)';
        context.fillRect(0, 0, 160, 90);
        await window.participant.publisher?.applyVideoFilter({
          type: 'backgroundReplacement',
          backgroundImgUrl: image.toDataURL(),
        });
      });
      await waitForPicture(bob, streamId, 'replaced', ({ background, subject }) => {
        const [r, g, b] = background.rgb;
        return g > 150 && r < 90 && b < 110 && subject.energy > sharp.subject.energy * 0.5;
      });

      const cleared = await alice.page.evaluate(async () => {
        const publisher = window.participant.publisher;
        await publisher?.clearVideoFilter();
        return publisher?.getVideoFilter();
      });
      assert.equal(cleared, null);
      await waitForPicture(bob, streamId, 'cleared', ({ background }) => {
        return background.energy > sharp.background.energy * 0.5;
      });
      const ended = (await bob.events()).filter((event) => event.type === 'streamDestroyed');
      assert.deepEqual(ended, []);
      assertServedByParlorOnly([
        'segmentation-worker.js',
        'vision_wasm_module_internal.wasm',
        'selfie_segmentation_landscape_tasks.tflite',
      ]);
    } finally {
      await alice.page.close();
      await bob.page.close();
    }
  });

  it("the videoFilter option blurs a relayed publisher's background from the first frame the subscriber sees, and after a camera switch; bad filters are refused with OT_INVALID_PARAMETER", async () => {
    const sessionId = await bed.parlor.createSession({ mediaMode: 'relayed' });
    const alice = await participant(sessionId);
    const bob = await participant(sessionId);
    try {
      assert.equal(await alice.publish({ videoFilter: { type: 'backgroundBlur' } }), null);
      const streamId = await alice.streamId();
      const filter = await alice.page.evaluate(() => window.participant.publisher?.getVideoFilter());
      assert.deepEqual(filter, { type: 'backgroundBlur', blurStrength: 'low' });
      const first = await waitForPicture(bob, streamId, 'shown', () => true);
      assert.ok(
        first.background.energy < 3,
        `the first picture has a sharp background: ${JSON.stringify(first)}`,
      );
      await waitForPicture(
        bob,
        streamId,
        'blurred',
        ({ background, subject }) => background.energy < 3 && subject.energy > 6,
      );

      // Another camera: the filter goes on with it.
      const switched = await alice.page.evaluate(async () => {
        const publisher = window.participant.publisher;
        const before = publisher?.getVideoSource().track;
        await publisher?.setVideoSource('another-camera');
        return {
          replaced: publisher?.getVideoSource().track !== before,
          filter: publisher?.getVideoFilter(),
        };
      });
      assert.deepEqual(switched, { replaced: true, filter: { type: 'backgroundBlur', blurStrength: 'low' } });
      await new Promise((resolve) => setTimeout(resolve, 1000));
      await waitForPicture(
        bob,
        streamId,
        'blurred after the switch',
        ({ background, subject }) => background.energy < 3 && subject.energy > 6,
      );

      const refused = await alice.page.evaluate(async (missing) => {
        const publisher = window.participant.publisher;
        const names: string[] = [];
        for (const filter of [
          { type: 'sepia' },
          { type: 'backgroundBlur', blurStrength: 'medium' },
          { type: 'backgroundReplacement' },
          { type: 'backgroundReplacement', backgroundImgUrl: missing },
        ]) {
          // @ts-expect-error: filters OpenTok.js refuses
          await publisher?.applyVideoFilter(filter).then(
            () => names.push('applied'),
            (error: unknown) => names.push((error as Error).name),
          );
        }
        return { names, filter: publisher?.getVideoFilter() };
      }, `${bed.parlor.url}/v2/js/filters/missing.png`);
      assert.deepEqual(refused, {
        names: Array(4).fill('OT_INVALID_PARAMETER'),
        filter: { type: 'backgroundBlur', blurStrength: 'low' },
      });
      assertServedByParlorOnly(['.wasm', '.tflite']);
    } finally {
      await alice.page.close();
      await bob.page.close();
    }
  });

  it('advanced noise suppression takes white noise out of what the subscriber hears, and clearAudioFilter lets it through again', async () => {
    const sessionId = await bed.parlor.createSession({ mediaMode: 'routed' });
    const alice = await participant(sessionId);
    const bob = await participant(sessionId);
    try {
      assert.equal(await alice.publish({ publishVideo: false }), null);
      const streamId = await alice.streamId();
      await bob.page.waitForFunction((id) => window.participant.subscribers.has(id), streamId);
      const deadline = Date.now() + 15_000;
      let noisy = 0;
      while (noisy === 0 && Date.now() < deadline) noisy = await audioEnergyRate(bob, streamId);
      assert.ok(noisy > 0, 'no audio reached the subscriber');
      const voiced = await speaking(alice, bob, streamId, true);

      const applied = await alice.page.evaluate(async () => {
        const publisher = window.participant.publisher;
        await publisher?.applyAudioFilter({ type: 'advancedNoiseSuppression' });
        return publisher?.getAudioFilter();
      });
      assert.deepEqual(applied, { type: 'advancedNoiseSuppression' });
      const voicedFiltered = await speaking(alice, bob, streamId, true);
      const noisyFiltered = await speaking(alice, bob, streamId, false);
      const figures = JSON.stringify({ noisy, noisyFiltered, voiced, voicedFiltered });
      assert.ok(noisyFiltered < noisy / 10, `the noise goes through: ${figures}`);
      assert.ok(voicedFiltered > voiced / 4, `the voice is cut: ${figures}`);

      const cleared = await alice.page.evaluate(async () => {
        const publisher = window.participant.publisher;
        await publisher?.clearAudioFilter();
        return publisher?.getAudioFilter();
      });
      assert.equal(cleared, null);
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const restored = await audioEnergyRate(bob, streamId);
      assert.ok(restored > noisy / 2, `energy ${noisy} a second before, ${restored} after clearing`);
      assertServedByParlorOnly([]);
      assert.deepEqual(await alice.page.evaluate(() => window.workletModules), [
        `${bed.parlor.url}/v2/js/filters/noise-suppression-worklet.js`,
      ]);
    } finally {
      await alice.page.close();
      await bob.page.close();
    }
  });
});
