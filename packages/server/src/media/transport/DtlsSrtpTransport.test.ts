import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { UdpMux } from '../ice/UdpMux.js';
import type { SrtpContext } from '../srtp/SrtpContext.js';
import { DtlsCertificate } from './DtlsCertificate.js';
import { DtlsSrtpTransport, type DtlsSrtpState } from './DtlsSrtpTransport.js';
import { FakeBrowser } from './FakeBrowser.js';

let mux: UdpMux;
let routerCertificate: DtlsCertificate;
let browserCertificate: DtlsCertificate;

before(async () => {
  mux = await UdpMux.bind({ host: '127.0.0.1' });
  [routerCertificate, browserCertificate] = await Promise.all([
    DtlsCertificate.generate(),
    DtlsCertificate.generate(),
  ]);
});
after(() => {
  mux.close();
});

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

async function waitFor(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.ok(condition(), `timed out waiting for ${what}`);
}

describe('DTLS-SRTP over ICE-lite', () => {
  it('completes the handshake with a DTLS client and carries SRTP and SRTCP both ways', async () => {
    const endpoint = mux.createEndpoint();
    const router = new DtlsSrtpTransport({
      endpoint,
      certificate: routerCertificate,
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

  it('fails when the peer certificate does not match the signalled fingerprint', async () => {
    const endpoint = mux.createEndpoint();
    const router = new DtlsSrtpTransport({
      endpoint,
      certificate: routerCertificate,
      remoteFingerprint: `sha-256 ${routerCertificate.fingerprint}`,
    });
    const browser = new FakeBrowser(mux.port, browserCertificate);
    await browser.connect(endpoint.usernameFragment, endpoint.password);
    await waitFor(() => router.state === 'failed', 'the router to fail');
    router.close();
    endpoint.close();
    browser.close();
  });
});
