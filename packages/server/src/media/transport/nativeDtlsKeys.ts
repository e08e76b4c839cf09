import { createPrivateKey, sign, X509Certificate, type KeyObject } from 'node:crypto';
import { CipherContext } from 'werift';

/**
 * werift builds each DTLS connection's `CipherContext` from the certificate and key as PEM:
 * it parses both with @fidm/x509 (ASN.1 in JavaScript), and signs the ServerKeyExchange (and a
 * client's CertificateVerify) by handing node:crypto the key as PEM, which OpenSSL 3 decodes
 * anew each time: about 0.5 ms of a handshake's CPU against 0.02 ms with a key object. This
 * makes the certificate's DER and a `KeyObject` once per certificate and signs with node:crypto
 * from it; the signatures are the same (DER-encoded ECDSA, or PKCS #1 v1.5 for an RSA key).
 */
export function useNativeDtlsKeys(): void {
  CipherContext.prototype.parseX509 = parseX509;
  CipherContext.prototype.signatureData = signatureData;
}

/** The certificate's key as werift's `localPrivateKey` (@fidm/x509's `PrivateKey` otherwise). */
export class DtlsSigningKey {
  readonly keyObject: KeyObject;

  constructor(pem: string) {
    this.keyObject = createPrivateKey(pem);
  }

  /** `data` signed after hashing with `hash` (`sha256`), as `createSign(hash).sign(pem)` would. */
  sign(data: Buffer, hash: string): Buffer {
    return sign(hash, data, this.keyObject);
  }
}

interface ParsedCertificate {
  readonly der: Buffer;
  readonly key: DtlsSigningKey;
}

/**
 * By certificate and key PEM, most recent last. A server has one certificate (each media
 * worker its copy); the bound only keeps a process that makes many (tests) from growing.
 */
const parsed = new Map<string, ParsedCertificate>();
const maxParsed = 8;

function parseCertificate(certPem: string, keyPem: string): ParsedCertificate {
  const id = `${certPem}\n${keyPem}`;
  let entry = parsed.get(id);
  if (entry) {
    parsed.delete(id);
  } else {
    entry = { der: new X509Certificate(certPem).raw, key: new DtlsSigningKey(keyPem) };
    if (parsed.size >= maxParsed) parsed.delete(parsed.keys().next().value as string);
  }
  parsed.set(id, entry);
  return entry;
}

type Cipher = CipherContext;

function parseX509(this: Cipher, ...[certPem, keyPem, signatureHash]: Parameters<Cipher['parseX509']>): void {
  const { der, key } = parseCertificate(certPem, keyPem);
  this.localCert = der;
  // werift calls its `sign` (ServerKeyExchange), and its `toPEM` only in `signatureData`, replaced.
  this.localPrivateKey = key as unknown as Cipher['localPrivateKey'];
  this.signatureHashAlgorithm = signatureHash;
}

/** The client's CertificateVerify; werift calls it only on a context `parseX509` filled. */
function signatureData(this: Cipher, ...[data, hash]: Parameters<Cipher['signatureData']>): Buffer {
  return (this.localPrivateKey as unknown as DtlsSigningKey).sign(data, hash);
}
