import { timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ParlorError } from '@parlor/protocol';
import type { ConsoleAuth, ConsoleCaller, ConsoleLogin } from '../../console/ConsoleAuth.js';
import { consoleNodePaths, maxLiveQuery } from '../../console/LiveSessions.js';
import { consoleApiRoutes, type ConsoleApiOptions } from './consoleApi.js';
import { objectBody } from './liveSession.js';

export interface ConsoleRouteOptions extends ConsoleApiOptions {
  readonly auth: ConsoleAuth;
  /** Whether the cookie is marked `Secure` (the public URL is https). */
  readonly secureCookie: boolean;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Who made a request under `/console/api` (after its guard). */
    operator: ConsoleCaller | null;
  }
}

/** The login cookie: its value is random, its SHA-256 is the login's key in the store. */
const cookieName = 'parlor_console';

/** The console's files, by path: file under public/console, content type, and whether it needs a login. */
const files: Readonly<Record<string, readonly [string, string, boolean]>> = {
  '/console': ['index.html', 'text/html; charset=utf-8', true],
  '/console/login': ['login.html', 'text/html; charset=utf-8', false],
  '/console/setup': ['login.html', 'text/html; charset=utf-8', false],
  '/console/console.js': ['console.js', 'text/javascript; charset=utf-8', false],
  '/console/login.js': ['login.js', 'text/javascript; charset=utf-8', false],
  '/console/console.css': ['console.css', 'text/css; charset=utf-8', false],
  // A call with the session and token the console made, given in the link's fragment.
  '/join': ['join.html', 'text/html; charset=utf-8', false],
  '/console/join.js': ['join.js', 'text/javascript; charset=utf-8', false],
  // The call of /join and of the demo's page (which is served only with --demo).
  '/call.js': ['../call.js', 'text/javascript; charset=utf-8', false],
};

// The same from src/http/routes and dist/http/routes.
const publicDir = new URL('../../../public/console/', import.meta.url);

/**
 * The project console at `/console` (docs/console.md): its page needs a login (else a redirect
 * to `/console/login`), its API under `/console/api` a login cookie (HttpOnly, SameSite=Strict)
 * and, for every change, the login's CSRF token in `X-CSRF-Token`; or an operator's API token
 * in `Authorization: Bearer` (a header no other site can make a browser send, so no CSRF token).
 * `POST /console/api/login` and
 * `/setup` take JSON only (an HTML form of another site cannot send it) and are rate limited.
 */
