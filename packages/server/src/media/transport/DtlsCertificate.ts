import { X509Certificate } from 'node:crypto';
import {
  CipherContext,
  HashAlgorithm,
  NamedCurveAlgorithm,
  SignatureAlgorithm,
  type SignatureHash,
} from 'werift';

/** The router's DTLS certificate (ECDSA P-256, self-signed), announced by its fingerprint. */
export class DtlsCertificate {
  readonly certPem: string;
  readonly keyPem: string;
  readonly signatureHash: SignatureHash;
  /** `sha-256 AB:CD:…`, the value of SDP's `a=fingerprint`. */
  readonly fingerprint: string;

  private constructor(certPem: string, keyPem: string, signatureHash: SignatureHash) {
    this.certPem = certPem;
    this.keyPem = keyPem;
    this.signatureHash = signatureHash;
    this.fingerprint = new X509Certificate(certPem).fingerprint256;
  }

  static async generate(): Promise<DtlsCertificate> {
    const { certPem, keyPem, signatureHash } = await CipherContext.createSelfSignedCertificateWithKey(
      { signature: SignatureAlgorithm.ecdsa_3, hash: HashAlgorithm.sha256_4 },
      NamedCurveAlgorithm.secp256r1_23,
    );
    return new DtlsCertificate(certPem, keyPem, signatureHash);
  }

  /** The same certificate again, e.g. in a media worker, from what `generate` made. */
  static fromPem(certPem: string, keyPem: string, signatureHash: SignatureHash): DtlsCertificate {
    return new DtlsCertificate(certPem, keyPem, signatureHash);
  }
}
