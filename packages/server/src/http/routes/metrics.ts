import { timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { ParlorError } from '@parlor/protocol';
import type { PrometheusMetrics } from '../../metrics/PrometheusMetrics.js';

export interface MetricsRouteOptions {
  readonly metrics: PrometheusMetrics;
  /**
   * The bearer token a scraper must present; null lets only local clients scrape (the metrics
   * name live sessions and connections): loopback ones whose request came through no proxy.
   */
  readonly token: string | null;
}

/** `GET /metrics`: Prometheus's text format. */
export async function metricsRoutes(app: FastifyInstance, options: MetricsRouteOptions): Promise<void> {
  const expected = options.token === null ? null : Buffer.from(`Bearer ${options.token}`);
  app.get('/metrics', async (request, reply) => {
    if (expected) {
      const given = Buffer.from(request.headers.authorization ?? '');
      if (given.length !== expected.length || !timingSafeEqual(given, expected))
        throw new ParlorError('AUTH_FAILED', 'scraping /metrics needs the metrics bearer token');
    } else if (!isLoopback(request.socket.remoteAddress) || cameThroughProxy(request.headers)) {
      throw new ParlorError(
        'AUTH_FAILED',
        'set --metrics-token to scrape /metrics from another host or through a proxy',
      );
    }
    reply.header('content-type', options.metrics.contentType);
    return options.metrics.render();
  });
}

/**
 * A reverse proxy on this host connects from loopback for clients anywhere; the headers proxies
 * add give it away. A page in a browser on this host sends its Origin: it is no scraper either.
 * (A proxy that adds none of them must be given a metrics token.)
 */
function cameThroughProxy(headers: IncomingHttpHeaders): boolean {
  return Object.keys(headers).some((name) => proxyHeader.test(name));
}

const proxyHeader = /^(forwarded|via|x-real-ip|x-forwarded-.*|origin)$/;

function isLoopback(address: string | undefined): boolean {
  return address !== undefined && /^(127\.|::1$|::ffff:127\.)/.test(address);
}
