import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import OpenTok from 'opentok';
import {
  FfmpegTestRecorder,
  startTestServer,
  verifyCallback,
  waitFor,
  type TestServer,
} from '@parlor/server/testing';

// What archives do by themselves: callbacks at each status change, the maximum duration, and
// completion after a crash.

interface Archive {
  id: string;
  status: string;
  reason: string;
  duration: number;
  size: number;
  url: string | null;
  partnerId: number;
  event: string;
}

const servers: TestServer[] = [];
after(async () => {
  for (const server of servers) await server.dispose();
});

async function archiving(
  env: Record<string, string> = {},
  recorder = new FfmpegTestRecorder(),
): Promise<TestServer> {
  const server = await startTestServer({
    env: { PARLOR_ARCHIVE_IDLE_TIMEOUT: '0.5', ...env },
    parts: { recordStream: recorder.record, webhookRetry: { retryBaseMs: 100, retryMaxMs: 400 } },
  });
  servers.push(server);
  return server;
}

async function json<T>(response: Promise<Response>): Promise<T> {
  const answer = await response;
  assert.ok(answer.ok, `HTTP ${answer.status}`);
  return (await answer.json()) as T;
}

async function archiveWhen(
  parlor: TestServer,
  id: string,
  status: string,
  timeoutMs = 30_000,
): Promise<Archive> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const archive = await json<Archive>(parlor.rest('GET', `/archive/${id}`));
    if (archive.status === status) return archive;
    if (Date.now() > deadline) throw new Error(`archive ${id} is ${archive.status}, not ${status}`);
    await sleep(100);
  }
}

