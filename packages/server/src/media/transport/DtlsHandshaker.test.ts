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

/** The server's last flight: its ChangeCipherSpec and what follows in epoch 1. */
function lastFlight(datagram: Uint8Array): boolean {
  return datagram[0] === 20 || (datagram[3] === 0 && datagram[4] === 1);
}

/**
 * Runs a handshake between werift's client and the server, in memory; `path` decides what becomes
 * of each datagram of the server's (deliver it, late, or not at all). Resolves once the client is
 * connected, with the server's `connected` calls; rejects if the client fails or takes 8 s.
 */
async function handshake(
  path: (datagram: Uint8Array, deliver: () => void, clientSent: number) => void,
  clientPath: (datagram: Buffer) => readonly Buffer[] = (datagram) => [datagram],
): Promise<number> {
  const handshaker = new LocalDtlsHandshaker(serverCertificate);
  let serverConnected = 0;
  let clientSent = 0;
  const clientTransport: Transport = {
    type: 'udp',
    address: {} as Transport['address'],
    closed: false,
    onData: () => undefined,
    send: async (data) => {
      clientSent++;
      for (const datagram of clientPath(data)) {
        setImmediate(() => {
          server.receive(datagram);
        });
      }
    },
    close: async () => undefined,
  };
  const server = handshaker.open({
    send: (datagram) => {
      path(
        datagram,
        () => {
          clientTransport.onData(Buffer.from(datagram), {} as never);
        },
        clientSent,
      );
    },
    connected: () => {
      serverConnected++;
    },
    failed: () => undefined,
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
    const outcome = new Promise<void>((resolve, reject) => {
      client.onConnect.subscribe(resolve);
      client.onError.subscribe(reject);
    });
    await Promise.race([
      client.connect().then(() => outcome),
      new Promise((_, reject) =>
        setTimeout(() => {
          reject(new Error('the client never connected'));
        }, 8000),
      ),
    ]);
    return serverConnected;
  } finally {
    server.close();
    client.close();
  }
}

/**
 * A datagram of one handshake record as two, each with a fragment of its message (RFC 6347
 * §4.2.3), as Chromium sends a ClientHello too large for one.
 */
function fragmented(datagram: Buffer): Buffer[] {
  const recordHeader = datagram.subarray(0, 13);
  const messageHeader = datagram.subarray(13, 25);
  const body = datagram.subarray(25);
  const half = body.length >> 1;
  return [body.subarray(0, half), body.subarray(half)].map((fragment, index) => {
    const record = Buffer.concat([recordHeader, messageHeader, fragment]);
    // Its own record sequence number (the low byte of six), length, fragment offset and length.
    record[10] = ((record[10] as number) + index * 100) & 0xff;
    record.writeUInt16BE(12 + fragment.length, 11);
    record.writeUIntBE(index === 0 ? 0 : half, 13 + 6, 3);
    record.writeUIntBE(fragment.length, 13 + 9, 3);
    return record;
  });
}

describe('LocalDtlsHandshaker', () => {
  it('resends its last flight when the peer retransmits its own after the handshake, so that a lost Finished does not leave the peer unconnected', async () => {
    let lost = 0;
    let resent = 0;
    let sentWhenLost = 0;
    const serverConnected = await handshake((datagram, deliver, clientSent) => {
      if (lastFlight(datagram) && (lost === 0 || clientSent === sentWhenLost)) {
        lost++;
        sentWhenLost = clientSent;
        return;
      }
      if (lastFlight(datagram)) resent++;
      setImmediate(deliver);
    });
    assert.equal(serverConnected, 1, 'the server connected once');
    assert.ok(lost >= 1, 'the last flight was lost');
    assert.ok(resent >= 1, 'the lost flight was sent again');
  });

  it("answers a ClientHello retransmitted while its answer was on the way only once, as werift's client fails on a second HelloVerifyRequest", async () => {
    let first = true;
    const serverConnected = await handshake((_datagram, deliver) => {
      // The HelloVerifyRequest takes 700 ms, the rest 100 ms: the client's retransmission after
      // 500 ms crosses the first, and a second answer would come while the client awaits flight 4.
      setTimeout(deliver, first ? 700 : 100);
      first = false;
    });
    assert.equal(serverConnected, 1);
  });

  it('takes a ClientHello in fragments, the second not taken for a retransmission', async () => {
    let first = true;
    const serverConnected = await handshake(
      (_datagram, deliver) => {
        setImmediate(deliver);
      },
      (datagram) => {
        const split = first ? fragmented(datagram) : [datagram];
        first = false;
        return split;
      },
    );
    assert.equal(serverConnected, 1);
  });
});
