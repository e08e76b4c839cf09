import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { openBrowserPeer, startBrowserTestBed, type BrowserPeer, type BrowserTestBed } from './helpers.js';

// Background blur and replacement, as subscribers' decoded pixels show them: the publisher's
// camera is a head-and-shoulders figure over sharp vertical stripes; the person-segmentation
// model and its WebAssembly come from Parlor's own origin, and nothing from anywhere else.

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
  }
}

/**
 * Makes the page's camera a 640×480 canvas track: black and white stripes 4 px wide, and over
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
    const devices = navigator.mediaDevices;
    const capture = devices.getUserMedia.bind(devices);
    devices.getUserMedia = async (constraints) => {
      const tracks = constraints?.audio ? (await capture({ audio: constraints.audio })).getTracks() : [];
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
        track.addEventListener('ended', () => {
          clearInterval(timer);
        });
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
  peer.page.on('request', (request) => {
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

/** Parlor's origin and the app's: the only ones a page may ask anything of. */
function assertNoRequestLeftTheOrigins(): void {
  const allowed = new Set([new URL(bed.parlor.url).origin, new URL(bed.app.url).origin]);
  const outside = requested.filter((url) => !/^(data|blob):/.test(url) && !allowed.has(new URL(url).origin));
  assert.deepEqual(outside, []);
  const filters = requested.filter((url) => url.startsWith(`${bed.parlor.url}/v2/js/filters/`));
  assert.ok(
    filters.some((url) => url.endsWith('.wasm')),
    'the WebAssembly came from Parlor',
  );
  assert.ok(
    filters.some((url) => url.endsWith('.tflite')),
    'the model came from Parlor',
  );
}

describe('background filters', () => {
  it('background blur and replacement reach the subscriber of a routed session: the background loses its stripes or takes the image, the person stays sharp; clearVideoFilter restores the picture', async () => {
    const sessionId = bed.parlor.createSession({ mediaMode: 'routed' });
    const alice = await participant(sessionId);
    const bob = await participant(sessionId);
    try {
      assert.equal(await alice.publish(), null);
      const streamId = await alice.streamId();
      const sharp = await waitForPicture(bob, streamId, 'unfiltered', ({ background, subject }) => {
        return background.energy > 40 && subject.energy > 15;
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
          background.energy < sharp.background.energy * 0.25 && subject.energy > sharp.subject.energy * 0.6,
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
        return g > 150 && r < 90 && b < 110 && subject.energy > sharp.subject.energy * 0.6;
      });

      const cleared = await alice.page.evaluate(async () => {
        const publisher = window.participant.publisher;
        await publisher?.clearVideoFilter();
        return publisher?.getVideoFilter();
      });
      assert.equal(cleared, null);
      await waitForPicture(bob, streamId, 'cleared', ({ background }) => {
        return background.energy > sharp.background.energy * 0.7;
      });
      const ended = (await bob.events()).filter((event) => event.type === 'streamDestroyed');
      assert.deepEqual(ended, []);
      assertNoRequestLeftTheOrigins();
    } finally {
      await alice.page.close();
      await bob.page.close();
    }
  });

  it("the videoFilter option blurs a relayed publisher's background from the first frame the subscriber sees; bad filters are refused with OT_INVALID_PARAMETER", async () => {
    const sessionId = bed.parlor.createSession({ mediaMode: 'relayed' });
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
      assertNoRequestLeftTheOrigins();
    } finally {
      await alice.page.close();
      await bob.page.close();
    }
  });
});
