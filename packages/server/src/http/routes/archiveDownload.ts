import type { FastifyInstance } from 'fastify';
import type { ArchiveService } from '../../archive/ArchiveService.js';
import type { ByteRange } from '../../archive/ArchiveStorage.js';
import { downloadPathPrefix } from '../../archive/DownloadLinks.js';

const contentTypes: Readonly<Record<string, string>> = { mp4: 'video/mp4', zip: 'application/zip' };

/**
 * The download URL of an available archive: the signed link of its `url` field (403 when the
 * signature is wrong or the link expired, 404 when the archive is gone), with its content type
 * and length, and single byte ranges (206) for players that seek.
 */
export async function archiveDownloadRoutes(
  app: FastifyInstance,
  options: { archives: ArchiveService },
): Promise<void> {
  app.get(`${downloadPathPrefix}/:archiveId/:file`, async (request, reply) => {
    const { archiveId, file } = request.params as { archiveId: string; file: string };
    const { expires, signature } = request.query as Record<string, unknown>;
    const { size, read } = await options.archives.download(archiveId, file, expires, signature);
    const extension = file.split('.').pop() ?? '';
    void reply
      .header('content-type', contentTypes[extension] ?? 'application/octet-stream')
      .header('content-disposition', `attachment; filename="${file}"`)
      .header('accept-ranges', 'bytes')
      .header('cache-control', 'private, no-store');
    const range = byteRange(request.headers.range, size);
    if (range === 'unsatisfiable') {
      return reply.code(416).header('content-range', `bytes */${size}`).send();
    }
    if (range) {
      void reply
        .code(206)
        .header('content-range', `bytes ${range.start}-${range.end}/${size}`)
        .header('content-length', range.end - range.start + 1);
      return reply.send(read(range));
    }
    void reply.header('content-length', size);
    return reply.send(read());
  });
}

/** A `Range: bytes=a-b`, `a-` or `-n` header; anything else (several ranges…) means the whole file. */
function byteRange(header: string | undefined, size: number): ByteRange | 'unsatisfiable' | null {
  const match = header === undefined ? null : /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (match[1] === '' && match[2] === '')) return null;
  const [first, last] = [match[1] as string, match[2] as string];
  const start = first === '' ? Math.max(0, size - Number(last)) : Number(first);
  const end = first === '' || last === '' ? size - 1 : Math.min(Number(last), size - 1);
  if (start > end || start >= size) return 'unsatisfiable';
  return { start, end };
}
