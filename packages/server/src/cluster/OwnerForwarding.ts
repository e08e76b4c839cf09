import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { Readable } from 'node:stream';
import type { ReadableStream } from 'node:stream/web';
import type { Logger } from 'pino';
import { ParlorError } from '@parlor/protocol';
import type { NodeRecord } from './NodeRegistry.js';

/** The headers of a call between nodes; a client's request that carries any of them is refused. */
export const forwardedHeaders = {
  by: 'x-parlor-forwarded-by',
  at: 'x-parlor-forwarded-at',
  project: 'x-parlor-forwarded-project',
  body: 'x-parlor-forwarded-body',
  signature: 'x-parlor-forwarded-signature',
  /** Random per call, so that two identical calls in one millisecond are two calls, not a replay. */
  nonce: 'x-parlor-forwarded-nonce',
} as const;

/** The headers of an answer that go back to the client unchanged. */
const answerHeaders = [
  'content-type',
  'content-length',
  'content-range',
  'content-disposition',
  'accept-ranges',
  'cache-control',
  'retry-after',
] as const;

/** A request to be made again on another node, as this node received and authenticated it. */
export interface ForwardedCall {
  readonly method: string;
  /** Path and query, as received. */
  readonly url: string;
  /** The project the client authenticated as; "" for a call that needs none (a download). */
  readonly apiKey: string;
  /** The parsed body, sent again as JSON; undefined for none. */
  readonly body: unknown;
  /** The client's `Range` header, for downloads. */
  readonly range?: string | undefined;
}

/** The other node's answer. */
export interface ForwardedAnswer<Body> {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Body;
}

/** Who made a call between nodes, once its signature is verified. */
export interface NodeCaller {
  readonly nodeId: string;
  /** The project the first node authenticated the client as; "" for none. */
  readonly apiKey: string;
  /** The signed digest of the body. */
  readonly bodyDigest: string;
}

export interface OwnerForwardingOptions {
  /** This node's ID, named in its calls. */
  readonly nodeId: string;
  /** The secret the nodes share (`--cluster-secret`): the key of every call's signature. */
  readonly secret: string;
  readonly logger: Logger;
  /** How long a call may take, and a download may wait for its first byte or the next, ms. Default: 10000. */
  readonly timeoutMs?: number;
  /** Largest answer read into memory (downloads are streamed), bytes. Default: 8 MiB. */
  readonly maxAnswerBytes?: number;
  /** How far a call's time may be from this node's clock, ms. Default: 30000. */
  readonly maxSkewMs?: number;
  /** Most signatures kept to refuse a call made again within the time window. Default: 100000. */
  readonly maxSeen?: number;
}

/**
 * Calls between the nodes of a cluster: a REST call that acts on a live session is made again
 * on the node hosting it, and an archive's file is streamed from the node keeping it. Each call
 * is signed with the cluster secret (HMAC-SHA256 over method, URL, caller, receiving node, time,
 * a random nonce, project and the body's digest), so the receiving node trusts the project the first node
 * authenticated; it takes each signature once, within 30 s of its time. A call so received is
 * answered where it lands, never passed on again.
 */
export class OwnerForwarding {
  readonly nodeId: string;
  readonly #secret: string;
  readonly #logger: Logger;
  readonly #timeoutMs: number;
  readonly #maxAnswerBytes: number;
  readonly #maxSkewMs: number;
  readonly #maxSeen: number;
  /** Signatures taken within the time window, with when they leave it (Unix ms), oldest first. */
  readonly #seen = new Map<string, number>();

  constructor(options: OwnerForwardingOptions) {
    this.nodeId = options.nodeId;
    this.#secret = options.secret;
    this.#logger = options.logger.child({ component: 'forwarding' });
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#maxAnswerBytes = options.maxAnswerBytes ?? 8 * 1024 * 1024;
    this.#maxSkewMs = options.maxSkewMs ?? 30_000;
    this.#maxSeen = options.maxSeen ?? 100_000;
  }

  /** Makes the call on the node and reads its whole answer (NODE_UNREACHABLE past the timeout or the size limit). */
  async call(node: NodeRecord, call: ForwardedCall): Promise<ForwardedAnswer<Buffer>> {
    const signal = AbortSignal.timeout(this.#timeoutMs);
    const response = await this.#fetch(node, call, signal);
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of response.body ?? []) {
        size += (chunk as Uint8Array).byteLength;
        if (size > this.#maxAnswerBytes) throw new Error(`its answer is over ${this.#maxAnswerBytes} bytes`);
        chunks.push(Buffer.from(chunk as Uint8Array));
      }
    } catch (error) {
      throw this.#unreachable(node, call, error);
    }
    return { status: response.status, headers: headersOf(response), body: Buffer.concat(chunks) };
  }

