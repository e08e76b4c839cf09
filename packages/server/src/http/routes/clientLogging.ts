import type { FastifyInstance } from 'fastify';
import { handleNotFound } from '../errorHandler.js';

/** The largest client log entry taken (OpenTok's are a few hundred bytes), in bytes. */
const maxEntryBytes = 16 * 1024;

/**
 * Where OpenTok's clients send their log entries: `{loggingURL}/logging/ClientEvent` and
 * `…/ClientQos`, or through an IP proxy `{proxyUrl}/{loggingURL without https://}/logging/…`.
 */
const logPath = /\/logging\/Client(?:Event|Qos)$/;

/**
 * Client log entries, answered 200 and dropped: Parlor's `OT.properties.loggingURL` is the
 * server itself, and OpenTok's pre-call network test counts the logging server reachable when a
 * POST there answers 200 (its own analytics come too when its `proxyServerUrl` is this server).
 * Any POST path ending in `/logging/ClientEvent` or `/logging/ClientQos` matches, since the
 * proxied form embeds the logging URL in the path; other unknown POSTs still get 404.
 */
export async function clientLoggingRoutes(app: FastifyInstance): Promise<void> {
  // Whatever the entry's content type, it is read (up to the bound) and dropped.
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: maxEntryBytes }, (_request, _body, done) => {
    done(null, undefined);
  });
  app.post('/*', { bodyLimit: maxEntryBytes }, async (request, reply) => {
    if (!logPath.test(request.url.split('?')[0] ?? '')) {
      handleNotFound(request, reply);
      return reply;
    }
    return reply.code(200).send({});
  });
}
