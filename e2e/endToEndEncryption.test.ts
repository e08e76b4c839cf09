import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { OpenTok as ParlorSdk, RequestError } from '@parlor/server-sdk';
import { decryptFrame, trailerLength } from '../packages/client/src/core/e2ee/frameCipher.js';
import { deriveFrameKey } from '../packages/client/src/core/e2ee/frameKeys.js';
import {
  parseElementHeader,
  readUint,
  readVint,
} from '../packages/server/src/archive/recording/matroska/ebmlReader.js';
import { openBrowserPeer, startBrowserTestBed, type BrowserPeer, type BrowserTestBed } from './helpers.js';

// End-to-end encryption in Chromium: media encrypted in the page with the session's secret goes
// through the Media Router (simulcast, layer switches) or peer to peer, and only pages with the
// secret see it.

let bed: BrowserTestBed;
let folder: string;

before(async () => {
  bed = await startBrowserTestBed();
  folder = mkdtempSync(join(tmpdir(), 'parlor-e2ee-'));
});
after(async () => {
  await bed.close();
  rmSync(folder, { recursive: true, force: true });
});

const secret = 'correct horse battery staple';
/** 640x480 sends two simulcast layers (320 and 640 pixels wide). */
const camera = { resolution: '640x480', frameRate: 15 } as const;

function peer(sessionId: string, encryptionSecret?: string): Promise<BrowserPeer> {
  return openBrowserPeer(
    bed.browser,
    bed.app.url,
    bed.parlor.apiKey,
    sessionId,
    encryptionSecret === undefined ? {} : { encryptionSecret },
  );
}

async function joined(sessionId: string, encryptionSecret?: string): Promise<BrowserPeer> {
  const page = await peer(sessionId, encryptionSecret);
  assert.equal(await page.connect(bed.parlor.token(sessionId)), null);
  return page;
}