  /**
   * Makes the call on the node and streams its answer: the body errors when the node sends
   * nothing for the timeout. `closed` aborts the call (the client went away).
   */
  async stream(
    node: NodeRecord,
    call: ForwardedCall,
    closed: AbortSignal,
  ): Promise<ForwardedAnswer<Readable>> {
    const abort = new AbortController();
    const onClosed = (): void => {
      abort.abort(closed.reason);
    };
    closed.addEventListener('abort', onClosed, { once: true });
    let idle = setTimeout(() => {
      abort.abort(new Error('timed out'));
    }, this.#timeoutMs);
    const response = await this.#fetch(node, call, abort.signal).catch((error: unknown) => {
      clearTimeout(idle);
      throw error;
    });
    const body = response.body
      ? Readable.fromWeb(response.body as ReadableStream<Uint8Array>)
      : Readable.from([]);
    const restart = (): void => {
      clearTimeout(idle);
      idle = setTimeout(() => {
        abort.abort(new Error('no data for too long'));
      }, this.#timeoutMs);
    };
    restart();
    body.on('data', restart);
    body.once('close', () => {
      clearTimeout(idle);
      closed.removeEventListener('abort', onClosed);
    });
    return { status: response.status, headers: headersOf(response), body };
  }

  /**
   * The node that made a call, when its headers say it is one: null for a client's own request;
   * AUTH_FAILED for a call whose signature is missing, wrong or out of date.
   */
  verify(headers: IncomingHttpHeaders, method: string, url: string): NodeCaller | null {
    const values = Object.values(forwardedHeaders).map((name) => single(headers[name]));
    if (values.every((value) => value === undefined)) return null;
    const [nodeId, at, apiKey, bodyDigest, signature, nonce] = values;
    const refused = new ParlorError('AUTH_FAILED', 'a call between nodes needs a valid cluster signature');
    if (
      nodeId === undefined ||
      at === undefined ||
      bodyDigest === undefined ||
      signature === undefined ||
      nonce === undefined
    )
      throw refused;
    if (!/^\d{1,15}$/.test(at) || Math.abs(Date.now() - Number(at)) > this.#maxSkewMs) throw refused;
    const expected = Buffer.from(
      this.#sign({ method, url, from: nodeId, to: this.nodeId, at, nonce, apiKey: apiKey ?? '', bodyDigest }),
    );
    const given = Buffer.from(signature);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw refused;
    if (this.#seen.has(signature)) throw refused;
    this.#remember(signature, Number(at));
    return { nodeId, apiKey: apiKey ?? '', bodyDigest };
  }

  async #fetch(node: NodeRecord, call: ForwardedCall, signal: AbortSignal): Promise<Response> {
    const body = bodyText(call.body);
    const at = String(Date.now());
    const nonce = randomBytes(12).toString('base64url');
    const digest = bodyDigest(call.body);
    const headers: Record<string, string> = {
      [forwardedHeaders.by]: this.nodeId,
      [forwardedHeaders.at]: at,
      [forwardedHeaders.project]: call.apiKey,
      [forwardedHeaders.body]: digest,
      [forwardedHeaders.nonce]: nonce,
      [forwardedHeaders.signature]: this.#sign({
        method: call.method,
        url: call.url,
        from: this.nodeId,
        to: node.nodeId,
        at,
        nonce,
        apiKey: call.apiKey,
        bodyDigest: digest,
      }),
    };
    if (body !== '') headers['content-type'] = 'application/json';
    if (call.range !== undefined) headers.range = call.range;
    try {
      return await fetch(new URL(call.url, node.internalUrl), {
        method: call.method,
        headers,
        ...(body === '' ? {} : { body }),
        redirect: 'manual',
        signal,
      });
    } catch (error) {
      throw this.#unreachable(node, call, error);
    }
  }

  #sign(call: {
    method: string;
    url: string;
    from: string;
    to: string;
    at: string;
    nonce: string;
    apiKey: string;
    bodyDigest: string;
  }): string {
    const { method, url, from, to, at, nonce, apiKey, bodyDigest: digest } = call;
    return createHmac('sha256', this.#secret)
      .update(
        ['parlor-forward-v2', method.toUpperCase(), url, from, to, at, nonce, apiKey, digest].join('\n'),
      )
      .digest('base64url');
  }

  /**
   * Keeps a verified signature until its time is out of the window, so that a call is taken
   * once; past `maxSeen` signatures the oldest are forgotten first.
   */
  #remember(signature: string, at: number): void {
    const now = Date.now();
    for (const [seen, expiresAt] of this.#seen) {
      if (expiresAt > now && this.#seen.size < this.#maxSeen) break;
      this.#seen.delete(seen);
    }
    this.#seen.set(signature, at + this.#maxSkewMs);
  }

  #unreachable(node: NodeRecord, call: ForwardedCall, error: unknown): ParlorError {
    const why = error instanceof Error ? (error.cause instanceof Error ? error.cause : error).message : '';
    this.#logger.warn(
      { node: node.nodeId, method: call.method, url: call.url, why },
      'a forwarded call failed',
    );
    return new ParlorError('NODE_UNREACHABLE', `node ${node.nodeId}: ${why}`, { cause: error });
  }
}

/** The digest a call signs of its body: of the JSON it sends, "" for none. */
export function bodyDigest(body: unknown): string {
  return createHash('sha256').update(bodyText(body)).digest('base64url');
}

/** A key of `purpose` derived from the cluster secret, the same on every node. */
export function clusterKey(secret: string, purpose: string): string {
  return createHmac('sha256', secret).update(`parlor-cluster-key\n${purpose}`).digest('base64url');
}

/** A parsed body as JSON: parsing and serializing again gives the same text on the other node. */
function bodyText(body: unknown): string {
  return body === undefined ? '' : JSON.stringify(body);
}

function headersOf(response: Response): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const name of answerHeaders) {
    const value = response.headers.get(name);
    if (value !== null) headers[name] = value;
  }
  return headers;
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