export async function consoleRoutes(app: FastifyInstance, options: ConsoleRouteOptions): Promise<void> {
  const { auth } = options;
  for (const [path, [file, type, needsLogin]] of Object.entries(files)) {
    const body = readFileSync(new URL(file, publicDir));
    app.get(path, async (request, reply) => {
      if (needsLogin && !(await loginOf(auth, request))) return reply.redirect('/console/login');
      return reply
        .type(type)
        .header('cache-control', 'no-cache')
        .header('x-frame-options', 'DENY')
        .header(
          'content-security-policy',
          "default-src 'self'; media-src 'self' blob:; img-src 'self' data: blob:; frame-ancestors 'none'",
        )
        .send(body);
    });
  }

  const setCookie = (reply: FastifyReply, login: ConsoleLogin): void => {
    void reply.header('set-cookie', cookie(login.cookieValue, login.maxAgeSeconds, options.secureCookie));
  };

  app.post('/console/api/login', async (request, reply) => {
    requireJson(request);
    const { name, password } = objectBody(request.body);
    const answer = await auth.login(request.socket.remoteAddress ?? '', name, password);
    if ('retryAfterSeconds' in answer) {
      void reply.header('retry-after', String(answer.retryAfterSeconds));
      throw new ParlorError('RATE_LIMITED', answer.detail);
    }
    setCookie(reply, answer);
    return { name: answer.name, csrfToken: answer.csrfToken };
  });

  app.post('/console/api/setup', async (request, reply) => {
    requireJson(request);
    const { token, name, password } = objectBody(request.body);
    const login = await auth.setup(token, name, password);
    setCookie(reply, login);
    return { name: login.name, csrfToken: login.csrfToken };
  });

  // What other nodes of the cluster ask of this one: only their signed calls are taken.
  await app.register(async (node) => {
    node.addHook('onRequest', async (request) => {
      if (!request.forwardedBy)
        throw new ParlorError('AUTH_FAILED', 'only the nodes of the cluster call this');
    });
    node.post(consoleNodePaths.live, async (request) => {
      const { sessionIds } = objectBody(request.body);
      if (
        !Array.isArray(sessionIds) ||
        sessionIds.length > maxLiveQuery ||
        !sessionIds.every((id) => typeof id === 'string')
      )
        throw new ParlorError('INVALID_REQUEST', `sessionIds must be at most ${maxLiveQuery} strings`);
      return Object.fromEntries(options.live.localStateOf(sessionIds));
    });
    node.post(consoleNodePaths.disconnect, async (request) => {
      const { apiKey } = objectBody(request.body);
      if (typeof apiKey !== 'string') throw new ParlorError('INVALID_REQUEST', 'apiKey must be a string');
      return { disconnected: options.live.disconnectLocally(apiKey) };
    });
  });

  await app.register(
    async (api) => {
      api.decorateRequest('operator', null);
      api.addHook('onRequest', async (request) => {
        request.operator = await callerOf(auth, request);
      });
      api.addHook('onSend', async (_request, reply, payload) => {
        reply.header('cache-control', 'no-store');
        return payload;
      });
      api.get('/me', async (request) => ({
        name: request.operator?.name,
        csrfToken: request.operator?.csrfToken,
      }));
      api.get('/tokens', async () => auth.tokens());
      api.post('/tokens', async (request) => {
        const { label } = objectBody(request.body);
        const { token, info } = await auth.createToken(operatorOf(request).name, label);
        return { ...info, token };
      });
      api.delete('/tokens/:tokenId', async (request, reply) => {
        await auth.revokeToken((request.params as { tokenId: string }).tokenId, operatorOf(request).name);
        return reply.code(204).send();
      });
      api.post('/logout', async (request, reply) => {
        const value = cookieValueOf(request);
        if (value !== undefined) await auth.logout(value);
        return reply
          .header('set-cookie', cookie('', 0, options.secureCookie))
          .code(204)
          .send();
      });
      await api.register(consoleApiRoutes, options);
    },
    { prefix: '/console/api' },
  );
}

/**
 * Who calls the console's API: an API token, or a login cookie with, for a change, its CSRF
 * token. A wrong token is refused even with a cookie.
 */
async function callerOf(auth: ConsoleAuth, request: FastifyRequest): Promise<ConsoleCaller> {
  const authorization = request.headers.authorization;
  if (authorization !== undefined) {
    const [scheme, token] = authorization.split(' ');
    const caller = scheme?.toLowerCase() === 'bearer' && token ? await auth.bearer(token) : undefined;
    if (!caller) throw new ParlorError('CONSOLE_TOKEN_REFUSED');
    return caller;
  }
  const login = await loginOf(auth, request);
  if (!login) throw new ParlorError('CONSOLE_LOGIN_REQUIRED');
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    const sent = request.headers['x-csrf-token'];
    if (typeof sent !== 'string' || login.csrfToken === null || !sameToken(sent, login.csrfToken))
      throw new ParlorError('CONSOLE_CSRF');
  }
  return login;
}

function operatorOf(request: FastifyRequest): ConsoleCaller {
  if (!request.operator) throw new ParlorError('CONSOLE_LOGIN_REQUIRED');
  return request.operator;
}

/** The request's console login, if its cookie names a current one. */
async function loginOf(auth: ConsoleAuth, request: FastifyRequest): Promise<ConsoleCaller | undefined> {
  const value = cookieValueOf(request);
  return value === undefined ? undefined : auth.session(value);
}

function cookieValueOf(request: FastifyRequest): string | undefined {
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const [name, value] = part.trim().split('=');
    if (name === cookieName && value) return value;
  }
  return undefined;
}

function cookie(value: string, maxAgeSeconds: number, secure: boolean): string {
  return `${cookieName}=${value}; Path=/console; Max-Age=${maxAgeSeconds}; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
}

function requireJson(request: FastifyRequest): void {
  if (!(request.headers['content-type'] ?? '').startsWith('application/json'))
    throw new ParlorError('INVALID_REQUEST', 'send JSON (Content-Type: application/json)');
}

function sameToken(a: string, b: string): boolean {
  const [left, right] = [Buffer.from(a), Buffer.from(b)];
  return left.length === right.length && timingSafeEqual(left, right);
}