/** A local callback receiver; answers 500 to the first `failures` requests. */
async function callbackReceiver(failures = 0): Promise<{
  url: string;
  received: Archive[];
  /** The Authorization header and body of each callback received. */
  signed: { authorization: string | undefined; body: string }[];
  attempts: () => number;
  server: Server;
}> {
  const received: Archive[] = [];
  const signed: { authorization: string | undefined; body: string }[] = [];
  let attempts = 0;
  const server = createServer((request: IncomingMessage, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      attempts += 1;
      if (attempts <= failures) {
        response.writeHead(500).end();
        return;
      }
      assert.equal(request.headers['content-type'], 'application/json');
      const body = Buffer.concat(chunks).toString();
      received.push(JSON.parse(body) as Archive);
      signed.push({ authorization: request.headers.authorization, body });
      response.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/archive-status`,
    received,
    signed,
    attempts: () => attempts,
    server,
  };
}

describe('archive callbacks', () => {
  it('POST every status change to the URL registered with opentok-node’s registerCallback, in order', async () => {
    const parlor = await archiving();
    const receiver = await callbackReceiver();
    const opentok = new OpenTok(parlor.apiKey, parlor.apiSecret, { apiUrl: parlor.url });
    const registered = await new Promise<OpenTok.Callback>((resolve, reject) => {
      opentok.registerCallback(
        { group: 'archive', event: 'status', url: receiver.url },
        (error, callback) => {
          if (error || !callback) reject(error ?? new Error('no callback'));
          else resolve(callback);
        },
      );
    });
    assert.equal(registered.url, receiver.url);
    const listed = await new Promise<OpenTok.Callback[]>((resolve, reject) => {
      opentok.listCallbacks((error, callbacks) => {
        if (error) reject(error);
        else resolve(callbacks ?? []);
      });
    });
    assert.deepEqual(
      listed.map((callback) => callback.id),
      [registered.id],
    );
    const refused = await parlor.rest('POST', '/callback', {
      group: 'connection',
      event: 'created',
      url: receiver.url,
    });
    assert.equal(refused.status, 400);

    const { sessionId, alice, bob } = await parlor.liveSession({ mediaMode: 'routed' });
    const { id } = await json<Archive>(parlor.rest('POST', '/archive', { sessionId, name: 'hooked' }));
    await sleep(1000);
    await parlor.rest('POST', `/archive/${id}/stop`);
    await waitFor(() => receiver.received.length >= 3, 'three callbacks');
    assert.deepEqual(
      receiver.received.map((archive) => [archive.id, archive.status]),
      [
        [id, 'started'],
        [id, 'stopped'],
        [id, 'available'],
      ],
    );
    const available = receiver.received[2] as Archive;
    assert.equal(available.event, 'archive');
    assert.equal(available.partnerId, Number(parlor.apiKey));
    assert.ok(available.size > 0 && Number.isInteger(available.size));
    assert.equal((await fetch(available.url ?? '')).status, 200);
    assert.equal(receiver.received[1]?.reason, 'user initiated');
    const secret = await parlor.server.callbacks.signatureSecret(parlor.apiKey);
    for (const { authorization, body } of receiver.signed)
      assert.equal(verifyCallback(authorization, body, secret).projectId, parlor.apiKey);

    await new Promise<void>((resolve, reject) => {
      opentok.unregisterCallback(registered.id, (error) => {
        if (error) reject(error);
        else resolve();
      });
    });
    assert.deepEqual(await json<unknown[]>(parlor.rest('GET', '/callback')), []);
    await Promise.all([alice.close(), bob.close()]);
    receiver.server.close();
  });

  it('are retried while the callback server fails, and all arrive once it answers, in order', async () => {
    const parlor = await archiving();
    const receiver = await callbackReceiver(3);
    await parlor.server.callbacks.setArchiveCallbackUrl(parlor.apiKey, receiver.url);
    const { sessionId, alice, bob } = await parlor.liveSession({ mediaMode: 'routed' });
    const started = Date.now();
    const { id } = await json<Archive>(parlor.rest('POST', '/archive', { sessionId }));
    assert.ok(Date.now() - started < 1000, 'the start request does not wait for the callback');
    await sleep(500);
    await parlor.rest('POST', `/archive/${id}/stop`);
    await waitFor(() => receiver.received.length >= 3, 'three callbacks');
    assert.ok(receiver.attempts() >= 6);
    assert.deepEqual(
      receiver.received.map((archive) => archive.status),
      ['started', 'stopped', 'available'],
    );
    await Promise.all([alice.close(), bob.close()]);
    receiver.server.close();
  });
});

describe('archive lifecycle', () => {
  it('stops an archive at the maximum duration with OpenTok’s reason', async () => {
    const parlor = await archiving({ PARLOR_ARCHIVE_MAX_DURATION: '1.5' });
    const { sessionId, alice, bob } = await parlor.liveSession({ mediaMode: 'routed' });
    const { id } = await json<Archive>(parlor.rest('POST', '/archive', { sessionId }));
    assert.deepEqual(await alice.nextEvent('archiveStopped'), { id });
    const stopped = await json<Archive>(parlor.rest('GET', `/archive/${id}`));
    assert.equal(stopped.reason, 'maximum duration exceeded');
    assert.ok(stopped.duration >= 1 && stopped.duration <= 3, `duration ${stopped.duration}`);
    await archiveWhen(parlor, id, 'available');
    await Promise.all([alice.close(), bob.close()]);
  });

  it('records streams published while an auto archive runs, and goes on while clients come back within the idle timeout', async () => {
    const parlor = await archiving({ PARLOR_ARCHIVE_IDLE_TIMEOUT: '1' });
    const { sessionId, alice, bob } = await parlor.liveSession({ mediaMode: 'routed' });
    const { id } = await json<Archive>(
      parlor.rest('POST', '/archive', { sessionId, outputMode: 'individual' }),
    );
    await sleep(500);
    await bob.request('publish', { name: 'Bob', hasAudio: true, hasVideo: true });
    await sleep(700);
    await Promise.all([alice.close(), bob.close()]);
    await sleep(400);
    const carol = await parlor.connectClient(sessionId);
    await sleep(900);
    assert.equal((await json<Archive>(parlor.rest('GET', `/archive/${id}`))).status, 'started');
    await carol.close();
    const stopped = await archiveWhen(parlor, id, 'stopped', 3000).catch(() =>
      json<Archive>(parlor.rest('GET', `/archive/${id}`)),
    );
    assert.equal(stopped.reason, 'session ended');
    const available = await archiveWhen(parlor, id, 'available');
    const zip = join(parlor.dataDir, 'downloaded.zip');
    writeFileSync(zip, Buffer.from(await (await fetch(available.url ?? '')).arrayBuffer()));
    const names = execFileSync('unzip', ['-Z1', zip]).toString().trim().split('\n');
    // Alice's stream from the start, Bob's published later.
    assert.equal(names.filter((name) => name.endsWith('.webm')).length, 2);
  });
});
