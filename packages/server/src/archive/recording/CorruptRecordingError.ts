/** A recording file cannot be made whole: it is not a Parlor recording, or it was cut before its header was complete. */
export class CorruptRecordingError extends Error {
  override readonly name = 'CorruptRecordingError';
}
