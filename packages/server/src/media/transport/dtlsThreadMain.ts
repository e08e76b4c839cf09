// The entry point of a DTLS thread: runs the handshakes a media worker relays to it (see
// DtlsThread.ts), so that their cryptography and werift's record parsing stay off the thread
// that forwards media.
import { parentPort, workerData } from 'node:worker_threads';
import { DtlsCertificate } from './DtlsCertificate.js';
import { LocalDtlsHandshaker, type DtlsHandshake } from './DtlsHandshaker.js';
import type { DtlsThreadReply, DtlsThreadRequest, DtlsThreadSettings } from './DtlsThread.js';

const port = parentPort;
if (!port) throw new Error('dtlsThreadMain runs as a worker thread');
const { certPem, keyPem, signatureHash } = workerData as DtlsThreadSettings;
const handshaker = new LocalDtlsHandshaker(DtlsCertificate.fromPem(certPem, keyPem, signatureHash));
const handshakes = new Map<number, DtlsHandshake>();

function reply(message: DtlsThreadReply): void {
  port?.postMessage(message);
}

port.on('message', (request: DtlsThreadRequest) => {
  const { id } = request;
  switch (request.kind) {
    case 'open':
      handshakes.set(
        id,
        handshaker.open({
          send: (datagram) => {
            reply({ kind: 'send', id, datagram });
          },
          connected: (keys) => {
            reply({ kind: 'connected', id, keys });
          },
          failed: () => {
            handshakes.get(id)?.close();
            handshakes.delete(id);
            reply({ kind: 'failed', id });
          },
        }),
      );
      break;
    case 'datagram':
      handshakes.get(id)?.receive(request.datagram);
      break;
    case 'close':
      handshakes.get(id)?.close();
      handshakes.delete(id);
      break;
  }
});
