import { Decoder, Encoder } from '@evan/opus';
import { decodeG711, encodeG711 } from './g711.js';
import { G722Decoder, G722Encoder } from './g722.js';

/** The audio codecs a call may use, by their SDP encoding name (lower case). */
export const callCodecNames = ['opus', 'g722', 'pcmu', 'pcma'] as const;
export type CallCodecName = (typeof callCodecNames)[number];

/** Every frame is 20 ms. */
export const frameMs = 20;

/** A codec's encoder and decoder for one direction pair of a call: mono 16-bit frames of 20 ms. */
export interface AudioTranscoder {
  readonly name: CallCodecName;
  /** Samples per second of the PCM it takes and gives. */
  readonly sampleRate: 8000 | 16000 | 48000;
  /** The RTP clock rate. */
  readonly clockRate: number;
  /** RTP timestamp units per frame. */
  readonly timestampStep: number;
  encode(frame: Int16Array): Buffer;
  decode(payload: Uint8Array): Int16Array;
}

/** An Opus encoder and decoder of mono PCM at `sampleRate` (the RTP clock stays 48 kHz). */
export class OpusTranscoder implements AudioTranscoder {
  readonly name = 'opus';
  readonly clockRate = 48_000;
  readonly timestampStep = (48_000 * frameMs) / 1000;
  readonly sampleRate: 8000 | 16000 | 48000;
  readonly #encoder: Encoder;
  readonly #decoder: Decoder;

  constructor(sampleRate: 8000 | 16000 | 48000) {
    this.sampleRate = sampleRate;
    this.#encoder = new Encoder({ channels: 1, sample_rate: sampleRate, application: 'voip' });
    this.#decoder = new Decoder({ channels: 1, sample_rate: sampleRate });
  }

  encode(frame: Int16Array): Buffer {
    return Buffer.from(this.#encoder.encode(frame));
  }

  decode(payload: Uint8Array): Int16Array {
    const bytes = this.#decoder.decode(payload);
    // The decoder's output is a view into its own memory: copied into an aligned array.
    const samples = new Int16Array(bytes.byteLength / 2);
    new Uint8Array(samples.buffer).set(bytes);
    return samples;
  }
}

/** G.711 at 8 kHz. */
export class G711Transcoder implements AudioTranscoder {
  readonly name: 'pcmu' | 'pcma';
  readonly sampleRate = 8000 as const;
  readonly clockRate = 8000;
  readonly timestampStep = (8000 * frameMs) / 1000;
  readonly #law: 'ulaw' | 'alaw';

  constructor(name: 'pcmu' | 'pcma') {
    this.name = name;
    this.#law = name === 'pcmu' ? 'ulaw' : 'alaw';
  }

  encode(frame: Int16Array): Buffer {
    return encodeG711(this.#law, frame);
  }

  decode(payload: Uint8Array): Int16Array {
    return decodeG711(this.#law, payload);
  }
}

/** G.722 at 16 kHz, on an RTP clock of 8 kHz (RFC 3551 §4.5.2). */
export class G722Transcoder implements AudioTranscoder {
  readonly name = 'g722';
  readonly sampleRate = 16_000 as const;
  readonly clockRate = 8000;
  readonly timestampStep = (8000 * frameMs) / 1000;
  readonly #encoder = new G722Encoder();
  readonly #decoder = new G722Decoder();

  encode(frame: Int16Array): Buffer {
    return this.#encoder.encode(frame);
  }

  decode(payload: Uint8Array): Int16Array {
    return this.#decoder.decode(payload);
  }
}

/** The transcoder of a negotiated call codec. */
export function createTranscoder(name: CallCodecName): AudioTranscoder {
  if (name === 'opus') return new OpusTranscoder(48_000);
  if (name === 'g722') return new G722Transcoder();
  return new G711Transcoder(name);
}
