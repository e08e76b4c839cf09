// The entry point of a media worker thread: binds the worker's own UDP socket and hosts the
// routers the main thread places on it. The main thread ends it with `terminate()`, which
// closes its sockets.
import { performance } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import { UdpMux } from '../ice/UdpMux.js';
import { DtlsCertificate } from '../transport/DtlsCertificate.js';
import { DtlsThread } from '../transport/DtlsThread.js';
import { HandshakeLimiter } from '../transport/HandshakeLimiter.js';
import { measureLoad, WorkerLoadTracker } from './WorkerLoad.js';
import { WorkerRouters } from './WorkerRouters.js';
import type { MediaWorkerMessage, MediaWorkerRequest, MediaWorkerSettings } from './workerProtocol.js';

const port = parentPort;
if (!port) throw new Error('mediaWorkerMain runs as a worker thread');
const settings = workerData as MediaWorkerSettings;
const { certPem, keyPem, signatureHash } = settings.certificate;
const mux = await UdpMux.bind({
  host: settings.host,
  port: settings.port,
  tcp: settings.tcp,
  tcpLimits: settings.tcpLimits,
  batchedReads: settings.batchedReads,
});
const certificate = DtlsCertificate.fromPem(certPem, keyPem, signatureHash);
const routers = new WorkerRouters({
  mux,
  certificate,
  announcedAddress: settings.announcedAddress,
  videoFallback: settings.videoFallback,
  publisherFeedback: settings.publisherFeedback,
  dataPlane: settings.dataPlane,
  // Consent first: binding requests are answered as each datagram is read (UdpMux), so what
  // delays them is the loop's other work. New joins' DTLS handshakes run in a thread of their
  // own, bounded here.
  handshakes: new HandshakeLimiter(settings.handshakes),
  handshaker: new DtlsThread(certificate),
});

function post(message: MediaWorkerMessage): void {
  port?.postMessage(message);
}

mux.observer.on('batchedReadsFailed', (error) => {
  post({
    kind: 'warning',
    message: `batched reads failed, the worker reads with node:dgram: ${error.message}`,
  });
});

routers.on('routerEvent', (event) => {
  post({ kind: 'event', ...event });
});

function fail(id: number, error: unknown): void {
  const { name, message } = error instanceof Error ? error : new Error(String(error));
  post({ kind: 'failure', id, error: { name, message } });
}

port.on('message', (request: MediaWorkerRequest) => {
  try {
    const result = routers.handle(request.method, request.params);
    if (result instanceof Promise) {
      result.then(
        (settled) => {
          post({ kind: 'result', id: request.id, result: settled });
        },
        (error: unknown) => {
          fail(request.id, error);
        },
      );
    } else {
      post({ kind: 'result', id: request.id, result });
    }
  } catch (error) {
    fail(request.id, error);
  }
});
post({ kind: 'ready', port: mux.port });
// An overloaded worker (by the thresholds that stop it admitting) holds its subscribers' video at
// the lowest layer until it recovers, so that the rooms it carries keep their media.
const load = new WorkerLoadTracker(settings.admission);
/** The packets forwarded to subscribers per second, measured over 2 s or more. */
let forwarded = { count: 0, at: performance.now(), perSecond: 0 };
let sheddingMs = 0;
let sheddingSince: number | null = null;
measureLoad((reading) => {
  load.tick();
  load.report(reading);
  const shedding = load.overloaded;
  routers.setShedding(shedding);
  const now = performance.now();
  if (sheddingSince !== null) sheddingMs += now - sheddingSince;
  sheddingSince = shedding ? now : null;
  if (now - forwarded.at >= 2000) {
    const count = routers.forwardedPackets();
    // A subscription that ended takes its count along: that interval reads low.
    const perSecond = (Math.max(0, count - forwarded.count) * 1000) / (now - forwarded.at);
    forwarded = { count, at: now, perSecond };
  }
  post({
    kind: 'load',
    ...reading,
    forwardedPerSecond: Math.round(forwarded.perSecond),
    shedding,
    sheddingMs: Math.round(sheddingMs),
  });
});
