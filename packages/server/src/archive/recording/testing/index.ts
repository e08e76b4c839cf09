export {
  makeVideoClip,
  makeOpusClip,
  type VideoClip,
  type VideoClipOptions,
  type VideoCodec,
  type VideoFrame,
} from './mediaFiles.js';
export { RtpPacketizer, type RtpPacketizerOptions } from './RtpPacketizer.js';
export {
  scheduleStream,
  audioPayloadType,
  videoPayloadType,
  type ScheduledPacket,
  type StreamScheduleOptions,
} from './streamSchedule.js';
export { probe, decodeErrors, type Probe, type ProbedStream } from './ffprobe.js';
