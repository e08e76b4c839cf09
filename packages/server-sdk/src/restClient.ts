import { randomUUID } from 'node:crypto';
import jwt from 'jsonwebtoken';
import type { SigningCredentials } from './credentials.js';
import { AuthError, NotFoundError, RequestError } from './errors.js';

export interface RestClientOptions {
  readonly credentials: SigningCredentials;
  readonly apiUrl: string;
  readonly timeoutMs: number;
  readonly userAgent: string;
}

export interface RestRequest {
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Path below the API URL, e.g. `/session/create`. */
  readonly path: string;
  readonly form?: Readonly<Record<string, string>>;
  readonly json?: unknown;
}

/** Lifetime of the JWT each request carries, in seconds (OpenTok allows at most 300). */
const authLifetimeSeconds = 300;

/** Sends authenticated requests to the REST API and turns error answers into typed errors. */
export class RestClient {
  readonly #options: RestClientOptions;

  constructor(options: RestClientOptions) {
    this.#options = options;
  }

  /** Sends the request; resolves to the parsed JSON answer, or null for an empty one. */
  async send(request: RestRequest): Promise<unknown> {
    const headers: Record<string, string> = {
      ...this.#authHeader(),
      Accept: 'application/json',
      'User-Agent': this.#options.userAgent,
    };
    let body: string | undefined;
    if (request.form) {
      headers['Content-Type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(request.form).toString();
    } else if (request.json !== undefined) {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(request.json);
    }

    let response: Response;
    try {
      response = await fetch(this.#options.apiUrl + request.path, {
        method: request.method,
        headers,
        body,
        signal: AbortSignal.timeout(this.#options.timeoutMs),
      });
    } catch (error) {
      throw new RequestError(`Request to ${request.path} failed: ${(error as Error).message}`, undefined, {
        cause: error,
      });
    }
    const text = await response.text();
    const parsed = parseJson(text, response.headers.get('content-type'));
    if (response.ok) return parsed;

    const message = errorMessage(parsed) ?? `HTTP ${response.status}`;
    if (response.status === 401 || response.status === 403) throw new AuthError(message, response.status);
    if (response.status === 404) throw new NotFoundError(message, response.status);
    throw new RequestError(`Unexpected response from the server: ${message}`, response.status);
  }

  /** `X-OPENTOK-AUTH` for a project, `Authorization: Bearer` for an application (§2). */
  #authHeader(): Record<string, string> {
    const { kind, id, key } = this.#options.credentials;
    const now = Math.floor(Date.now() / 1000);
    const claims = { iss: id, ist: 'project', iat: now, exp: now + authLifetimeSeconds, jti: randomUUID() };
    if (kind === 'project') return { 'X-OPENTOK-AUTH': jwt.sign(claims, key, { algorithm: 'HS256' }) };
    const token = jwt.sign({ ...claims, application_id: id }, key, { algorithm: 'RS256' });
    return { Authorization: `Bearer ${token}` };
  }
}

function parseJson(text: string, contentType: string | null): unknown {
  if (text === '' || !contentType?.startsWith('application/json')) return text === '' ? null : text;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function errorMessage(body: unknown): string | undefined {
  if (typeof body === 'object' && body !== null && 'message' in body && typeof body.message === 'string') {
    return body.message;
  }
  return typeof body === 'string' && body !== '' ? body : undefined;
}
