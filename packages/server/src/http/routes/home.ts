import type { FastifyInstance } from 'fastify';

const page = `Parlor is running.

REST API      this server's URL: the apiUrl of an OpenTok server SDK
Browser SDK   /v2/js/opentok.js (OpenTok.js's global OT)
Health        /health

The demo video chat is off. Start Parlor with \`npm start -- --demo\` to serve it here.
`;

/** `/` when the demo is off: where things are, and no credentials. */
export async function homeRoutes(app: FastifyInstance): Promise<void> {
  app.get('/', async (_request, reply) => reply.type('text/plain; charset=utf-8').send(page));
}
