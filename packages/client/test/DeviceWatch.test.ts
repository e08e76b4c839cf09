import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { DeviceWatch, inputDevices, sameDevices, type Device } from '../src/core/DeviceWatch.js';
import { until } from './until.js';

type Info = Pick<MediaDeviceInfo, 'kind' | 'deviceId' | 'label'>;

const camera: Info = { kind: 'videoinput', deviceId: 'cam1', label: 'Camera' };
const microphone: Info = { kind: 'audioinput', deviceId: 'mic1', label: 'Microphone' };
const headset: Info = { kind: 'audioinput', deviceId: 'mic2', label: 'Headset' };
const speaker: Info = { kind: 'audiooutput', deviceId: 'out1', label: 'Speaker' };

/** A browser's `navigator.mediaDevices`: a device list the test changes, and `devicechange` events. */
class FakeDevices extends EventTarget {
  list: Info[] = [camera, microphone, speaker];
  listings = 0;
  pending = 0;
  maxPending = 0;
  failing = false;

  async enumerateDevices(): Promise<MediaDeviceInfo[]> {
    this.listings++;
    this.pending++;
    this.maxPending = Math.max(this.maxPending, this.pending);
    const list = this.list;
    await sleep(10);
    this.pending--;
    if (this.failing) throw new DOMException('denied', 'NotAllowedError');
    return list as MediaDeviceInfo[];
  }

  change(list: Info[]): void {
    this.list = list;
    this.dispatchEvent(new Event('devicechange'));
  }
}

function watch(source: FakeDevices, debounceMs = 30) {
  const changes: Device[][] = [];
  const errors: unknown[] = [];
  const deviceWatch = new DeviceWatch({
    source,
    debounceMs,
    read: inputDevices,
    same: sameDevices,
    onChange: (devices) => changes.push(devices),
    onError: (error) => errors.push(error),
  });
  return { deviceWatch, changes, errors };
}

describe('DeviceWatch', () => {
  it('reports the cameras and microphones once a burst of devicechange events is over', async () => {
    const source = new FakeDevices();
    const { deviceWatch, changes } = watch(source);
    await until(() => source.listings === 1 && source.pending === 0);
    source.change([camera, microphone, speaker]);
    source.change([camera, microphone, headset, speaker]);
    source.change([camera, microphone, headset, speaker]);
    await until(() => changes.length === 1);
    assert.deepEqual(changes, [
      [
        { kind: 'videoInput', deviceId: 'cam1', label: 'Camera' },
        { kind: 'audioInput', deviceId: 'mic1', label: 'Microphone' },
        { kind: 'audioInput', deviceId: 'mic2', label: 'Headset' },
      ],
    ]);
    assert.equal(source.listings, 2, 'the baseline, then one listing for the burst');
    source.change([camera, headset]);
    await until(() => changes.length === 2);
    assert.deepEqual(changes[1], [
      { kind: 'videoInput', deviceId: 'cam1', label: 'Camera' },
      { kind: 'audioInput', deviceId: 'mic2', label: 'Headset' },
    ]);
    deviceWatch.close();
  });

  it('stays silent when only outputs changed, or the list is as before', async () => {
    const source = new FakeDevices();
    const { deviceWatch, changes } = watch(source);
    await until(() => source.listings === 1 && source.pending === 0);
    source.change([camera, microphone]);
    await until(() => source.listings === 2 && source.pending === 0);
    source.change([camera, microphone]);
    await until(() => source.listings === 3 && source.pending === 0);
    assert.deepEqual(changes, []);
    deviceWatch.close();
  });

  it('lists one at a time: a change during a listing is read by one more listing after it', async () => {
    const source = new FakeDevices();
    const { deviceWatch, changes } = watch(source, 0);
    await until(() => source.listings === 1 && source.pending === 0);
    source.change([camera]);
    await until(() => source.pending === 1);
    source.change([camera, headset]);
    await sleep(1);
    source.change([headset]);
    await until(() => changes.at(-1)?.[0]?.deviceId === 'mic2' && changes.at(-1)?.length === 1);
    assert.equal(source.maxPending, 1);
    assert.ok(source.listings <= 4, `${source.listings} listings`);
    deviceWatch.close();
  });

  it('reports a failed listing, and nothing once closed (close is idempotent)', async () => {
    const source = new FakeDevices();
    const { deviceWatch, changes, errors } = watch(source);
    await until(() => source.listings === 1 && source.pending === 0);
    source.failing = true;
    source.change([camera]);
    await until(() => errors.length === 1 && source.pending === 0);
    source.failing = false;
    source.change([camera]);
    deviceWatch.close();
    deviceWatch.close();
    await sleep(80);
    assert.deepEqual(changes, []);
    assert.equal(source.listings, 2, 'the pending debounce was cancelled');
  });
});
