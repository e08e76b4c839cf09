import { createPublicKey, generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import { ParlorError } from '@parlor/protocol';
import type { Application } from '../store/ApplicationRepository.js';
import type { Repositories } from '../store/Store.js';

/** Shortest RSA modulus accepted for an application key, in bits. */
const minModulusBits = 2048;

export interface CreatedApplication {
  readonly application: Application;
  /** PKCS#8 PEM of the generated private key; null when a public key was registered. */
  readonly privateKey: string | null;
}

/**
 * Vonage applications: the credentials of `@vonage/video`, the Vonage PHP SDK and opentok-node's
 * Vonage mode. Parlor keeps only the public key; the private key stays with the application.
 */
export class ApplicationService {
  readonly #store: Repositories;

  /** `store`: the store, or a transaction of it. */
  constructor(store: Repositories) {
    this.#store = store;
  }

  /** Creates an application with a new RSA key pair, or with the given public key (PEM). */
  async create(name: string, publicKeyPem?: string): Promise<CreatedApplication> {
    let publicKey: string;
    let privateKey: string | null = null;
    if (publicKeyPem === undefined) {
      const pair = generateKeyPairSync('rsa', {
        modulusLength: minModulusBits,
        publicKeyEncoding: { type: 'spki', format: 'pem' },
        // PKCS#8 ("BEGIN PRIVATE KEY"): opentok-node enters its Vonage mode only for that form.
        privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      });
      publicKey = pair.publicKey;
      privateKey = pair.privateKey;
    } else {
      publicKey = parseRsaPublicKey(publicKeyPem).export({ type: 'spki', format: 'pem' }).toString();
    }
    const application: Application = { applicationId: randomUUID(), name, publicKey, createdAt: Date.now() };
    await this.#store.applications.insert(application);
    return { application, privateKey };
  }

  list(): Promise<Application[]> {
    return this.#store.applications.list();
  }
}

function parseRsaPublicKey(pem: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch (error) {
    throw new ParlorError('INVALID_REQUEST', 'not a PEM public key, private key or certificate', {
      cause: error,
    });
  }
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (key.asymmetricKeyType !== 'rsa' || bits < minModulusBits) {
    throw new ParlorError('INVALID_REQUEST', `the key must be RSA of at least ${minModulusBits} bits`);
  }
  return key;
}
