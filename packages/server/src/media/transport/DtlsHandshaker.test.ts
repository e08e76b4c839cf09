import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { DtlsClient, type Transport } from 'werift';
import { srtpProfiles } from '../srtp/profiles.js';
import { DtlsCertificate } from './DtlsCertificate.js';
import { LocalDtlsHandshaker } from './DtlsHandshaker.js';

let serverCertificate: DtlsCertificate;
let clientCertificate: DtlsCertificate;

before(async () => {
  [serverCertificate, clientCertificate] = await Promise.all([
    DtlsCertificate.generate(),
    DtlsCertificate.generate(),
  ]);
});

describe('LocalDtlsHandshaker', () => {
  it('resends its last flight when the peer retransmits its own after the handshake, so that a lost Finished does not leave the peer unconnected', async () => {
    const handshaker = new LocalDtlsHandshaker(serverCertificate);
    let serverKeys = 0;
    /** While true, the server's last flight (its ChangeCipherSpec and Finished, in epoch 1) is lost. */
    let losing = true;
    let lost = 0;
    let resent = 0;
    const clientTransport: Transport = {
      type: 'udp',
      address: {} as Transport['address'],
      closed: false,
      onData: () => undefined,
      send: async (data) => {
        // The client retransmits: what the server sends from now on arrives.
        if (lost > 0) losing = false;
        setImmediate(() => {
          server.receive(data);
        });
      },
      close: async () => undefined,
    };
    const server = handshaker.open({
      send: (datagram) => {
        const lastFlight = datagram[0] === 20 || (datagram[3] === 0 && datagram[4] === 1);
        if (lastFlight && losing) {
          lost++;
          return;
        }
        if (lastFlight) resent++;
        setImmediate(() => {
          clientTransport.onData(Buffer.from(datagram), {} as never);
        });
      },
      connected: () => {
        serverKeys++;
      },
      failed: () => assert.fail('the server failed'),
    });
    const client = new DtlsClient({
      transport: clientTransport,
      cert: clientCertificate.certPem,
      key: clientCertificate.keyPem,
      signatureHash: clientCertificate.signatureHash,
      srtpProfiles: [srtpProfiles.AEAD_AES_128_GCM.id],
      extendedMasterSecret: true,
    });
    try {
      const connected = new Promise<void>((resolve) => client.onConnect.subscribe(resolve));
      // werift's client retransmits its flight after 0.5 s, then 1 s: well within this bound.
      await Promise.race([
        client.connect().then(() => connected),
        new Promise((_, reject) =>
          setTimeout(() => {
            reject(new Error('the client never connected'));
          }, 8000),
        ),
      ]);
      assert.equal(serverKeys, 1, 'the server connected once');
      assert.ok(lost >= 1, 'the last flight was lost');
      assert.ok(resent >= 1, 'the lost flight was sent again');
    } finally {
      server.close();
      client.close();
    }
  });
});
