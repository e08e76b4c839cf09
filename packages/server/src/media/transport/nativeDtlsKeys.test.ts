import assert from 'node:assert/strict';
import { createSign, KeyObject, randomBytes, verify, X509Certificate } from 'node:crypto';
import { before, describe, it } from 'node:test';
import {
  CipherContext,
  DtlsClient,
  DtlsServer,
  NamedCurveAlgorithm,
  NamedCurveAlgorithmList,
  type Transport,
} from 'werift';
import { srtpProfiles } from '../srtp/profiles.js';
import { DtlsCertificate } from './DtlsCertificate.js';
import { DtlsSigningKey, useNativeDtlsKeys } from './nativeDtlsKeys.js';
import { useNativeP256 } from './nativeP256.js';
import { useNativeX25519 } from './nativeX25519.js';

useNativeDtlsKeys();
useNativeX25519();
useNativeP256();

let server: DtlsCertificate;
let client: DtlsCertificate;
before(async () => {
  [server, client] = await Promise.all([DtlsCertificate.generate(), DtlsCertificate.generate()]);
});

function cipherContext(certificate: DtlsCertificate): CipherContext {
  // 2: werift's `SessionType.SERVER`, which its ES module does not export.
  return new CipherContext(2, certificate.certPem, certificate.keyPem, certificate.signatureHash);
}

/** Two werift DTLS endpoints joined back to back, each datagram handed over on the next tick. */
function pair(): { server: DtlsServer; client: DtlsClient } {
  const ends: Transport[] = [];
  const end = (other: () => Transport): Transport => ({
    type: 'udp',
    address: {} as Transport['address'],
    closed: false,
    onData: () => undefined,
    send: async (data) => {
      setImmediate(() => {
        other().onData(data, {} as never);
      });
    },
    close: async () => undefined,
  });
  ends.push(
    end(() => ends[1] as Transport),
    end(() => ends[0] as Transport),
  );
  const common = {
    srtpProfiles: [srtpProfiles.AEAD_AES_128_GCM.id],
    extendedMasterSecret: true,
  };
  return {
    server: new DtlsServer({
      ...common,
      transport: ends[0] as Transport,
      cert: server.certPem,
      key: server.keyPem,
      signatureHash: server.signatureHash,
      certificateRequest: true,
    }),
    client: new DtlsClient({
      ...common,
      transport: ends[1] as Transport,
      cert: client.certPem,
      key: client.keyPem,
      signatureHash: client.signatureHash,
    }),
  };
}

describe("werift's DTLS certificate and key, parsed once into node:crypto objects", () => {
  it('gives every connection the same key object, and the certificate as DER', () => {
    const first = cipherContext(server);
    const second = cipherContext(server);
    assert.ok(first.localPrivateKey instanceof DtlsSigningKey);
    assert.equal(first.localPrivateKey, second.localPrivateKey);
    assert.ok((first.localPrivateKey as unknown as DtlsSigningKey).keyObject instanceof KeyObject);
    assert.deepEqual(first.localCert, new X509Certificate(server.certPem).raw);
    assert.deepEqual(first.signatureHashAlgorithm, server.signatureHash);
  });

  it('signs what the certificate verifies, as node:crypto signs with the key as PEM', () => {
    const cipher = cipherContext(server);
    const publicKey = new X509Certificate(server.certPem).publicKey;
    const data = randomBytes(200);
    for (const signature of [
      cipher.signatureData(data, 'sha256'),
      cipher.localPrivateKey.sign(data, 'sha256'),
    ]) {
      assert.ok(verify('sha256', data, publicKey, signature));
    }
    // ECDSA signatures are randomized: the PEM path's output verifies the same way, in the same encoding.
    const reference = createSign('sha256').update(data).sign(server.keyPem);
    assert.ok(verify('sha256', data, publicKey, reference));
    assert.equal(reference[0], cipher.signatureData(data, 'sha256')[0]);
  });

  it("completes a handshake with werift's client, both sides exporting the same SRTP keys", async () => {
    await handshake(NamedCurveAlgorithm.x25519_29);
  });

  it('completes a handshake with a client that offers P-256 alone', async () => {
    // werift's client offers the curves of this list, which its server picks from.
    const curves = NamedCurveAlgorithmList.splice(
      0,
      NamedCurveAlgorithmList.length,
      NamedCurveAlgorithm.secp256r1_23,
    );
    try {
      await handshake(NamedCurveAlgorithm.secp256r1_23);
    } finally {
      NamedCurveAlgorithmList.splice(0, NamedCurveAlgorithmList.length, ...curves);
    }
  });
});

async function handshake(curve: number): Promise<void> {
  const { server: dtlsServer, client: dtlsClient } = pair();
  const connected = Promise.all([
    new Promise<void>((resolve) => dtlsServer.onConnect.subscribe(resolve)),
    new Promise<void>((resolve) => dtlsClient.onConnect.subscribe(resolve)),
  ]);
  await dtlsClient.connect();
  await connected;
  assert.equal(dtlsServer.cipher.namedCurve, curve);
  const { keyLength, saltLength } = srtpProfiles.AEAD_AES_128_GCM;
  const atServer = dtlsServer.extractSessionKeys(keyLength, saltLength) as Record<string, Buffer>;
  const atClient = dtlsClient.extractSessionKeys(keyLength, saltLength) as Record<string, Buffer>;
  assert.equal(atServer.localKey?.length, keyLength);
  assert.deepEqual(atServer.localKey, atClient.remoteKey);
  assert.deepEqual(atServer.localSalt, atClient.remoteSalt);
  assert.deepEqual(atServer.remoteKey, atClient.localKey);
  assert.deepEqual(atServer.remoteSalt, atClient.localSalt);
  assert.deepEqual(dtlsServer.remoteCertificate, new X509Certificate(client.certPem).raw);
  dtlsServer.close();
  dtlsClient.close();
}
