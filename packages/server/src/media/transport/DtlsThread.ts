import { Worker } from 'node:worker_threads';
import type { SignatureHash } from 'werift';
import { workerEntry } from '../worker/workerEntry.js';
import type { DtlsCertificate } from './DtlsCertificate.js';
import {
  LocalDtlsHandshaker,
  type DtlsHandshake,
  type DtlsHandshakeCallbacks,
  type DtlsHandshaker,
  type DtlsSrtpKeys,
} from './DtlsHandshaker.js';

/** What a DTLS thread is started with (its `workerData`). */
export interface DtlsThreadSettings {
  readonly certPem: string;
  readonly keyPem: string;
  readonly signatureHash: SignatureHash;
}

/** From the media worker to its DTLS thread. */
export type DtlsThreadRequest =
  | { readonly kind: 'open'; readonly id: number }
  | { readonly kind: 'datagram'; readonly id: number; readonly datagram: Uint8Array }
  | { readonly kind: 'close'; readonly id: number };

/** From the DTLS thread back. */
export type DtlsThreadReply =
  | { readonly kind: 'send'; readonly id: number; readonly datagram: Uint8Array }
  | { readonly kind: 'connected'; readonly id: number; readonly keys: DtlsSrtpKeys }
  | { readonly kind: 'failed'; readonly id: number };

/**
 * DTLS handshakes in a thread of their own: the media worker relays each peer's DTLS datagrams
 * (about eight per handshake) and gets back those to send and, at the end, the exported SRTP
 * keys and the peer's certificate. A join storm's handshakes (about 1 ms of CPU each, most of it
 * werift's JavaScript) then wait for that thread, not the forwarding one. Should the thread
 * die, handshakes under way fail and later ones run on the calling thread, as before.
 */
export class DtlsThread implements DtlsHandshaker {
  readonly #worker: Worker;
  readonly #fallback: LocalDtlsHandshaker;
  readonly #handshakes = new Map<number, DtlsHandshakeCallbacks>();
  #nextId = 1;
  #dead = false;

  constructor(certificate: DtlsCertificate) {
    this.#fallback = new LocalDtlsHandshaker(certificate);
    const settings: DtlsThreadSettings = {
      certPem: certificate.certPem,
      keyPem: certificate.keyPem,
      signatureHash: certificate.signatureHash,
    };
    this.#worker = new Worker(workerEntry(import.meta.url, 'dtlsThreadMain'), {
      workerData: settings,
      name: 'parlor-dtls',
    });
    // It lives as long as the thread that made it, and keeps no process alive.
    this.#worker.unref();
    this.#worker.on('message', (reply: DtlsThreadReply) => {
      this.#receive(reply);
    });
    const die = (): void => {
      this.#dead = true;
      const callbacks = [...this.#handshakes.values()];
      this.#handshakes.clear();
      for (const handshake of callbacks) handshake.failed();
    };
    this.#worker.on('error', die);
    this.#worker.on('exit', die);
  }

  open(callbacks: DtlsHandshakeCallbacks): DtlsHandshake {
    if (this.#dead) return this.#fallback.open(callbacks);
    const id = this.#nextId++;
    this.#handshakes.set(id, callbacks);
    this.#post({ kind: 'open', id });
    return {
      receive: (datagram) => {
        if (this.#handshakes.has(id)) this.#post({ kind: 'datagram', id, datagram });
      },
      close: () => {
        if (this.#handshakes.delete(id)) this.#post({ kind: 'close', id });
      },
    };
  }

  /** Ends the thread; handshakes under way fail. Idempotent. */
  async close(): Promise<void> {
    await this.#worker.terminate();
  }

  #post(request: DtlsThreadRequest): void {
    if (!this.#dead) this.#worker.postMessage(request);
  }

  #receive(reply: DtlsThreadReply): void {
    const callbacks = this.#handshakes.get(reply.id);
    if (!callbacks) return;
    switch (reply.kind) {
      case 'send':
        callbacks.send(reply.datagram);
        break;
      case 'connected':
        callbacks.connected(reply.keys);
        break;
      case 'failed':
        this.#handshakes.delete(reply.id);
        callbacks.failed();
        break;
    }
  }
}
