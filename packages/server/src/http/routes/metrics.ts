import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { ParlorError } from '@parlor/protocol';
import type { PrometheusMetrics } from '../../metrics/PrometheusMetrics.js';

export interface MetricsRouteOptions {
  readonly metrics: PrometheusMetrics;
  /**
   * The bearer token a scraper must present; null lets only loopback clients scrape (the
   * metrics name live sessions and connections).
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
    } else if (!isLoopback(request.socket.remoteAddress)) {
      throw new ParlorError('AUTH_FAILED', 'set --metrics-token to scrape /metrics from another host');
    }
    reply.header('content-type', options.metrics.contentType);
    return options.metrics.render();
  });
}

function isLoopback(address: string | undefined): boolean {
  return address !== undefined && /^(127\.|::1$|::ffff:127\.)/.test(address);
}
