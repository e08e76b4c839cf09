import { createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import type { VideoType } from '@parlor/protocol';
import yazl from 'yazl';

/** One stream's file in an individual archive. */
export interface IndividualFile {
  /** The file on disk. */
  readonly path: string;
  /** Its name in the ZIP. */
  readonly filename: string;
  readonly streamId: string;
  readonly connectionData: string;
  readonly videoType: VideoType | null;
  /** Milliseconds from the archive's start. */
  readonly startTimeOffset: number;
  readonly stopTimeOffset: number;
}

/** OpenTok's manifest of an individual archive. */
export interface IndividualManifest {
  readonly createdAt: number;
  readonly id: string;
  readonly name: string | null;
  readonly sessionId: string;
  readonly files: readonly {
    readonly connectionData: string;
    readonly filename: string;
    readonly size: number;
    readonly startTimeOffset: number;
    readonly stopTimeOffset: number;
    readonly streamId: string;
    readonly videoType?: VideoType;
  }[];
}

/**
 * Writes an individual archive: each stream's file, stored as is (media does not compress), and
 * the manifest `{archiveId}.json`. yazl streams each file from disk, so memory stays flat however
 * long the recordings, and switches to ZIP64 past 4 GiB.
 */
export async function writeIndividualZip(
  output: string,
  archive: {
    readonly archiveId: string;
    readonly name: string | null;
    readonly sessionId: string;
    readonly createdAt: number;
  },
  files: readonly IndividualFile[],
): Promise<IndividualManifest> {
  const zip = new yazl.ZipFile();
  const entries = await Promise.all(
    files.map(async (file) => ({
      connectionData: file.connectionData,
      filename: file.filename,
      size: (await stat(file.path)).size,
      startTimeOffset: file.startTimeOffset,
      stopTimeOffset: file.stopTimeOffset,
      streamId: file.streamId,
      ...(file.videoType === null ? {} : { videoType: file.videoType }),
    })),
  );
  const manifest: IndividualManifest = {
    createdAt: archive.createdAt,
    id: archive.archiveId,
    name: archive.name,
    sessionId: archive.sessionId,
    files: entries,
  };
  for (const file of files) zip.addFile(file.path, file.filename, { compress: false });
  zip.addBuffer(Buffer.from(JSON.stringify(manifest, null, 2)), `${archive.archiveId}.json`);
  zip.end();
  await pipeline(zip.outputStream, createWriteStream(output));
  return manifest;
}
