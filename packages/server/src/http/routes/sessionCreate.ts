import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { CredentialLookup } from '../../auth/projectLookup.js';
import { parseSessionSettings } from '../../sessions/sessionSettings.js';
import type { SessionService } from '../../sessions/SessionService.js';
import type { SessionRecord } from '../../store/SessionRepository.js';
import { authenticateProject } from '../projectAuth.js';

export interface SessionCreateRouteOptions {
  readonly sessions: SessionService;
  readonly lookup: CredentialLookup;
}

/** `POST /session/create` (contracts/server-api.md §3). */
export async function sessionCreateRoutes(
  app: FastifyInstance,
  options: SessionCreateRouteOptions,
): Promise<void> {
  app.post('/session/create', async (request: FastifyRequest, reply: FastifyReply) => {
    const apiKey = await authenticateProject(request, options.lookup);
    const settings = parseSessionSettings((request.body ?? {}) as Record<string, unknown>);
    const session = await options.sessions.create(apiKey, settings);
    const createdAt = javaDateString(new Date(session.createdAt));
    // Python compares the content type with "application/json" exactly; PHP and Ruby send no
    // Accept header and parse XML.
    if (accepts(request, 'application/json')) {
      return reply.type('application/json').send(jsonBody(session, createdAt));
    }
    return reply.type('text/xml').send(xmlBody(session, createdAt));
  });
}

function accepts(request: FastifyRequest, type: string): boolean {
  return (request.headers.accept ?? '').toLowerCase().includes(type);
}

function jsonBody(session: SessionRecord, createdAt: string): object[] {
  return [
    {
      session_id: session.sessionId,
      project_id: session.apiKey,
      partner_id: session.apiKey,
      create_dt: createdAt,
      media_server_url: '',
    },
  ];
}

function xmlBody(session: SessionRecord, createdAt: string): string {
  return (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><sessions><Session>' +
    `<session_id>${escapeXml(session.sessionId)}</session_id>` +
    `<partner_id>${escapeXml(session.apiKey)}</partner_id>` +
    `<create_dt>${escapeXml(createdAt)}</create_dt>` +
    '</Session></sessions>'
  );
}

const xmlEntities: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
};

function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => xmlEntities[char] ?? char);
}

const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** The date as Java's `Date.toString()` prints it in UTC, as OpenTok's `create_dt` is. */
function javaDateString(date: Date): string {
  const two = (n: number): string => String(n).padStart(2, '0');
  const time = `${two(date.getUTCHours())}:${two(date.getUTCMinutes())}:${two(date.getUTCSeconds())}`;
  return `${days[date.getUTCDay()]} ${months[date.getUTCMonth()]} ${two(date.getUTCDate())} ${time} UTC ${date.getUTCFullYear()}`;
}
