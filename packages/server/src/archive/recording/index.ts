export {
  StreamRecorder,
  type StreamRecorderOptions,
  type StreamRecorderEvents,
  type RecordingResult,
  type RecordedTrack,
} from './StreamRecorder.js';
export type { RecordingTrack, RecordingCodec, TrackRecordingStats } from './TrackRecorder.js';
export { recoverRecording } from './recoverRecording.js';
export { CorruptRecordingError } from './CorruptRecordingError.js';
