import { createReadStream } from 'node:fs';
import { copyFile, mkdir, rename, rm, stat, unlink } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';

/** An inclusive byte range. */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

/**
 * Where finished archive files are kept, by key (`{archiveId}/archive.mp4`). The local directory
 * is the default; an S3-compatible bucket would be another implementation.
 */
export interface ArchiveStorage {
  /** Moves a finished file in under the key; resolves to its size in bytes. */
  put(key: string, file: string): Promise<number>;
  /** The stored object's size, or null when there is none. */
  size(key: string): Promise<number | null>;
  /** Reads the object, or a range of it. */
  read(key: string, range?: ByteRange): Readable;
  /** Removes every object under the prefix (an archive's folder); nothing there is no error. */
  deletePrefix(prefix: string): Promise<void>;
}

/** Archive files in a local directory. */
export class LocalArchiveStorage implements ArchiveStorage {
  readonly #root: string;

  constructor(root: string) {
    this.#root = resolve(root);
  }

  async put(key: string, file: string): Promise<number> {
    const target = this.#path(key);
    await mkdir(dirname(target), { recursive: true });
    try {
      await rename(file, target);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
      // Another file system: copy, then remove the original.
      await copyFile(file, target);
      await unlink(file);
    }
    return (await stat(target)).size;
  }

  async size(key: string): Promise<number | null> {
    try {
      return (await stat(this.#path(key))).size;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
  }

  read(key: string, range?: ByteRange): Readable {
    return createReadStream(this.#path(key), range && { start: range.start, end: range.end });
  }

  async deletePrefix(prefix: string): Promise<void> {
    await rm(this.#path(prefix), { recursive: true, force: true });
  }

  /** The key's file; a key can never name anything outside the root. */
  #path(key: string): string {
    const path = resolve(join(this.#root, key));
    if (!path.startsWith(this.#root + sep))
      throw new TypeError(`key: ${JSON.stringify(key)} leaves the storage`);
    return path;
  }
}
