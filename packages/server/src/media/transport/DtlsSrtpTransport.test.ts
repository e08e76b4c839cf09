import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '../../waitFor.js';
import { UdpMux } from '../ice/UdpMux.js';
import type { SrtpContext } from '../srtp/SrtpContext.js';
import { DtlsCertificate } from './DtlsCertificate.js';
import { DtlsSrtpTransport, type DtlsSrtpState } from './DtlsSrtpTransport.js';
import type { DtlsHandshaker } from './DtlsHandshaker.js';
import { DtlsThread } from './DtlsThread.js';
import { FakeBrowser } from './FakeBrowser.js';
import { HandshakeLimiter } from './HandshakeLimiter.js';

let mux: UdpMux;
let routerCertificate: DtlsCertificate;
let browserCertificate: DtlsCertificate;
let dtlsThread: DtlsThread;

before(async () => {
  mux = await UdpMux.bind({ host: '127.0.0.1' });
  [routerCertificate, browserCertificate] = await Promise.all([
    DtlsCertificate.generate(),
    DtlsCertificate.generate(),
  ]);
  dtlsThread = new DtlsThread(routerCertificate);
});
after(async () => {
  mux.close();
  await dtlsThread.close();
});

/** The handshake on this thread (werift, the default) or in a DTLS thread of its own. */
const handshakers: readonly [string, () => { handshaker?: DtlsHandshaker }][] = [
  ['on this thread', () => ({})],
  ['in a DTLS thread', () => ({ handshaker: dtlsThread })],
];

function rtp(sequence: number): Buffer {
  const packet = Buffer.alloc(12 + 200, sequence & 0xff);
  packet[0] = 0x80;
  packet[1] = 111;
  packet.writeUInt16BE(sequence, 2);
  packet.writeUInt32BE(sequence * 960, 4);
  packet.writeUInt32BE(0xabcdef01, 8);
  return packet;
}

const receiverReport = Buffer.from(
  '81c90007abcdef01' + '12345678' + '00000000' + '00000010' + '00000000' + '00000000' + '00000000',
  'hex',
);

describe('DTLS-SRTP over ICE-lite', () => {
  for (const [where, handshaker] of handshakers) {
    it(`completes the handshake with a DTLS client and carries SRTP and SRTCP both ways, ${where}`, async () => {
      const endpoint = mux.createEndpoint();
      const router = new DtlsSrtpTransport({
        endpoint,
        certificate: routerCertificate,
        ...handshaker(),
        remoteFingerprint: `sha-256 ${browserCertificate.fingerprint}`,
      });
      const states: DtlsSrtpState[] = [];
      router.on('stateChange', (state) => states.push(state));
      const received: Buffer[] = [];
      router.on('rtp', (packet) => received.push(packet));
      router.on('rtcp', (packet) => received.push(packet));

      const browser = new FakeBrowser(mux.port, browserCertificate);
      await browser.connect(endpoint.usernameFragment, endpoint.password);
      await waitFor(() => router.state === 'connected', 'the router to connect');
      assert.deepEqual(states, ['connecting', 'connected']);

      const outbound = browser.outbound as SrtpContext;
      for (let i = 0; i < 3; i++) browser.send(outbound.protectRtp(rtp(100 + i)));
      browser.send(outbound.protectRtcp(receiverReport));
      await waitFor(() => received.length === 4, 'media at the router');
      assert.deepEqual(received.slice(0, 3), [rtp(100), rtp(101), rtp(102)]);
      assert.deepEqual(received[3], receiverReport);

      router.sendRtp(rtp(7));
      router.sendRtcp(receiverReport);
      await waitFor(() => browser.received.length === 2, 'media at the browser');
      const inbound = browser.inbound as SrtpContext;
      assert.deepEqual(inbound.unprotectRtp(browser.received[0] as Buffer), rtp(7));
      assert.deepEqual(inbound.unprotectRtcp(browser.received[1] as Buffer), receiverReport);

      router.close();
      endpoint.close();
      browser.close();
      assert.throws(() => {
        router.sendRtp(rtp(8));
      }, /closed/);
    });

    it(`fails when the peer certificate does not match the signalled fingerprint, ${where}`, async () => {
      const endpoint = mux.createEndpoint();
      const router = new DtlsSrtpTransport({
        endpoint,
        certificate: routerCertificate,
        ...handshaker(),
        remoteFingerprint: `sha-256 ${routerCertificate.fingerprint}`,
      });
      const browser = new FakeBrowser(mux.port, browserCertificate);
      await browser.connect(endpoint.usernameFragment, endpoint.password);
      await waitFor(() => router.state === 'failed', 'the router to fail');
      router.close();
      endpoint.close();
      browser.close();
    });
  }

  it('holds a handshake while the limiter has no turn for it and completes it once one is free; refuses one past the queue', async () => {
    const handshakes = new HandshakeLimiter({
      maxConcurrent: 1,
      perSecond: 1e9, // no rate limit to speak of
      maxQueued: 1,
      queueTimeoutMs: 5000,
      holdTimeoutMs: 5000,
    });
    const peer = () => {
      const endpoint = mux.createEndpoint();
      const router = new DtlsSrtpTransport({
        endpoint,
        certificate: routerCertificate,
        remoteFingerprint: `sha-256 ${browserCertificate.fingerprint}`,
        handshakes,
      });
      return { endpoint, router };
    };
    const waiting = peer();
    const refused = peer();
    const browser = new FakeBrowser(mux.port, browserCertificate);
    try {
      // Another handshake has the one turn.
      const busy = handshakes.request(
        () => undefined,
        () => undefined,
      );
      const connected = browser.connect(waiting.endpoint.usernameFragment, waiting.endpoint.password);
      await waitFor(() => handshakes.counts.queued === 1, 'the handshake to wait');
      // The refused peer's first DTLS record, on a path its check proved.
      refused.endpoint.handleCheck(
        { protocol: 'udp', remote: { address: '127.0.0.1', port: 9 }, fd: null, send: () => undefined },
        true,
        Date.now(),
      );
      refused.endpoint.handlePacket(Buffer.from([22, 0xfe, 0xfd, 0, 0]));
      await waitFor(() => refused.router.state === 'failed', 'the one past the queue to be refused');
      assert.equal(waiting.router.state, 'new');
      busy();
      await connected;
      await waitFor(() => waiting.router.state === 'connected', 'the held handshake to complete');
      assert.deepEqual(handshakes.counts, { running: 0, queued: 0 });
    } finally {
      for (const { router, endpoint } of [waiting, refused]) {
        router.close();
        endpoint.close();
      }
      browser.close();
    }
  });
});
