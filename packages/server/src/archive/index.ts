export type {
  ArchiveMedia,
  ArchiveMediaEvents,
  ArchiveNotice,
  LiveSession,
  LiveStream,
  RecordOptions,
  RecordedFile,
  RecoverRecording,
  StreamRecording,
} from './ArchiveMedia.js';
export {
  compositionArgs,
  placements,
  composedFrameRate,
  type CompositionInput,
  type CompositionSpec,
  type Placement,
} from './composition/compositionPlan.js';
export { composeArchive, probeMedia, FfmpegError, type MediaInfo } from './composition/ffmpeg.js';
export { layoutTiles, type Tile, type DrawnLayoutType } from './composition/layoutTiles.js';
