import autocannon from 'autocannon';
import jwt from 'jsonwebtoken';
import { ServerProcess } from './serverProcess.js';

export interface HttpFigures {
  /** Requests completed per second of wall time. */
  readonly requestsPerSecond: number;
  /** Requests per second of server CPU time: what one fully used core would serve. */
  readonly requestsPerCoreSecond: number;
  /** Share of one core the server used, in percent. */
  readonly serverCpuPercent: number;
  readonly latencyP50Ms: number;
  readonly latencyP99Ms: number;
  readonly errors: number;
}

export interface RestBenchResult {
  readonly sessionCreate: HttpFigures;
  /** The peer: a bare `GET /health` on the same server, the framework's floor. */
  readonly health: HttpFigures;
}

const connections = 32;

/**
 * Session creates through the REST API with keep-alive, against the built server pinned to
 * core 0, beside a bare health check measured in the same run.
 */
export async function runRestBench(durationSeconds: number): Promise<RestBenchResult> {
  const server = await ServerProcess.start({ core: 0 });
  try {
    const sessionCreate = await measureSessionCreates(server, durationSeconds);
    const health = await measure(server, durationSeconds, { url: `${server.url}/health`, method: 'GET' });
    return { sessionCreate, health };
  } finally {
    await server.stop();
  }
}

/** `POST /session/create` with keep-alive: routed sessions with a location hint. */
export function measureSessionCreates(server: ServerProcess, durationSeconds: number): Promise<HttpFigures> {
  const now = Math.floor(Date.now() / 1000);
  const auth = jwt.sign({ iss: server.apiKey, ist: 'project', iat: now, exp: now + 300 }, server.apiSecret, {
    algorithm: 'HS256',
  });
  return measure(server, durationSeconds, {
    url: `${server.url}/session/create`,
    method: 'POST',
    headers: {
      'X-OPENTOK-AUTH': auth,
      Accept: 'application/json',
      'Content-Type': 'application/x-www-form-urlencoded',
    },
    body: 'archiveMode=manual&p2p.preference=disabled&location=10.1.1.1',
  });
}

async function measure(
  server: ServerProcess,
  durationSeconds: number,
  request: Pick<autocannon.Options, 'url' | 'method' | 'headers' | 'body'>,
): Promise<HttpFigures> {
  // A short warm-up lets the JIT settle before the measured run.
  await autocannon({ ...request, connections, duration: 1 });
  const cpuBefore = server.cpuSeconds();
  const result = await autocannon({ ...request, connections, duration: durationSeconds });
  const cpu = server.cpuSeconds() - cpuBefore;
  const completed = result.requests.total - result.non2xx;
  return {
    requestsPerSecond: completed / result.duration,
    requestsPerCoreSecond: cpu > 0 ? completed / cpu : 0,
    serverCpuPercent: (100 * cpu) / result.duration,
    latencyP50Ms: result.latency.p50,
    latencyP99Ms: result.latency.p99,
    errors: result.errors + result.timeouts + result.non2xx,
  };
}
