import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ParlorError } from '@parlor/protocol';
import type { ArchiveService } from '../../archive/ArchiveService.js';
import type { ByteRange } from '../../archive/ArchiveStorage.js';
import { downloadPathPrefix } from '../../archive/DownloadLinks.js';
import type { ForwardingOptions } from '../ownerForwarding.js';

const contentTypes: Readonly<Record<string, string>> = { mp4: 'video/mp4', zip: 'application/zip' };

/**
 * The download URL of an available archive: the signed link of its `url` field (403 when the
 * signature is wrong or the link expired, 404 when the archive is gone), with its content type
 * and length, and single byte ranges (206) for players that seek. In a cluster, any node
 * serves it: one that does not keep the file streams it from the node that does.
 */
export async function archiveDownloadRoutes(
  app: FastifyInstance,
  options: { archives: ArchiveService; forwarding: ForwardingOptions | null },
): Promise<void> {
  app.get(`${downloadPathPrefix}/:archiveId/:file`, async (request, reply) => {
    const { archiveId, file } = request.params as { archiveId: string; file: string };
    const { expires, signature } = request.query as Record<string, unknown>;
    const found = await options.archives.download(archiveId, file, expires, signature);
    if ('nodeId' in found) return streamFrom(found.nodeId, options.forwarding, request, reply);
    const { size, read } = found;
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

/**
 * In a cluster, the file of an archive another node keeps: streamed from that node, the
 * client's range passed on, its answer returned as is (never passed on again).
 */
async function streamFrom(
  nodeId: string,
  options: ForwardingOptions | null,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<FastifyReply> {
  const { archiveId } = request.params as { archiveId: string };
  if (options === null || request.forwardedBy) throw new ParlorError('ARCHIVE_NOT_FOUND', archiveId);
  const node = await options.cluster.nodeElsewhere(nodeId);
  if (!node)
    throw new ParlorError('NODE_UNREACHABLE', `node ${nodeId}, which keeps the archive, is not live`);
  const gone = new AbortController();
  reply.raw.once('close', () => {
    gone.abort();
  });
  const answer = await options.forwarding.stream(
    node,
    { method: request.method, url: request.url, apiKey: '', body: undefined, range: request.headers.range },
    gone.signal,
  );
  return reply.code(answer.status).headers(answer.headers).send(answer.body);
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
