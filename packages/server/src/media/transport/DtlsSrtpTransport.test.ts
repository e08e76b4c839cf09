import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { after, before, describe, it } from 'node:test';
import { DtlsClient, type Transport } from 'werift';
import { UdpMux } from '../ice/UdpMux.js';
import { serializeStun, stunAttributes, stunMessageTypes } from '../ice/stun.js';
import { deriveSrtpSessionKeys } from '../srtp/keyDerivation.js';
import { srtpProfileById, srtpProfiles } from '../srtp/profiles.js';
import { SrtpContext } from '../srtp/SrtpContext.js';
import { DtlsCertificate } from './DtlsCertificate.js';
import { DtlsSrtpTransport, type DtlsSrtpState } from './DtlsSrtpTransport.js';

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

/** A browser stand-in: one UDP socket, an ICE check, then werift's DTLS client and SRTP. */
class FakeBrowser {
  readonly socket: Socket;
  readonly received: Buffer[] = [];
  inbound: SrtpContext | null = null;
  outbound: SrtpContext | null = null;
  readonly #transport: Transport;

  constructor() {
    this.socket = createSocket('udp4');
    this.#transport = {
      type: 'udp',
      address: {} as Transport['address'],
      closed: false,
      onData: () => undefined,
      send: async (data) => {
        this.socket.send(data, mux.port, '127.0.0.1');
      },
      close: async () => undefined,
    };
    this.socket.on('message', (packet) => {
      const first = packet[0] as number;
      if (first >= 20 && first <= 63) this.#transport.onData(packet, {} as never);
      else if (first >= 128) this.received.push(packet);
    });
  }

  async connect(usernameFragment: string, password: string): Promise<void> {
    await new Promise<void>((resolve) => this.socket.bind(0, '127.0.0.1', resolve));
    const check = serializeStun(
      {
        type: stunMessageTypes.bindingRequest,
        transactionId: randomBytes(12),
        attributes: [
          { type: stunAttributes.username, value: Buffer.from(`${usernameFragment}:browser`) },
          { type: stunAttributes.useCandidate, value: Buffer.alloc(0) },
        ],
      },
      password,
    );
    this.socket.send(check, mux.port, '127.0.0.1');
    const dtls = new DtlsClient({
      transport: this.#transport,
      cert: browserCertificate.certPem,
      key: browserCertificate.keyPem,
      signatureHash: browserCertificate.signatureHash,
      srtpProfiles: [srtpProfiles.AEAD_AES_128_GCM.id, srtpProfiles.AES_CM_128_HMAC_SHA1_80.id] as never,
      extendedMasterSecret: true,
    });
    const connected = new Promise<void>((resolve) =>
      dtls.onConnect.subscribe(() => {
        resolve();
      }),
    );
    await dtls.connect();
    await connected;
    const profile = srtpProfileById(dtls.srtp.srtpProfile ?? -1);
    assert.ok(profile);
    const { keyLength, saltLength } = srtpProfiles[profile];
    const keys = dtls.extractSessionKeys(keyLength, saltLength) as Record<string, Buffer>;
    const context = (masterKey?: Buffer, masterSalt?: Buffer) =>
      new SrtpContext(
        deriveSrtpSessionKeys({
          profile,
          masterKey: masterKey ?? Buffer.alloc(0),
          masterSalt: masterSalt ?? Buffer.alloc(0),
        }),
      );
    this.outbound = context(keys.localKey, keys.localSalt);
    this.inbound = context(keys.remoteKey, keys.remoteSalt);
  }
}

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

    const browser = new FakeBrowser();
    await browser.connect(endpoint.usernameFragment, endpoint.password);
    await waitFor(() => router.state === 'connected', 'the router to connect');
    assert.deepEqual(states, ['connecting', 'connected']);

    const outbound = browser.outbound as SrtpContext;
    for (let i = 0; i < 3; i++) browser.socket.send(outbound.protectRtp(rtp(100 + i)), mux.port, '127.0.0.1');
    browser.socket.send(outbound.protectRtcp(receiverReport), mux.port, '127.0.0.1');
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
    browser.socket.close();
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
    const browser = new FakeBrowser();
    await browser.connect(endpoint.usernameFragment, endpoint.password);
    await waitFor(() => router.state === 'failed', 'the router to fail');
    router.close();
    endpoint.close();
    browser.socket.close();
  });
});
