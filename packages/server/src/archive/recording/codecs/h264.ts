import { BitReader } from './BitReader.js';

/** H.264 facts a Matroska track needs (ITU-T H.264 §7.3.2.1, ISO/IEC 14496-15 §5.3.3). */

export const nalTypes = { idr: 5, sps: 7, pps: 8 } as const;

export interface SequenceParameters {
  readonly profileIdc: number;
  readonly chromaFormatIdc: number;
  readonly bitDepthLumaMinus8: number;
  readonly bitDepthChromaMinus8: number;
  readonly width: number;
  readonly height: number;
}

/** Profiles whose SPS carries chroma format and bit depth (§7.3.2.1.1). */
const highProfiles = new Set([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135]);

/** The NAL unit without its emulation prevention bytes (§7.4.1). */
export function unescapeRbsp(nal: Uint8Array): Uint8Array {
  const out = new Uint8Array(nal.length);
  let length = 0;
  let zeros = 0;
  for (const byte of nal) {
    if (zeros >= 2 && byte === 0x03) {
      zeros = 0;
      continue;
    }
    zeros = byte === 0 ? zeros + 1 : 0;
    out[length++] = byte;
  }
  return out.subarray(0, length);
}

/** Parses an SPS NAL unit (header included); null when it is cut short or malformed. */
export function parseSps(nal: Uint8Array): SequenceParameters | null {
  if (nal.length < 4 || ((nal[0] as number) & 0x1f) !== nalTypes.sps) return null;
  const reader = new BitReader(unescapeRbsp(nal), 1);
  const profileIdc = reader.bits(8);
  reader.skip(16); // constraint flags, level_idc
  reader.unsignedExpGolomb(); // seq_parameter_set_id
  let chromaFormatIdc = 1;
  let bitDepthLumaMinus8 = 0;
  let bitDepthChromaMinus8 = 0;
  let separateColourPlane = 0;
  if (highProfiles.has(profileIdc)) {
    chromaFormatIdc = reader.unsignedExpGolomb();
    if (chromaFormatIdc === 3) separateColourPlane = reader.bit();
    bitDepthLumaMinus8 = reader.unsignedExpGolomb();
    bitDepthChromaMinus8 = reader.unsignedExpGolomb();
    reader.skip(1); // qpprime_y_zero_transform_bypass_flag
    if (reader.bit() === 1) {
      const lists = chromaFormatIdc === 3 ? 12 : 8;
      for (let i = 0; i < lists; i++) {
        if (reader.bit() === 1) skipScalingList(reader, i < 6 ? 16 : 64);
      }
    }
  }
  reader.unsignedExpGolomb(); // log2_max_frame_num_minus4
  const picOrderCntType = reader.unsignedExpGolomb();
  if (picOrderCntType === 0) {
    reader.unsignedExpGolomb();
  } else if (picOrderCntType === 1) {
    reader.skip(1);
    reader.signedExpGolomb();
    reader.signedExpGolomb();
    const cycle = reader.unsignedExpGolomb();
    if (cycle > 255) return null;
    for (let i = 0; i < cycle; i++) reader.signedExpGolomb();
  }
  reader.unsignedExpGolomb(); // max_num_ref_frames
  reader.skip(1); // gaps_in_frame_num_value_allowed_flag
  const widthInMbs = reader.unsignedExpGolomb() + 1;
  const heightInMapUnits = reader.unsignedExpGolomb() + 1;
  const frameMbsOnly = reader.bit();
  if (frameMbsOnly === 0) reader.skip(1); // mb_adaptive_frame_field_flag
  reader.skip(1); // direct_8x8_inference_flag
  let crop = [0, 0, 0, 0];
  if (reader.bit() === 1) crop = [0, 0, 0, 0].map(() => reader.unsignedExpGolomb());
  if (reader.overrun) return null;
  // Cropping is counted in chroma samples (Table 6-1, equations 7-19 to 7-22).
  const chromaArrayType = separateColourPlane === 1 ? 0 : chromaFormatIdc;
  const subWidth = chromaFormatIdc === 1 || chromaFormatIdc === 2 ? 2 : 1;
  const subHeight = chromaFormatIdc === 1 ? 2 : 1;
  const cropUnitX = chromaArrayType === 0 ? 1 : subWidth;
  const cropUnitY = (chromaArrayType === 0 ? 1 : subHeight) * (2 - frameMbsOnly);
  const [left = 0, right = 0, top = 0, bottom = 0] = crop;
  const width = widthInMbs * 16 - cropUnitX * (left + right);
  const height = (2 - frameMbsOnly) * heightInMapUnits * 16 - cropUnitY * (top + bottom);
  if (width <= 0 || height <= 0) return null;
  return { profileIdc, chromaFormatIdc, bitDepthLumaMinus8, bitDepthChromaMinus8, width, height };
}

function skipScalingList(reader: BitReader, size: number): void {
  let last = 8;
  let next = 8;
  for (let j = 0; j < size && !reader.overrun; j++) {
    if (next !== 0) next = (last + reader.signedExpGolomb() + 256) % 256;
    last = next === 0 ? last : next;
  }
}

/**
 * The AVCDecoderConfigurationRecord (ISO/IEC 14496-15 §5.3.3.1) that Matroska's
 * V_MPEG4/ISO/AVC takes as CodecPrivate, with 4-byte NAL unit lengths.
 */
export function avcDecoderConfiguration(
  sps: Uint8Array,
  pps: Uint8Array,
  parameters: SequenceParameters,
): Buffer {
  const parts: Uint8Array[] = [
    Buffer.from([1, sps[1] as number, sps[2] as number, sps[3] as number, 0xfc | 3, 0xe0 | 1]),
    lengthPrefixed(sps),
    Buffer.from([1]),
    lengthPrefixed(pps),
  ];
  if (highProfiles.has(parameters.profileIdc)) {
    parts.push(
      Buffer.from([
        0xfc | parameters.chromaFormatIdc,
        0xf8 | parameters.bitDepthLumaMinus8,
        0xf8 | parameters.bitDepthChromaMinus8,
        0,
      ]),
    );
  }
  return Buffer.concat(parts);
}

function lengthPrefixed(nal: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(2 + nal.length);
  out.writeUInt16BE(nal.length, 0);
  out.set(nal, 2);
  return out;
}
