import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import type { PublisherProperties } from '@parlor/client';
import { openBrowserPeer, startBrowserTestBed, type BrowserPeer, type BrowserTestBed } from './helpers.js';

// Publishers switching what they send on the live connections — another camera, a track of the
// page's, a media processor's output — as the subscribers' decoded pixels show; and the
// OpenTok.js surface around it (collections, capability checks, errors).

let bed: BrowserTestBed;

before(async () => {
  bed = await startBrowserTestBed();
});
after(() => bed.close());

/** The colours of the page's two cameras and of its own track, as the pixels tell them. */
type Colour = 'red' | 'blue' | 'green' | 'cyan' | 'other';

declare global {
  interface Window {
    /** A canvas track of one colour, a small square moving in its corner (so that frames change); 640 × 480 unless said. */
    colourTrack(
      rgb: readonly [number, number, number],
      deviceId?: string,
      size?: { readonly width: number; readonly height: number },
    ): MediaStreamTrack;
    /** The colour at the middle of a video element's picture. */
    colourOf(video: HTMLVideoElement | null | undefined): Colour;
    /** How often the inverting connector was destroyed. */
    connectorDestroyed: number;
    /** How many descriptions the page's peer connections set: each negotiation sets one. */
    descriptionsSet: number;
  }
  /** Chromium's breakout box, which TypeScript's DOM types lack. */
  const MediaStreamTrackProcessor: new (init: { track: MediaStreamTrack }) => {
    readonly readable: ReadableStream<VideoFrame>;
  };
  const MediaStreamTrackGenerator: new (init: { kind: 'video' }) => MediaStreamTrack & {
    readonly writable: WritableStream<VideoFrame>;
  };
}

/**
 * Gives the page two cameras of its own, `red-camera` (640 × 480) and `blue-camera` (320 × 240)
 * (canvas tracks, listed by `enumerateDevices`, captured by `getUserMedia` by device ID; red by
 * default), and the helpers above. The microphone stays the fake one.
 */
async function installCameras(page: Page): Promise<void> {
  await page.evaluate(() => {
    const colours: Record<string, [number, number, number]> = {
      'red-camera': [220, 30, 30],
      'blue-camera': [30, 30, 220],
    };
    window.colourTrack = (rgb, deviceId, { width, height } = { width: 640, height: 480 }) => {
      const canvas = document.createElement('canvas');
      canvas.width = width;
      canvas.height = height;
      const context = canvas.getContext('2d') as CanvasRenderingContext2D;
      let frame = 0;
      const timer = setInterval(() => {
        context.fillStyle = `rgb(${rgb.join(',')})`;
        context.fillRect(0, 0, width, height);
        context.fillStyle = '#fff';
        context.fillRect((frame++ * 8) % (width - 40), 0, 40, 40);
      }, 66);
      const [track] = canvas.captureStream(15).getVideoTracks() as [CanvasCaptureMediaStreamTrack];
      const settings = track.getSettings.bind(track);
      track.getSettings = () => ({ ...settings(), ...(deviceId === undefined ? {} : { deviceId }) });
      const stop = track.stop.bind(track);
      track.stop = () => {
        clearInterval(timer);
        stop();
      };
      return track;
    };
    window.colourOf = (video) => {
      if (!video || video.videoWidth === 0) return 'other';
      const canvas = document.createElement('canvas');
      canvas.width = 32;
      canvas.height = 24;
      const context = canvas.getContext('2d', { willReadFrequently: true }) as CanvasRenderingContext2D;
      context.drawImage(video, 0, 0, 32, 24);
      const { data } = context.getImageData(12, 8, 8, 8);
      const mean = [0, 1, 2].map((channel) => {
        let sum = 0;
        for (let i = channel; i < data.length; i += 4) sum += data[i] ?? 0;
        return sum / (data.length / 4);
      });
      const [r = 0, g = 0, b = 0] = mean;
      const high = (value: number) => value > 150;
      const low = (value: number) => value < 100;
      if (high(r) && low(g) && low(b)) return 'red';
      if (high(b) && low(r) && low(g)) return 'blue';
      if (high(g) && low(r) && low(b)) return 'green';
      if (high(g) && high(b) && low(r)) return 'cyan';
      return 'other';
    };
    window.descriptionsSet = 0;
    const setLocal: (this: RTCPeerConnection, description?: RTCSessionDescriptionInit) => Promise<void> =
      Reflect.get(RTCPeerConnection.prototype, 'setLocalDescription');
    Reflect.set(
      RTCPeerConnection.prototype,
      'setLocalDescription',
      function (this: RTCPeerConnection, description?: RTCSessionDescriptionInit) {
        window.descriptionsSet++;
        return setLocal.call(this, description);
      },
    );
    const devices = navigator.mediaDevices;
    const enumerate = devices.enumerateDevices.bind(devices);
    const capture = devices.getUserMedia.bind(devices);
    devices.enumerateDevices = async () => [
      ...(await enumerate()).filter((device) => device.kind !== 'videoinput'),
      ...Object.keys(colours).map(
        (deviceId) =>
          ({
            deviceId,
            kind: 'videoinput',
            label: deviceId,
            groupId: '',
            toJSON: () => ({}),
          }) satisfies MediaDeviceInfo,
      ),
    ];
    devices.getUserMedia = async (constraints) => {
      const tracks = constraints?.audio ? (await capture({ audio: constraints.audio })).getTracks() : [];
      if (constraints?.video) {
        const wanted = typeof constraints.video === 'object' ? constraints.video.deviceId : undefined;
        const deviceId =
          typeof wanted === 'object' && !Array.isArray(wanted) ? String(wanted.exact) : 'red-camera';
        const rgb = colours[deviceId];
        if (!rgb) throw new DOMException(`no camera ${deviceId}`, 'NotFoundError');
        tracks.push(
          window.colourTrack(
            rgb,
            deviceId,
            deviceId === 'blue-camera' ? { width: 320, height: 240 } : undefined,
          ),
        );
      }
      return new MediaStream(tracks);
    };
  });
}

