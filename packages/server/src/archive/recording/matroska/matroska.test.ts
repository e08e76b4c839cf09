import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { element, ids, sizeLength, voidElement, writeSize } from './ebml.js';
import { childElements, parseElementHeader, readVint } from './ebmlReader.js';
import { placeholderVideoFormat, tracksElement, videoTrackEntry } from './matroskaLayout.js';

describe('EBML', () => {
  it('writes and reads back data sizes at every length, and all ones as unknown', () => {
    for (let length = 1; length <= 8; length++) {
      for (const size of [
        0,
        Math.min(2 ** (7 * length) - 2, 2 ** 52),
        Math.min(2 ** (7 * length - 1), 2 ** 51),
      ]) {
        const bytes = new Uint8Array(8);
        assert.equal(writeSize(bytes, 0, size, length), length);
        assert.deepEqual(readVint(bytes, 0), { value: size, length });
      }
      assert.equal(sizeLength(2 ** (7 * length) - 1), Math.min(length + 1, 8));
    }
    assert.deepEqual(readVint(Buffer.from('01ffffffffffffff', 'hex'), 0), { value: -1, length: 8 });
    assert.equal(readVint(Buffer.from('0040', 'hex'), 0), null);
    assert.throws(() => writeSize(new Uint8Array(1), 0, 127, 1), RangeError);
  });

  it('round-trips element headers, and makes Void elements of any length from 2', () => {
    const bytes = element(ids.cluster, Buffer.alloc(300));
    assert.deepEqual(parseElementHeader(bytes, 0, 1000), {
      id: ids.cluster,
      position: 1000,
      dataStart: 1006,
      size: 300,
      end: 1306,
      sizeLength: 2,
    });
    assert.equal(parseElementHeader(bytes.subarray(0, 5), 0, 0), null);
    for (let length = 2; length < 20_000; length += length < 300 ? 1 : 97) {
      const header = parseElementHeader(voidElement(length), 0, 0);
      assert.equal(header?.id, ids.void);
      assert.equal(header.end, length, `Void of ${length}`);
    }
    assert.throws(() => voidElement(1), RangeError);
  });
});

describe('Matroska layout', () => {
  const track = { kind: 'video', number: 2, codecId: 'V_MPEG4/ISO/AVC' } as const;

  it('keeps a video TrackEntry the same size whatever codec private data it takes', () => {
    const placeholder = videoTrackEntry(track, placeholderVideoFormat);
    assert.ok(placeholder);
    for (let length = 1; length < 600; length++) {
      const entry = videoTrackEntry(track, {
        width: 1280,
        height: 720,
        codecPrivate: Buffer.alloc(length, 7),
      });
      if (!entry) {
        assert.ok(length > 480, `${length} bytes of codec private data should fit`);
        continue;
      }
      assert.equal(entry.length, placeholder.length, `with ${length} bytes`);
      // TrackEntry: a 1-byte ID and a 2-byte size.
      const fields = [...childElements(entry.subarray(3))];
      assert.equal(fields.find((field) => field.id === ids.codecPrivate)?.data.length, length);
    }
  });

  it('tells where each TrackEntry starts in Tracks', () => {
    const { bytes, entryOffsets } = tracksElement([
      {
        kind: 'audio',
        number: 1,
        codecId: 'A_OPUS',
        codecPrivate: Buffer.alloc(19),
        codecDelayNs: 0,
        seekPreRollNs: 0,
        samplingFrequency: 48_000,
        channels: 2,
      },
      track,
    ]);
    const entries = [...childElements(bytes.subarray(parseElementHeader(bytes, 0, 0)?.dataStart ?? 0))];
    const dataStart = bytes.length - entries.reduce((sum, entry) => sum + entry.end - entry.position, 0);
    assert.deepEqual(
      [...entryOffsets.values()],
      entries.map((entry) => dataStart + entry.position),
    );
  });
});
