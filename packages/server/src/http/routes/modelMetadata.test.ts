import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { imageModelMetadata, withModelMetadata } from './modelMetadata.js';

/** A FlatBuffers reader just large enough to check what was written. */
class Reader {
  readonly #view: DataView;
  constructor(readonly bytes: Buffer) {
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  root(): number {
    return this.#view.getUint32(0, true);
  }
  /** Where a table's field lies, or 0. */
  field(table: number, slot: number): number {
    const vtable = table - this.#view.getInt32(table, true);
    if (4 + 2 * slot >= this.#view.getUint16(vtable, true)) return 0;
    const at = this.#view.getUint16(vtable + 4 + 2 * slot, true);
    return at === 0 ? 0 : table + at;
  }
  u8(at: number): number {
    return this.#view.getUint8(at);
  }
  u32(at: number): number {
    return this.#view.getUint32(at, true);
  }
  target(at: number): number {
    return at + this.u32(at);
  }
  string(at: number): string {
    const start = this.target(at);
    return this.bytes.subarray(start + 4, start + 4 + this.u32(start)).toString('utf8');
  }
  /** The elements of a vector of offsets: where each object lies. */
  objects(at: number): number[] {
    const start = this.target(at);
    return Array.from({ length: this.u32(start) }, (_, i) => this.target(start + 4 + 4 * i));
  }
  /** The bytes of a `[ubyte]` or the floats of a `[float]` vector. */
  bytesOf(at: number): Buffer {
    const start = this.target(at);
    return this.bytes.subarray(start + 4, start + 4 + this.u32(start));
  }
  floats(at: number): number[] {
    const start = this.target(at);
    return Array.from({ length: this.u32(start) }, (_, i) => this.#view.getFloat32(start + 4 + 4 * i, true));
  }
}

const require = createRequire(import.meta.url);
const model = readFileSync(
  require.resolve('@mediapipe/selfie_segmentation/selfie_segmentation_landscape.tflite'),
);

describe('withModelMetadata', () => {
  it('adds the metadata as TFLITE_METADATA in a new buffer, the model otherwise as it was', () => {
    const metadata = imageModelMetadata('selfie', { mean: 0, std: 255 });
    const patched = new Reader(withModelMetadata(model, metadata));
    const original = new Reader(model);
    assert.equal(patched.bytes.subarray(4, 8).toString(), 'TFL3');
    const [root, before] = [patched.root(), original.root()];
    assert.equal(patched.u32(patched.field(root, 0)), original.u32(original.field(before, 0)), 'version');
    assert.equal(patched.string(patched.field(root, 3)), original.string(original.field(before, 3)));
    const shift = patched.bytes.length - model.length;
    assert.equal(shift % 64, 0);
    assert.deepEqual(patched.bytes.subarray(shift), model, 'the original bytes follow the new root');

    const buffers = patched.objects(patched.field(root, 4));
    const originalBuffers = original.objects(original.field(before, 4));
    assert.equal(buffers.length, originalBuffers.length + 1);
    assert.deepEqual(
      buffers.slice(0, -1),
      originalBuffers.map((at) => at + shift),
      'the original buffers, where they now lie',
    );
    const entries = patched.objects(patched.field(root, 6));
    assert.equal(entries.length, 1);
    const entry = entries[0] ?? 0;
    assert.equal(patched.string(patched.field(entry, 0)), 'TFLITE_METADATA');
    assert.equal(patched.u32(patched.field(entry, 1)), originalBuffers.length);
    const data = patched.field(buffers.at(-1) ?? 0, 0);
    assert.equal((patched.target(data) + 4) % 16, 0, 'the metadata is 16-aligned, as TFLite buffers are');
    assert.deepEqual(patched.bytesOf(data), metadata);
    // The operator codes and subgraphs are the original's.
    for (const slot of [1, 2]) {
      assert.equal(
        patched.target(patched.field(root, slot)),
        original.target(original.field(before, slot)) + shift,
      );
    }
  });

  it('describes an RGB image input normalized as asked, in the M001 metadata schema', () => {
    const metadata = new Reader(imageModelMetadata('selfie', { mean: 127.5, std: 127.5 }));
    assert.equal(metadata.bytes.subarray(4, 8).toString(), 'M001');
    const root = metadata.root();
    assert.equal(metadata.string(metadata.field(root, 0)), 'selfie');
    assert.equal(metadata.string(metadata.field(root, 7)), '1.0.0', 'min_parser_version');
    const [subgraph] = metadata.objects(metadata.field(root, 3));
    const [input] = metadata.objects(metadata.field(subgraph ?? 0, 2));
    const content = metadata.target(metadata.field(input ?? 0, 3));
    assert.equal(metadata.u8(metadata.field(content, 0)), 2, 'ImageProperties');
    assert.equal(metadata.u8(metadata.field(metadata.target(metadata.field(content, 1)), 0)), 1, 'RGB');
    const [unit] = metadata.objects(metadata.field(input ?? 0, 4));
    assert.equal(metadata.u8(metadata.field(unit ?? 0, 0)), 1, 'NormalizationOptions');
    const normalization = metadata.target(metadata.field(unit ?? 0, 1));
    assert.deepEqual(metadata.floats(metadata.field(normalization, 0)), [127.5]);
    assert.deepEqual(metadata.floats(metadata.field(normalization, 1)), [127.5]);
    assert.equal(metadata.objects(metadata.field(subgraph ?? 0, 3)).length, 1, 'one output');
  });

  it('refuses what is not a TensorFlow Lite model', () => {
    assert.throws(() => withModelMetadata(Buffer.from('not a model at all'), Buffer.alloc(8)), TypeError);
  });
});
