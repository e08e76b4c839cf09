/**
 * What the router reads of a video packet's payload to switch layers and drop frames: where
 * frames and keyframes start, the temporal layer, and the VP8/VP9 picture numbering it rewrites.
 * Payload formats: VP8 RFC 7741, VP9 RFC 9628, H.264 RFC 6184.
 */

/** The codecs whose payload the router reads. */
export type RoutedVideoCodec = 'vp8' | 'vp9' | 'h264';

export interface VideoPacketInfo {
  /** The packet starts a frame (for H.264: a keyframe's first packet; others are not told). */
  frameStart: boolean;
  /** The packet starts a keyframe: a subscriber can start decoding, or switch layers, here. */
  keyframe: boolean;
  /** Temporal layer, 0 for the base (and for codecs without one). */
  temporalLayer: number;
  /** A frame that depends on the base layer only: a higher temporal layer can be joined here. */
  layerSync: boolean;
  /** Where the picture ID is in the packet, -1 without one; its width, 7 or 15 bits. */
  pictureIdOffset: number;
  pictureIdBits: number;
  pictureId: number;
  /** Where the base-layer picture index is in the packet, -1 without one. */
  tl0PicIdxOffset: number;
  tl0PicIdx: number;
  /** A keyframe's size (VP8, or VP9 with a scalability structure); 0 when not told. */
  width: number;
  height: number;
}

function emptyInfo(): VideoPacketInfo {
  return {
    frameStart: false,
    keyframe: false,
    temporalLayer: 0,
    layerSync: false,
    pictureIdOffset: -1,
    pictureIdBits: 0,
    pictureId: 0,
    tl0PicIdxOffset: -1,
    tl0PicIdx: 0,
    width: 0,
    height: 0,
  };
}

/** Reads the payload of a video packet, from `start` (after the RTP header) to `end` (before padding). */
export function readVideoPacket(
  codec: RoutedVideoCodec,
  packet: Uint8Array,
  start: number,
  end: number,
): VideoPacketInfo {
  const info = emptyInfo();
  if (end <= start) return info;
  if (codec === 'vp8') readVp8(packet, start, end, info);
  else if (codec === 'vp9') readVp9(packet, start, end, info);
  else readH264(packet, start, end, info);
  return info;
}

/** Where a packet's payload ends: before its padding (RFC 3550 §5.1, P bit). */
export function payloadEnd(packet: Uint8Array): number {
  if (((packet[0] as number) & 0x20) === 0) return packet.length;
  return packet.length - (packet[packet.length - 1] as number);
}

function readPictureId(packet: Uint8Array, position: number, info: VideoPacketInfo): number {
  const first = packet[position] as number;
  info.pictureIdOffset = position;
  if (first & 0x80) {
    info.pictureIdBits = 15;
    info.pictureId = ((first & 0x7f) << 8) | (packet[position + 1] as number);
    return position + 2;
  }
  info.pictureIdBits = 7;
  info.pictureId = first & 0x7f;
  return position + 1;
}

function readVp8(packet: Uint8Array, start: number, end: number, info: VideoPacketInfo): void {
  const first = packet[start] as number;
  let position = start + 1;
  if (first & 0x80) {
    const extension = packet[position++] as number;
    if (extension & 0x80) position = readPictureId(packet, position, info);
    if (extension & 0x40) {
      info.tl0PicIdxOffset = position;
      info.tl0PicIdx = packet[position++] ?? 0; // 0 past a truncated packet's end
    }
    if (extension & 0x30) {
      const layer = packet[position++] as number;
      if (extension & 0x20) {
        info.temporalLayer = layer >> 6;
        info.layerSync = (layer & 0x20) !== 0;
      }
    }
  }
  if (position >= end) return;
  info.frameStart = (first & 0x10) !== 0 && (first & 0x07) === 0;
  if (!info.frameStart) return;
  // The VP8 payload header (RFC 6386 §9.1): P clear for a keyframe, then its start code and size.
  info.keyframe = ((packet[position] as number) & 0x01) === 0;
  if (info.temporalLayer === 0 && info.keyframe) info.layerSync = true;
  if (info.keyframe && position + 10 <= end && packet[position + 3] === 0x9d) {
    info.width = (((packet[position + 7] as number) << 8) | (packet[position + 6] as number)) & 0x3fff;
    info.height = (((packet[position + 9] as number) << 8) | (packet[position + 8] as number)) & 0x3fff;
  }
}

function readVp9(packet: Uint8Array, start: number, end: number, info: VideoPacketInfo): void {
  const first = packet[start] as number;
  const interPicture = (first & 0x40) !== 0;
  const flexible = (first & 0x10) !== 0;
  const beginsFrame = (first & 0x08) !== 0;
  let position = start + 1;
  if (first & 0x80) position = readPictureId(packet, position, info);
  let spatialLayer = 0;
  if (first & 0x20) {
    const layer = packet[position++] as number;
    info.temporalLayer = layer >> 5;
    info.layerSync = (layer & 0x10) !== 0;
    spatialLayer = (layer >> 1) & 0x07;
    if (!flexible) {
      info.tl0PicIdxOffset = position;
      info.tl0PicIdx = packet[position++] ?? 0; // 0 past a truncated packet's end
    }
  }
  if (flexible && interPicture) {
    // Reference differences: one byte each, N set while another follows (at most three).
    for (let i = 0; i < 3 && position < end; i++) if (((packet[position++] as number) & 0x01) === 0) break;
  }
  if (first & 0x02 && position < end) {
    // The scalability structure: the size of each spatial layer, when Y is set.
    const structure = packet[position++] as number;
    const layers = (structure >> 5) + 1;
    if (structure & 0x10 && position + layers * 4 <= end) {
      const last = position + (layers - 1) * 4;
      info.width = ((packet[last] as number) << 8) | (packet[last + 1] as number);
      info.height = ((packet[last + 2] as number) << 8) | (packet[last + 3] as number);
    }
  }
  info.frameStart = beginsFrame && spatialLayer === 0;
  info.keyframe = info.frameStart && !interPicture;
  if (info.keyframe) info.layerSync = true;
}

const nalIdr = 5;
const nalSps = 7;
const nalStapA = 24;
const nalFuA = 28;

function readH264(packet: Uint8Array, start: number, end: number, info: VideoPacketInfo): void {
  const type = (packet[start] as number) & 0x1f;
  if (type === nalStapA) {
    for (let position = start + 1; position + 2 < end;) {
      const size = ((packet[position] as number) << 8) | (packet[position + 1] as number);
      const unit = (packet[position + 2] as number) & 0x1f;
      if (unit === nalSps || unit === nalIdr) info.keyframe = true;
      position += 2 + size;
    }
  } else if (type === nalFuA) {
    const header = packet[start + 1] as number;
    info.keyframe = (header & 0x80) !== 0 && (header & 0x1f) === nalIdr;
  } else {
    info.keyframe = type === nalSps || type === nalIdr;
  }
  info.frameStart = info.keyframe;
  info.layerSync = info.keyframe;
}
