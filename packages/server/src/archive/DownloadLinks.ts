import { createHmac, timingSafeEqual } from 'node:crypto';
import { ParlorError } from '@parlor/protocol';

/** Path of the download endpoint; `:archiveId` and `:file` follow. */
export const downloadPathPrefix = '/v2/archive-download';

export interface DownloadLinksOptions {
  /** Signs the links; kept secret by the server. */
  readonly secret: string;
  /** How long a link stays valid, in ms. */
  readonly lifetimeMs: number;
  /** The server's public URL, without a trailing slash. */
  readonly baseUrl: () => string;
}

/**
 * Download URLs of available archives: `…/v2/archive-download/{id}/{file}?expires&signature`,
 * an HMAC-SHA256 of the archive, file and expiry, valid for a limited time (OpenTok: 10 min).
 */
export class DownloadLinks {
  readonly #secret: string;
  readonly #lifetimeMs: number;
  readonly #baseUrl: () => string;

  constructor(options: DownloadLinksOptions) {
    this.#secret = options.secret;
    this.#lifetimeMs = options.lifetimeMs;
    this.#baseUrl = options.baseUrl;
  }

  /** A link to the archive's file valid from `now` for the configured lifetime. */
  urlFor(archiveId: string, file: string, now = Date.now()): string {
    const expires = Math.ceil((now + this.#lifetimeMs) / 1000);
    const signature = this.#sign(archiveId, file, expires);
    return `${this.#baseUrl()}${downloadPathPrefix}/${archiveId}/${encodeURIComponent(file)}?expires=${expires}&signature=${signature}`;
  }

  /** Throws DOWNLOAD_REFUSED unless the signature is this server's and the link has not expired. */
  verify(archiveId: string, file: string, expires: unknown, signature: unknown, now = Date.now()): void {
    const seconds = typeof expires === 'string' && /^[0-9]{1,12}$/.test(expires) ? Number(expires) : NaN;
    if (Number.isNaN(seconds) || typeof signature !== 'string') {
      throw new ParlorError('DOWNLOAD_REFUSED', 'the link lacks its expiry or signature');
    }
    const expected = Buffer.from(this.#sign(archiveId, file, seconds));
    const given = Buffer.from(signature);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw new ParlorError('DOWNLOAD_REFUSED', 'wrong signature');
    }
    if (seconds * 1000 < now) throw new ParlorError('DOWNLOAD_REFUSED', 'the link has expired');
  }

  #sign(archiveId: string, file: string, expires: number): string {
    return createHmac('sha256', this.#secret).update(`${archiveId}\n${file}\n${expires}`).digest('base64url');
  }
}
