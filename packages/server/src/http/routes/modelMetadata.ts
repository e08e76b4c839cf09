/**
 * Gives a TensorFlow Lite model the input metadata MediaPipe Tasks' `ImageSegmenter` requires
 * (how to normalize the image), which MediaPipe's own selfie segmentation model lacks.
 *
 * Both files are FlatBuffers: tables, vectors and strings reached through offsets that only point
 * forward. Without a schema compiler, the new file is written as a small prefix followed by the
 * model's bytes unchanged: a new root `Model` table in the prefix refers to the original's fields,
 * and its buffers and metadata vectors add one buffer holding a `ModelMetadata` flatbuffer
 * (tflite-support's metadata schema, identifier `M001`) named `TFLITE_METADATA`.
 */

/** What the prefix holds: tables by field slot, vectors, strings, bytes, and objects of the model. */
type Node =
  | { readonly table: readonly (Field | undefined)[] }
  | { readonly vector: readonly Node[] }
  | { readonly floats: readonly number[] }
  | { readonly string: string }
  | { readonly bytes: Uint8Array }
  /** An object of the original model, at this position in its file. */
  | { readonly original: number };
type Field = { readonly u8: number } | { readonly u32: number } | Node;

/** Lays nodes out forward from `start`; offsets to original objects are patched once the prefix size is known. */
class ForwardWriter {
  readonly bytes: Buffer;
  readonly #view: DataView;
  #end: number;
  readonly #originals: { at: number; target: number }[] = [];

  constructor(start: number, capacity: number) {
    // Room for the alignment padding after the last object.
    this.bytes = Buffer.alloc(capacity + 64);
    this.#view = new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength);
    this.#end = start;
  }

  get end(): number {
    return this.#end;
  }

  /** Writes a node; returns where it starts (what offsets point to). */
  write(node: Node): number {
    if ('original' in node) throw new Error('an original object is referred to, never written');
    if ('table' in node) return this.#table(node.table);
    if ('vector' in node) {
      const start = this.#reserve(4 + 4 * node.vector.length, 4);
      this.#view.setUint32(start, node.vector.length, true);
      node.vector.forEach((child, i) => {
        this.#offset(start + 4 + 4 * i, child);
      });
      return start;
    }
    if ('floats' in node) {
      const start = this.#reserve(4 + 4 * node.floats.length, 4);
      this.#view.setUint32(start, node.floats.length, true);
      node.floats.forEach((value, i) => {
        this.#view.setFloat32(start + 4 + 4 * i, value, true);
      });
      return start;
    }
    const data = 'string' in node ? Buffer.from(`${node.string}\0`) : node.bytes;
    const length = 'string' in node ? data.length - 1 : data.length;
    // Byte vectors' data 16-aligned (TFLite buffers are), the length just before it.
    const start = this.#reserve(4 + data.length, 'bytes' in node ? 16 : 4, 4);
    this.#view.setUint32(start, length, true);
    this.bytes.set(data, start + 4);
    return start;
  }

  /** Points each offset to an original object, the original file starting at `shift`. */
  patchOriginals(shift: number): void {
    for (const { at, target } of this.#originals) this.#view.setUint32(at, target + shift - at, true);
  }

  #table(fields: readonly (Field | undefined)[]): number {
    const present = fields.flatMap((field, slot) => (field === undefined ? [] : [slot]));
    const start = this.#reserve(4 + 4 * present.length, 4);
    const vtable = this.#reserve(4 + 2 * fields.length, 2);
    this.#view.setInt32(start, start - vtable, true);
    this.#view.setUint16(vtable, 4 + 2 * fields.length, true);
    this.#view.setUint16(vtable + 2, 4 + 4 * present.length, true);
    present.forEach((slot, i) => {
      const at = start + 4 + 4 * i;
      this.#view.setUint16(vtable + 4 + 2 * slot, 4 + 4 * i, true);
      const field = fields[slot] as Field;
      if ('u8' in field) this.#view.setUint8(at, field.u8);
      else if ('u32' in field) this.#view.setUint32(at, field.u32, true);
      else this.#offset(at, field);
    });
    return start;
  }

  #offset(at: number, node: Node): void {
    if ('original' in node) this.#originals.push({ at, target: node.original });
    else this.#view.setUint32(at, this.write(node) - at, true);
  }

  /** Reserves `size` bytes whose byte `skew` is `align`-aligned. */
  #reserve(size: number, align: number, skew = 0): number {
    let start = this.#end;
    while ((start + skew) % align !== 0) start++;
    if (start + size > this.bytes.length) throw new Error('the metadata does not fit its buffer');
    this.#end = start + size;
    return start;
  }
}