async function until(what: string, condition: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

/** Resolves once the page decodes more video frames of the stream than it has now. */
async function framesRising(page: BrowserPeer, streamId: string, what: string): Promise<void> {
  const start = (await page.mediaCounters(streamId)).framesDecoded;
  await until(what, async () => (await page.mediaCounters(streamId)).framesDecoded > start + 10);
}

function setSecret(page: BrowserPeer, value: string): Promise<void> {
  return page.page.evaluate((value) => window.participant.session.setEncryptionSecret(value), value);
}

/** Shannon entropy of the bytes, in bits per byte (8 for uniformly random data). */
function entropy(bytes: Uint8Array): number {
  const counts = new Array<number>(256).fill(0);
  for (const byte of bytes) counts[byte] = (counts[byte] ?? 0) + 1;
  return counts.reduce((sum, count) => {
    if (count === 0) return sum;
    const p = count / bytes.length;
    return sum - p * Math.log2(p);
  }, 0);
}

/** Masters walked into (Segment, Cluster, BlockGroup, Tracks, TrackEntry), whatever their size. */
const masterIds = new Set([0x18538067, 0x1f43b675, 0xa0, 0x1654ae6b, 0xae]);

/**
 * The frames of a WebM recording by kind, read from its blocks as they are (ffprobe runs Opus
 * through a parser that merges what it cannot parse, and encrypted Opus cannot be parsed).
 */
function framesOf(file: string): { video: Uint8Array[]; audio: Uint8Array[] } {
  const data = readFileSync(file);
  const kinds = new Map<number, number>();
  const frames = { video: [] as Uint8Array[], audio: [] as Uint8Array[] };
  let trackNumber = 0;
  for (let offset = 0; offset < data.length;) {
    const header = parseElementHeader(data, offset, offset);
    if (!header) break;
    if (masterIds.has(header.id)) {
      offset = header.dataStart;
      continue;
    }
    const body = data.subarray(header.dataStart, header.end);
    if (header.id === 0xd7) trackNumber = readUint(body);
    if (header.id === 0x83) kinds.set(trackNumber, readUint(body));
    if (header.id === 0xa3 || header.id === 0xa1) {
      const track = readVint(body, 0);
      assert.ok(track && ((body[track.length + 2] as number) & 0x06) === 0, 'a block without lacing');
      const kind = kinds.get(track.value) === 1 ? frames.video : frames.audio;
      kind.push(Uint8Array.from(body.subarray(track.length + 3)));
    }
    offset = header.end;
  }
  return frames;
}

/** VP8 frames in an IVF file, the simplest container ffmpeg reads. */
function ivf(frames: readonly Uint8Array[]): Buffer {
  const header = Buffer.alloc(32);
  header.write('DKIF', 0);
  header.writeUInt16LE(32, 6);
  header.write('VP80', 8);
  header.writeUInt16LE(640, 12);
  header.writeUInt16LE(480, 14);
  header.writeUInt32LE(15, 16);
  header.writeUInt32LE(1, 20);
  header.writeUInt32LE(frames.length, 24);
  const chunks = frames.flatMap((frame, index) => {
    const frameHeader = Buffer.alloc(12);
    frameHeader.writeUInt32LE(frame.length, 0);
    frameHeader.writeBigUInt64LE(BigInt(index), 4);
    return [frameHeader, frame];
  });
  return Buffer.concat([header, ...chunks]);
}

/** How many of the VP8 frames ffmpeg decodes, and what it complained of. */
function decodeVp8(frames: readonly Uint8Array[]): { frames: number; errors: string } {
  const file = join(folder, `frames-${Date.now()}-${Math.random()}.ivf`);
  writeFileSync(file, ivf(frames));
  const decoded = spawnSync('ffmpeg', ['-v', 'error', '-i', file, '-f', 'framecrc', '-'], {
    encoding: 'utf8',
  });
  return {
    frames: decoded.stdout.split('\n').filter((line) => /^\d/.test(line)).length,
    errors: decoded.stderr.trim(),
  };
}

describe('end-to-end encryption', () => {
  it('routed with simulcast: the same secret decodes both ways and across a layer switch; a wrong secret gets encryptionSecretMismatch and no video', async () => {
    const sessionId = await bed.parlor.createSession({ mediaMode: 'routed', e2ee: true });
    const [alice, bob] = await Promise.all([joined(sessionId, secret), joined(sessionId, secret)]);
    assert.equal(await alice.publish(camera), null);
    assert.equal(await bob.publish({ resolution: '320x240', frameRate: 15 }), null);
    const [aliceStream, bobStream] = await Promise.all([alice.streamId(), bob.streamId()]);
    await Promise.all([bob.expectMediaFlowing(aliceStream), alice.expectMediaFlowing(bobStream)]);
    await bob.waitForEvent({ type: 'encryptionSecretMatch', streamId: aliceStream });

    // Simulcast: Bob moves to the lower layer and back, decoding all along.
    const width = async () => (await bob.mediaCounters(aliceStream)).videoWidth;
    await until('the full layer', async () => (await width()) === 640);
    const prefer = (resolution: { width: number; height: number } | null) =>
      bob.page.evaluate(
        ({ streamId, resolution }) => {
          window.participant.subscribers.get(streamId)?.setPreferredResolution(resolution);
        },
        { streamId: aliceStream, resolution },
      );
    await prefer({ width: 320, height: 240 });
    await until('the lower layer', async () => (await width()) === 320);
    await framesRising(bob, aliceStream, 'frames of the lower layer');
    await prefer(null);
    await until('the full layer again', async () => (await width()) === 640);

    // Carol has another secret: packets arrive, nothing decodes.
    const carol = await joined(sessionId, 'not the secret at all');
    await carol.waitForEvent({ type: 'encryptionSecretMismatch', streamId: aliceStream });
    await until('packets at Carol', async () => (await carol.mediaCounters(aliceStream)).videoPackets > 100);
    const seen = await carol.mediaCounters(aliceStream);
    assert.equal(seen.framesDecoded, 0);
    assert.equal(seen.audioEnergy, 0);
    assert.equal(await carol.count('encryptionSecretMatch', 'subscriber'), 0);
    await Promise.all([alice.page.close(), bob.page.close(), carol.page.close()]);
  });

  it("the router's copy of an encrypted stream is ciphertext: sealed under the session's key, random-looking, not decodable", async (t) => {
    const sessionId = await bed.parlor.createSession({ mediaMode: 'routed', e2ee: true });
    const alice = await joined(sessionId, secret);
    assert.equal(await alice.publish(camera), null);
    const streamId = await alice.streamId();
    // What the router receives, depacketized into frames by its own recorder (no archive: refused).
    const room = bed.parlor.server.rooms.get(sessionId);
    assert.ok(room);
    const recording = await room.recordStream(streamId, {
      basePath: join(folder, 'router-view'),
      hasAudio: true,
      hasVideo: true,
      onWriteFailure: () => undefined,
    });
    await sleep(4000);
    const { path } = await recording.stop();
    await alice.page.close();

    const { video, audio } = framesOf(path);
    assert.ok(video.length > 20 && audio.length > 50, `${video.length} video, ${audio.length} audio frames`);
    // Every frame opens with the key of the secret (AES-GCM authenticates it: it is ciphertext
    // sealed by the page), none with another secret's.
    const key = await deriveFrameKey(secret, sessionId);
    const other = await deriveFrameKey('not the secret at all', sessionId);
    const opened: Uint8Array[] = [];
    for (const frame of [...video, ...audio]) {
      const bytes = frame.slice().buffer;
      const plain = await decryptFrame(bytes, (id) => (id === key.id ? key.key : undefined));
      assert.ok(plain instanceof ArrayBuffer);
      opened.push(new Uint8Array(plain));
      assert.ok(typeof (await decryptFrame(bytes, () => other.key)) === 'string');
    }
    // In clear: VP8's frame tag (3 bytes, 10 on keyframes), nothing of Opus.
    const clearOf = (frame: Uint8Array) => frame[frame.length - 2] as number;
    assert.ok(video.every((frame) => clearOf(frame) === 3 || clearOf(frame) === 10));
    assert.ok(audio.every((frame) => clearOf(frame) === 0));
    const sealed = (frame: Uint8Array) => frame.subarray(clearOf(frame), frame.length - trailerLength);
    const videoBits = entropy(Buffer.concat(video.map(sealed)));
    const audioBits = entropy(Buffer.concat(audio.map(sealed)));
    assert.ok(videoBits > 7.99 && audioBits > 7.95, `entropy ${videoBits}, ${audioBits} bits per byte`);
    // ffmpeg decodes every video frame once decrypted, and fails on the router's copy.
    const routerView = decodeVp8(video);
    const decrypted = decodeVp8(opened.slice(0, video.length));
    assert.deepEqual(decrypted, { frames: video.length, errors: '' });
    assert.ok(routerView.frames < video.length, `${routerView.frames} of ${video.length} frames decoded`);
    assert.match(routerView.errors, /\[vp8 @ [^\]]+\] (Invalid partitions|Error)/);
    t.diagnostic(
      `${video.length} video and ${audio.length} audio frames; entropy ${videoBits.toFixed(4)} and ` +
        `${audioBits.toFixed(4)} bits/byte; ffmpeg decoded ${routerView.frames} of the router's, all decrypted`,
    );
  });

  it('relayed: the same secret decodes peer to peer, also through the older encoded streams API; a page without one gets encryptionSecretMismatch', async () => {
    // REST refuses e2ee in relayed sessions (as OpenTok does); the SDK's path is the same either way.
    const sessionId = await bed.parlor.createSession({ mediaMode: 'relayed', e2ee: true });
    const [alice, bob, carol] = await Promise.all([
      peer(sessionId, secret),
      peer(sessionId),
      peer(sessionId),
    ]);
    // Bob's browser as a Chromium before RTCRtpScriptTransform; his secret comes after initSession.
    await bob.page.evaluate(() => {
      Reflect.deleteProperty(window, 'RTCRtpScriptTransform');
    });
    await setSecret(bob, secret);
    for (const page of [alice, bob, carol])
      assert.equal(await page.connect(bed.parlor.token(sessionId)), null);
    assert.equal(await alice.publish({ resolution: '320x240', frameRate: 15 }), null);
    const streamId = await alice.streamId();
    await bob.expectMediaFlowing(streamId);
    await bob.waitForEvent({ type: 'encryptionSecretMatch', streamId });
    assert.equal(await bob.page.evaluate(() => window.OT.hasEndToEndEncryptionSupport()), true);
    // Bob publishes through the encoded streams too; Alice decodes it.
    assert.equal(await bob.publish({ resolution: '320x240', frameRate: 15 }), null);
    await alice.expectMediaFlowing(await bob.streamId());
    await carol.waitForEvent({ type: 'encryptionSecretMismatch', streamId });
    assert.equal((await carol.mediaCounters(streamId)).framesDecoded, 0);
    // Without a secret a page cannot publish; a bad secret is refused.
    assert.deepEqual(await carol.publish({ resolution: '320x240', frameRate: 15 }), {
      name: 'OT_ENCRYPTION_SECRET_MISSING',
      code: 6000,
    });
    const refused = await carol.page.evaluate(() =>
      window.participant.session.setEncryptionSecret('short').then(
        () => null,
        (error: unknown) => {
          const { name, code } = error as { name: string; code: number };
          return { name, code };
        },
      ),
    );
    assert.deepEqual(refused, { name: 'OT_INVALID_ENCRYPTION_SECRET', code: 6004 });
    await Promise.all([alice.page.close(), bob.page.close(), carol.page.close()]);
  });

  it('rotating the secret on both pages keeps video flowing; an archive of the session is refused with 409', async () => {
    const sessionId = await bed.parlor.createSession({ mediaMode: 'routed', e2ee: true });
    const [alice, bob] = await Promise.all([joined(sessionId, secret), joined(sessionId, secret)]);
    assert.equal(await alice.publish({ resolution: '320x240', frameRate: 15 }), null);
    const streamId = await alice.streamId();
    await bob.expectMediaFlowing(streamId);
    await bob.waitForEvent({ type: 'encryptionSecretMatch', streamId });

    // Alice encrypts with the new secret first: Bob cannot open it until he has it too.
    const rotated = 'a new secret for the next hour';
    await setSecret(alice, rotated);
    await bob.waitForEvent({ type: 'encryptionSecretMismatch', streamId });
    await setSecret(bob, rotated);
    await until('a match again', async () => (await bob.count('encryptionSecretMatch', 'subscriber')) === 2);
    await framesRising(bob, streamId, 'frames after the rotation');

    const sdk = new ParlorSdk(bed.parlor.apiKey, bed.parlor.apiSecret, { apiUrl: bed.parlor.url });
    const failure = await sdk.startArchive(sessionId, { name: 'secret meeting' }).then(
      () => assert.fail('the archive started'),
      (error: unknown) => error,
    );
    assert.ok(failure instanceof RequestError);
    assert.equal(failure.status, 409);
    assert.match(failure.message, /end-to-end encrypted/);
    await Promise.all([alice.page.close(), bob.page.close()]);
  });
});
