import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { DefaultMicrophone, defaultMicrophoneKey } from '../src/core/DefaultMicrophone.js';
import { Logger } from '../src/core/Logger.js';
import { until } from './until.js';

type Info = Pick<MediaDeviceInfo, 'kind' | 'deviceId' | 'groupId' | 'label'>;

const builtIn: Info = { kind: 'audioinput', deviceId: 'mic1', groupId: 'laptop', label: 'Built-in' };
const headset: Info = { kind: 'audioinput', deviceId: 'mic2', groupId: 'usb', label: 'Headset' };
const camera: Info = { kind: 'videoinput', deviceId: 'cam1', groupId: 'laptop', label: 'Camera' };

/** Chromium's entry for the default microphone: the device behind it, under the ID `default`. */
function chromiumDefault(device: Info): Info {
  return { ...device, deviceId: 'default', label: `Default - ${device.label}` };
}

/** A browser's `navigator.mediaDevices`: a device list the test changes, and `devicechange` events. */
class FakeDevices extends EventTarget {
  list: Info[] = [chromiumDefault(builtIn), builtIn, camera];
  listings = 0;
  pending = 0;

  async enumerateDevices(): Promise<MediaDeviceInfo[]> {
    this.listings++;
    this.pending++;
    const list = this.list;
    await sleep(5);
    this.pending--;
    return list as MediaDeviceInfo[];
  }

  /** Waits until `count` listings have been made and answered. */
  listed(count: number): Promise<void> {
    return until(() => this.listings === count && this.pending === 0);
  }

  change(list: Info[]): void {
    this.list = list;
    this.dispatchEvent(new Event('devicechange'));
  }

  /** What capturing the default microphone gives now (Chromium reports the ID `default`). */
  defaultDevice(): Info | undefined {
    return this.list.find((device) => device.kind === 'audioinput' && device.deviceId === 'default');
  }
}

/** A captured microphone track, as much of it as the follower reads. */
class FakeTrack {
  readonly kind = 'audio';
  readyState: MediaStreamTrackState = 'live';
  constructor(readonly device: Info) {}
  get label(): string {
    return this.device.label;
  }
  getSettings(): MediaTrackSettings {
    return { deviceId: this.device.deviceId, groupId: this.device.groupId };
  }
  stop(): void {
    this.readyState = 'ended';
  }
}

function follow(source: FakeDevices, options: { failCapture?: boolean } = {}) {
  const first = source.defaultDevice();
  assert.ok(first);
  const state = {
    current: new FakeTrack(first) as FakeTrack | undefined,
    captures: 0,
    moved: [] as string[],
    lost: [] as FakeTrack[],
  };
  const follower = new DefaultMicrophone({
    source,
    debounceMs: 20,
    capture: async () => {
      state.captures++;
      await sleep(5);
      const device = source.defaultDevice();
      if (options.failCapture || !device) throw new DOMException('no microphone', 'NotFoundError');
      return new FakeTrack(device) as unknown as MediaStreamTrack;
    },
    current: () => state.current as unknown as MediaStreamTrack | undefined,
    use: async (track) => {
      await sleep(5);
      state.current?.stop();
      state.current = track as unknown as FakeTrack;
    },
    onMoved: (track) => state.moved.push(track.label),
    onLost: (ended) => state.lost.push(ended as unknown as FakeTrack),
    logger: new Logger(),
  });
  return { follower, state };
}

describe('DefaultMicrophone', () => {
  it('names the default microphone by Chromium’s default entry, or else the first microphone', () => {
    assert.equal(
      defaultMicrophoneKey([camera, builtIn, headset] as MediaDeviceInfo[]),
      'mic1\nlaptop\nBuilt-in',
    );
    const withDefault = [builtIn, chromiumDefault(headset), headset] as MediaDeviceInfo[];
    assert.equal(defaultMicrophoneKey(withDefault), 'default\nusb\nDefault - Headset');
    assert.equal(defaultMicrophoneKey([camera] as MediaDeviceInfo[]), null);
  });

  it('moves to a newly plugged microphone that became the default, sending it in place of the old', async () => {
    const source = new FakeDevices();
    const { follower, state } = follow(source);
    await source.listed(1);
    const old = state.current;
    source.change([chromiumDefault(headset), builtIn, headset, camera]);
    await until(() => state.moved.length === 1);
    assert.deepEqual(state.moved, ['Default - Headset']);
    assert.equal(state.current?.device.groupId, 'usb');
    assert.equal(old?.readyState, 'ended', 'the old microphone is stopped');
    follower.close();
  });

  it('moves once when the microphone in use is unplugged: its track ends and the list changes', async () => {
    const source = new FakeDevices();
    source.list = [chromiumDefault(headset), builtIn, headset, camera];
    const { follower, state } = follow(source);
    await source.listed(1);
    source.list = [chromiumDefault(builtIn), builtIn, camera];
    state.current?.stop();
    follower.trackEnded(state.current as unknown as MediaStreamTrack);
    source.change(source.list);
    await source.listed(2);
    await sleep(100);
    assert.deepEqual(
      state.moved,
      ['Default - Built-in'],
      'one move, though both the track and the list told',
    );
    assert.equal(state.current?.readyState, 'live');
    assert.equal(state.captures, 2, 'the second look captured the default and found it in use');
    follower.close();
  });

  it('reports the microphone lost when its track ends and no other can be captured', async () => {
    const source = new FakeDevices();
    const { follower, state } = follow(source, { failCapture: true });
    const ended = state.current;
    ended?.stop();
    follower.trackEnded(ended as unknown as MediaStreamTrack);
    await until(() => state.lost.length === 1);
    assert.equal(state.lost[0], ended);
    assert.deepEqual(state.moved, []);
    follower.close();
  });

  it('stays put when the default did not change (a camera plugged in), and once closed', async () => {
    const source = new FakeDevices();
    const { follower, state } = follow(source);
    await source.listed(1);
    source.change([chromiumDefault(builtIn), builtIn, headset, camera]);
    await source.listed(2);
    follower.close();
    follower.close();
    source.change([chromiumDefault(headset), builtIn, headset, camera]);
    follower.trackEnded(state.current as unknown as MediaStreamTrack);
    await sleep(100);
    assert.equal(source.listings, 2, 'a closed follower lists nothing');
    assert.equal(state.captures, 0);
    assert.deepEqual(state.moved, []);
  });
});