/** Reads a FlatBuffers table's fields: where each field's value lies, or 0 when absent. */
function fieldsOf(view: DataView, table: number): number[] {
  const vtable = table - view.getInt32(table, true);
  const count = (view.getUint16(vtable, true) - 4) / 2;
  return Array.from({ length: count }, (_, slot) => {
    const at = view.getUint16(vtable + 4 + 2 * slot, true);
    return at === 0 ? 0 : table + at;
  });
}

function target(view: DataView, at: number): number {
  return at + view.getUint32(at, true);
}

/** Image input normalization: tensor = (pixel − mean) / std, pixels 0–255. */
export interface ImageNormalization {
  readonly mean: number;
  readonly std: number;
}

/** The `ModelMetadata` flatbuffer: one RGB image input, normalized as given, and one output. */
export function imageModelMetadata(name: string, { mean, std }: ImageNormalization): Buffer {
  const imageProperties = { table: [{ u8: 1 /* ColorSpaceType.RGB */ }] };
  const normalization = { table: [{ floats: [mean] }, { floats: [std] }] };
  const input = {
    table: [
      { string: 'image' },
      undefined,
      undefined,
      // Content: content_properties_type (2 = ImageProperties), content_properties.
      { table: [{ u8: 2 }, imageProperties] },
      // process_units: ProcessUnit { options_type (1 = NormalizationOptions), options }.
      { vector: [{ table: [{ u8: 1 }, normalization] }] },
    ],
  };
  const subgraph = {
    table: [undefined, undefined, { vector: [input] }, { vector: [{ table: [{ string: 'mask' }] }] }],
  };
  const modelMetadata = {
    table: [
      { string: name },
      undefined,
      undefined,
      { vector: [subgraph] },
      undefined,
      undefined,
      undefined,
      { string: '1.0.0' },
    ],
  };
  const writer = new ForwardWriter(8, 4096);
  const root = writer.write(modelMetadata);
  writer.bytes.writeUInt32LE(root, 0);
  writer.bytes.write('M001', 4, 'latin1');
  return writer.bytes.subarray(0, writer.end);
}

/**
 * The model with `metadata` added as its `TFLITE_METADATA` (any metadata entry of that name it
 * had is left out). Throws when `model` is not a TFLite flatbuffer.
 */
export function withModelMetadata(model: Uint8Array, metadata: Uint8Array): Buffer {
  if (model.length < 8 || Buffer.from(model.subarray(4, 8)).toString('latin1') !== 'TFL3')
    throw new TypeError('not a TensorFlow Lite model (no TFL3 identifier)');
  const view = new DataView(model.buffer, model.byteOffset, model.byteLength);
  const root = view.getUint32(0, true);
  const fields = fieldsOf(view, root);
  // Model: version, operator_codes, subgraphs, description, buffers, metadata_buffer, metadata, signature_defs.
  const buffersAt = fields[4];
  if (!buffersAt) throw new TypeError('the model has no buffers');
  const buffers = target(view, buffersAt);
  const bufferCount = view.getUint32(buffers, true);
  const originalBuffers = Array.from({ length: bufferCount }, (_, i) => ({
    original: target(view, buffers + 4 + 4 * i),
  }));
  const originalMetadata: Node[] = [];
  if (fields[6]) {
    const entries = target(view, fields[6]);
    for (let i = 0; i < view.getUint32(entries, true); i++) {
      const entry = target(view, entries + 4 + 4 * i);
      const nameAt = fieldsOf(view, entry)[0];
      const name = nameAt ? target(view, nameAt) : 0;
      const text = name ? Buffer.from(model.subarray(name + 4, name + 4 + view.getUint32(name, true))) : null;
      if (text?.toString('utf8') !== 'TFLITE_METADATA') originalMetadata.push({ original: entry });
    }
  }
  const newRoot: (Field | undefined)[] = fields.map((at, slot) =>
    at === 0 ? undefined : slot === 0 ? { u32: view.getUint32(at, true) } : { original: target(view, at) },
  );
  while (newRoot.length < 7) newRoot.push(undefined);
  newRoot[4] = { vector: [...originalBuffers, { table: [{ bytes: metadata }] }] };
  newRoot[6] = {
    vector: [...originalMetadata, { table: [{ string: 'TFLITE_METADATA' }, { u32: bufferCount }] }],
  };
  const writer = new ForwardWriter(8, 4096 + 4 * bufferCount + metadata.length + originalMetadata.length * 4);
  const rootAt = writer.write({ table: newRoot });
  writer.bytes.writeUInt32LE(rootAt, 0);
  writer.bytes.write('TFL3', 4, 'latin1');
  // The original's own buffers are 16-aligned in its file; a shift by a multiple of 64 keeps them so.
  const shift = Math.ceil(writer.end / 64) * 64;
  writer.patchOriginals(shift);
  return Buffer.concat([writer.bytes.subarray(0, shift), model]);
}