/** The colour a peer's subscriber to the stream shows. */
function subscriberColour(peer: BrowserPeer, streamId: string): Promise<Colour> {
  return peer.page.evaluate(
    (streamId) =>
      window.colourOf(window.participant.subscribers.get(streamId)?.element?.querySelector('video')),
    streamId,
  );
}

/** Waits until every peer's subscriber to the stream shows the colour. */
async function expectColour(peers: readonly BrowserPeer[], streamId: string, colour: Colour): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const seen = await Promise.all(peers.map((peer) => subscriberColour(peer, streamId)));
    if (seen.every((found) => found === colour)) return;
    if (Date.now() > deadline) assert.fail(`subscribers show ${seen.join(', ')}, not ${colour}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/**
 * Waits until every peer's stream object tells the size, and each saw it in a
 * `streamPropertyChanged` as OpenTok.js dispatches it.
 */
async function expectDimensions(
  peers: readonly BrowserPeer[],
  streamId: string,
  size: { readonly width: number; readonly height: number },
): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const seen = await Promise.all(
      peers.map((peer) =>
        peer.page.evaluate(
          ({ streamId, size }) => {
            const { videoDimensions } = window.participant.subscribers.get(streamId)?.stream ?? {};
            const told = window.participant.events.some(
              (event) =>
                event.type === 'streamPropertyChanged' &&
                event.property === 'videoDimensions' &&
                JSON.stringify(event.value) === JSON.stringify(size),
            );
            return { videoDimensions, told };
          },
          { streamId, size },
        ),
      ),
    );
    if (
      seen.every(
        ({ videoDimensions, told }) => told && JSON.stringify(videoDimensions) === JSON.stringify(size),
      )
    )
      return;
    if (Date.now() > deadline)
      assert.fail(`subscribers see ${JSON.stringify(seen)}, not ${JSON.stringify(size)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** The colour the publisher's own preview shows. */
function previewColour(peer: BrowserPeer): Promise<Colour> {
  return peer.page.evaluate(() =>
    window.colourOf(window.participant.publisher?.element?.querySelector('video')),
  );
}

/** Opens a connected participant with the page's cameras. */
async function participant(sessionId: string): Promise<BrowserPeer> {
  const peer = await openBrowserPeer(bed.browser, bed.app.url, bed.parlor.apiKey, sessionId);
  await installCameras(peer.page);
  assert.equal(await peer.connect(bed.parlor.token(sessionId)), null);
  return peer;
}

/**
 * Publishes Alice's red camera to the subscribers, then: `cycleVideo` to the blue one (of another
 * size, which the stream's `videoDimensions` follow), a green track of the page's, a red camera
 * again by device ID — each seen by every subscriber and in Alice's preview, with no stream ended
 * and no negotiation.
 */
async function switchSources(alice: BrowserPeer, subscribers: readonly BrowserPeer[]): Promise<void> {
  const streamId = await alice.streamId();
  await expectColour(subscribers, streamId, 'red');
  assert.equal(await previewColour(alice), 'red');
  const descriptionsSet = await alice.page.evaluate(() => window.descriptionsSet);
  assert.ok(descriptionsSet > 0, 'the publisher set no description');

  const cycled = await alice.page.evaluate(async () => {
    const publisher = window.participant.publisher;
    const before = publisher?.getVideoSource().track;
    const { deviceId } = (await publisher?.cycleVideo()) ?? { deviceId: '' };
    return { deviceId, source: publisher?.getVideoSource().deviceId, oldStopped: before?.readyState };
  });
  assert.deepEqual(cycled, { deviceId: 'blue-camera', source: 'blue-camera', oldStopped: 'ended' });
  await expectColour(subscribers, streamId, 'blue');
  assert.equal(await previewColour(alice), 'blue');
  await expectDimensions(subscribers, streamId, { width: 320, height: 240 });

  const custom = await alice.page.evaluate(async () => {
    const publisher = window.participant.publisher;
    const track = window.colourTrack([30, 200, 30]);
    await publisher?.setVideoSource(track);
    const { type, deviceId } = publisher?.getVideoSource() ?? {};
    return { type, deviceId, same: publisher?.getVideoSource().track === track };
  });
  assert.deepEqual(custom, { type: 'custom', deviceId: null, same: true });
  await expectColour(subscribers, streamId, 'green');
  assert.equal(await previewColour(alice), 'green');

  await alice.page.evaluate(() => window.participant.publisher?.setVideoSource('red-camera'));
  await expectColour(subscribers, streamId, 'red');
  await expectDimensions(subscribers, streamId, { width: 640, height: 480 });
  assert.equal(await alice.page.evaluate(() => window.descriptionsSet), descriptionsSet, 'renegotiated');
  for (const peer of [alice, ...subscribers]) assert.equal(await peer.count('streamDestroyed'), 0);
  assert.equal(await alice.count('streamDestroyed', 'publisher'), 0);
}

describe('switching a publisher’s video', () => {
  it('cycleVideo and setVideoSource switch what each relayed subscriber decodes (one peer connection each), and the preview', async () => {
    const sessionId = await bed.parlor.createSession({ mediaMode: 'relayed' });
    const [alice, bob, carol] = await Promise.all([
      participant(sessionId),
      participant(sessionId),
      participant(sessionId),
    ]);
    assert.equal(await alice.publish({ width: 160, height: 120 }), null);
    await switchSources(alice, [bob, carol]);
    await Promise.all([alice.page.close(), bob.page.close(), carol.page.close()]);
  });

  it('switches every simulcast layer in a routed session: subscribers of the lower and the higher layer see it', async () => {
    const sessionId = await bed.parlor.createSession({ mediaMode: 'routed' });
    const [alice, bob, carol] = await Promise.all([
      participant(sessionId),
      participant(sessionId),
      participant(sessionId),
    ]);
    const hd: PublisherProperties = { resolution: '640x480', width: 160, height: 120 };
    assert.equal(await alice.publish(hd), null);
    const streamId = await alice.streamId();
    await bob.page.evaluate((streamId) => {
      window.participant.subscribers.get(streamId)?.setPreferredResolution({ width: 320, height: 240 });
    }, streamId);
    const deadline = Date.now() + 20_000;
    for (;;) {
      const widths = [bob, carol].map(async (peer) => (await peer.mediaCounters(streamId)).videoWidth);
      const [low, high] = await Promise.all(widths);
      if (low === 320 && high === 640) break;
      if (Date.now() > deadline) assert.fail(`Bob and Carol get ${low} and ${high} pixels, not 320 and 640`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    await switchSources(alice, [bob, carol]);
    assert.equal((await bob.mediaCounters(streamId)).videoWidth, 320);
    await Promise.all([alice.page.close(), bob.page.close(), carol.page.close()]);
  });

  it('sends the video through a media processor connector, and as captured again after null', async () => {
    const sessionId = await bed.parlor.createSession({ mediaMode: 'routed' });
    const [alice, bob] = await Promise.all([participant(sessionId), participant(sessionId)]);
    assert.equal(await alice.publish({ width: 160, height: 120 }), null);
    const streamId = await alice.streamId();
    await expectColour([bob], streamId, 'red');

    const supported = await alice.page.evaluate(async () => {
      window.connectorDestroyed = 0;
      // Inverts every frame: red comes out cyan.
      const aborted = new AbortController();
      const connector = {
        setTrack: async (track: MediaStreamTrack) => {
          const processor = new MediaStreamTrackProcessor({ track });
          const generator = new MediaStreamTrackGenerator({ kind: 'video' });
          const canvas = new OffscreenCanvas(1, 1);
          const context = canvas.getContext('2d') as OffscreenCanvasRenderingContext2D;
          const invert = new TransformStream<VideoFrame, VideoFrame>({
            transform(frame, controller) {
              canvas.width = frame.displayWidth;
              canvas.height = frame.displayHeight;
              context.globalCompositeOperation = 'source-over';
              context.drawImage(frame, 0, 0);
              context.globalCompositeOperation = 'difference';
              context.fillStyle = '#fff';
              context.fillRect(0, 0, canvas.width, canvas.height);
              controller.enqueue(new VideoFrame(canvas, { timestamp: frame.timestamp }));
              frame.close();
            },
          });
          void processor.readable
            .pipeThrough(invert)
            .pipeTo(generator.writable, { signal: aborted.signal })
            .catch(() => undefined);
          return generator;
        },
        destroy: async () => {
          window.connectorDestroyed++;
          aborted.abort();
        },
      };
      await window.participant.publisher?.setVideoMediaProcessorConnector(connector);
      return window.OT.hasMediaProcessorSupport();
    });
    assert.equal(supported, true);
    await expectColour([bob], streamId, 'cyan');
    assert.equal(await previewColour(alice), 'cyan');

    await alice.page.evaluate(() => window.participant.publisher?.setVideoMediaProcessorConnector(null));
    await expectColour([bob], streamId, 'red');
    assert.equal(await alice.page.evaluate(() => window.connectorDestroyed), 1);
    assert.equal(await bob.count('streamDestroyed'), 0);
    await Promise.all([alice.page.close(), bob.page.close()]);
  });
});

describe('switching a publisher’s audio', () => {
  it('setAudioSource sends a track of the page’s, then another microphone, to the subscriber', async () => {
    const sessionId = await bed.parlor.createSession({ mediaMode: 'routed' });
    const [alice, bob] = await Promise.all([participant(sessionId), participant(sessionId)]);
    assert.equal(await alice.publish({ width: 160, height: 120 }), null);
    const streamId = await alice.streamId();
    await bob.expectMediaFlowing(streamId);
    /** The received audio's energy at 3 kHz over the rest of the spectrum, in dB. */
    const toneAt3kHz = () =>
      bob.page.evaluate(async (streamId) => {
        const video = window.participant.subscribers.get(streamId)?.element?.querySelector('video');
        const track = (video?.srcObject as MediaStream | null)?.getAudioTracks()[0];
        if (!track) return -Infinity;
        const context = new AudioContext({ sampleRate: 48_000 });
        const analyser = context.createAnalyser();
        analyser.fftSize = 2048;
        context.createMediaStreamSource(new MediaStream([track])).connect(analyser);
        await new Promise((resolve) => setTimeout(resolve, 600));
        const spectrum = new Float32Array(analyser.frequencyBinCount);
        analyser.getFloatFrequencyData(spectrum);
        await context.close();
        const tone = spectrum[Math.round((3000 / 48_000) * 2048)] ?? -Infinity;
        const others = [...spectrum].filter((_, bin) => Math.abs(bin - 128) > 4);
        return tone - Math.max(...others);
      }, streamId);
    const microphone = await toneAt3kHz();
    assert.ok(microphone < 20, `the microphone has a 3 kHz tone ${microphone} dB out`);

    // A headset plugged in becomes the browser's default microphone (the page plays the system:
    // the list names it the default, and capturing the default gives it): the publisher, which
    // uses the default, moves to it on the live connection.
    const followed = await alice.page.evaluate(async () => {
      const publisher = window.participant.publisher;
      const devices = navigator.mediaDevices;
      const [listed, capture] = [devices.enumerateDevices.bind(devices), devices.getUserMedia.bind(devices)];
      const headset = (await listed()).filter(({ kind }) => kind === 'audioinput').at(-1)?.deviceId ?? '';
      const before = publisher?.getAudioSource();
      const events: string[] = [];
      publisher?.on('audioInputDeviceChanged', (event) => events.push(event.device.deviceId));
      const plugged = {
        kind: 'audioinput',
        deviceId: 'default',
        groupId: 'headset',
        label: 'Default - Headset',
      };
      devices.enumerateDevices = async () => [plugged as MediaDeviceInfo, ...(await listed())];
      devices.getUserMedia = (constraints) =>
        capture(
          constraints?.audio === true ||
            (typeof constraints?.audio === 'object' && !constraints.audio.deviceId)
            ? { ...constraints, audio: { deviceId: { exact: headset } } }
            : constraints,
        );
      devices.dispatchEvent(new Event('devicechange'));
      for (let waited = 0; events.length === 0 && waited < 10_000; waited += 50)
        await new Promise((resolve) => setTimeout(resolve, 50));
      devices.enumerateDevices = listed;
      devices.getUserMedia = capture;
      return {
        events,
        headset,
        now: publisher?.getAudioSource()?.getSettings().deviceId,
        oldStopped: before?.readyState,
      };
    });
    assert.deepEqual(followed.events, [followed.headset]);
    assert.deepEqual(followed, { ...followed, now: followed.headset, oldStopped: 'ended' });
    await bob.expectMediaFlowing(streamId);

    const switched = await alice.page.evaluate(async () => {
      const context = new AudioContext();
      const oscillator = context.createOscillator();
      oscillator.frequency.value = 3000;
      const destination = context.createMediaStreamDestination();
      oscillator.connect(destination);
      oscillator.start();
      const [track] = destination.stream.getAudioTracks();
      const publisher = window.participant.publisher;
      const before = publisher?.getAudioSource();
      if (track) await publisher?.setAudioSource(track);
      return { same: publisher?.getAudioSource() === track, oldStopped: before?.readyState };
    });
    assert.deepEqual(switched, { same: true, oldStopped: 'ended' });
    const deadline = Date.now() + 10_000;
    let tone = await toneAt3kHz();
    while (tone < 20) {
      if (Date.now() > deadline)
        assert.fail(`the 3 kHz tone stands ${tone} dB out, the microphone ${microphone}`);
      tone = await toneAt3kHz();
    }

    const changed = await alice.page.evaluate(async () => {
      const publisher = window.participant.publisher;
      const devices = await window.OT.getDevices();
      const microphone = devices.filter((device) => device.kind === 'audioInput').at(-1);
      const events: string[] = [];
      publisher?.on('audioInputDeviceChanged', (event) => events.push(event.device.deviceId));
      // The page chose its source: a new default microphone changes nothing now.
      const listed = navigator.mediaDevices.enumerateDevices.bind(navigator.mediaDevices);
      const plugged = { kind: 'audioinput', deviceId: 'default', groupId: 'other', label: 'Default - Other' };
      navigator.mediaDevices.enumerateDevices = async () => [plugged as MediaDeviceInfo, ...(await listed())];
      navigator.mediaDevices.dispatchEvent(new Event('devicechange'));
      await new Promise((resolve) => setTimeout(resolve, 700));
      navigator.mediaDevices.enumerateDevices = listed;
      await publisher?.setAudioSource(microphone?.deviceId ?? '');
      return {
        events,
        wanted: microphone?.deviceId,
        now: publisher?.getAudioSource()?.getSettings().deviceId,
      };
    });
    assert.deepEqual(changed.events, [changed.wanted]);
    assert.equal(changed.now, changed.wanted);
    await bob.expectMediaFlowing(streamId);
    assert.equal(await bob.count('streamDestroyed'), 0);
    await Promise.all([alice.page.close(), bob.page.close()]);
  });
});

describe('the publisher and OT surface around devices', () => {
  it('dispatches devicesChanged on OT once when a camera is unplugged, while it has handlers only', async () => {
    const sessionId = await bed.parlor.createSession({ mediaMode: 'relayed' });
    const peer = await openBrowserPeer(bed.browser, bed.app.url, bed.parlor.apiKey, sessionId);
    await installCameras(peer.page);
    const seen = await peer.page.evaluate(async () => {
      const { OT } = window;
      const devices = navigator.mediaDevices;
      const listed = devices.enumerateDevices.bind(devices);
      let unplugged = false;
      let listings = 0;
      devices.enumerateDevices = async () => {
        const gone = unplugged;
        const list = (await listed()).filter((device) => !(gone && device.deviceId === 'blue-camera'));
        listings++;
        return list;
      };
      const until = async (condition: () => boolean) => {
        for (let waited = 0; !condition() && waited < 10_000; waited += 50)
          await new Promise((resolve) => setTimeout(resolve, 50));
      };
      const changes: string[][] = [];
      const onChange = (event: { devices: { kind: string; deviceId: string }[] }) => {
        changes.push(
          event.devices.filter(({ kind }) => kind === 'videoInput').map(({ deviceId }) => deviceId),
        );
      };
      OT.on('devicesChanged', onChange);
      await until(() => listings === 1);
      unplugged = true;
      for (let i = 0; i < 3; i++) devices.dispatchEvent(new Event('devicechange'));
      await until(() => changes.length > 0);
      const listedAfter = (await OT.getDevices())
        .filter(({ kind }) => kind === 'videoInput')
        .map(({ deviceId }) => deviceId);
      OT.off('devicesChanged', onChange);
      unplugged = false;
      const listingsBefore = listings;
      devices.dispatchEvent(new Event('devicechange'));
      await new Promise((resolve) => setTimeout(resolve, 1000));
      return { changes, listedAfter, listingsAfterOff: listings - listingsBefore };
    });
    assert.deepEqual(seen, { changes: [['red-camera']], listedAfter: ['red-camera'], listingsAfterOff: 0 });
    await peer.page.close();
  });

  it('lists publishers and subscribers in OT collections, and rejects what a publisher cannot do with OpenTok’s errors', async () => {
    const sessionId = await bed.parlor.createSession({ mediaMode: 'relayed' });
    const [alice, bob] = await Promise.all([participant(sessionId), participant(sessionId)]);
    assert.equal(await alice.publish({ width: 160, height: 120 }), null);
    await bob.expectMediaFlowing(await alice.streamId());
    const seen = await bob.page.evaluate(async () => {
      const { OT } = window;
      const nameOf = (promise: Promise<unknown> | undefined) =>
        (promise ?? Promise.resolve()).then(
          () => 'resolved',
          (error: unknown) => (error as { name: string }).name,
        );
      const subscriber = OT.subscribers.find();
      const audioOnly = OT.initPublisher(undefined, { videoSource: null, insertDefaultUI: false });
      const custom = OT.initPublisher(undefined, {
        videoSource: window.colourTrack([30, 200, 30]),
        audioSource: false,
        insertDefaultUI: false,
      });
      await new Promise((resolve) => setTimeout(resolve, 500));
      const found = {
        subscribers: OT.subscribers.length(),
        byStream: OT.subscribers.where((s) => s.stream.streamId === subscriber?.stream.streamId).length,
        publishers: [...OT.publishers].length,
        byId: OT.publishers.find({ id: custom.id }) === custom,
        customType: custom.getVideoSource().type,
        cycleCustom: await nameOf(custom.cycleVideo()),
        videoOnAudioOnly: await nameOf(audioOnly.setVideoSource('blue-camera')),
        badSource: await nameOf(audioOnly.setAudioSource(42 as unknown as string)),
        missingCamera: await nameOf(custom.setVideoSource('no-such-camera')),
        videoFilter: await nameOf(audioOnly.applyVideoFilter({ type: 'backgroundBlur' })),
        audioFilter: await nameOf(custom.applyAudioFilter({ type: 'advancedNoiseSuppression' })),
        clearFilter: await nameOf(custom.clearVideoFilter()),
        badConnector: await nameOf(custom.setVideoMediaProcessorConnector({} as never)),
      };
      audioOnly.destroy();
      custom.destroy();
      return { ...found, publishersAfter: OT.publishers.length() };
    });
    assert.deepEqual(seen, {
      subscribers: 1,
      byStream: 1,
      publishers: 2,
      byId: true,
      customType: 'custom',
      cycleCustom: 'OT_NOT_SUPPORTED',
      videoOnAudioOnly: 'OT_NOT_SUPPORTED',
      badSource: 'OT_INVALID_PARAMETER',
      missingCamera: 'OT_NO_DEVICES_FOUND',
      videoFilter: 'OT_NOT_SUPPORTED',
      audioFilter: 'OT_NOT_SUPPORTED',
      clearFilter: 'resolved',
      badConnector: 'OT_INVALID_PARAMETER',
      publishersAfter: 0,
    });
    await Promise.all([alice.page.close(), bob.page.close()]);
  });
});
