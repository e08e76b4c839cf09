import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import OpenTok from 'opentok';
import { startTestServer, waitFor, type TestServer } from '@parlor/server/testing';
import { Baresip, freeUdpPort } from './baresip.js';
import {
  launchChromium,
  openBrowserPeer,
  startAppOrigin,
  type AppOrigin,
  type BrowserPeer,
} from './helpers.js';
import { readWav, toneShares } from './sipAudio.js';

// The official opentok SDK dials Debian's baresip into a routed session: the SIP party hears the
// others (a mix-minus, sent in the codec it accepts) and is heard in the session as a stream.

let parlor: TestServer;
let app: AppOrigin;
let browser: Browser;
let opentok: OpenTok;

/** A certificate for 127.0.0.1 (and its key, in one PEM file for baresip), trusted by both; Parlor's TLS listener's too. */
let tlsDir: string;

before(async () => {
  tlsDir = mkdtempSync(join(tmpdir(), 'parlor-sip-tls-'));
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      join(tlsDir, 'key.pem'),
      '-out',
      join(tlsDir, 'cert.pem'),
    ],
    { stdio: 'ignore' },
  );
  writeFileSync(
    join(tlsDir, 'both.pem'),
    readFileSync(join(tlsDir, 'cert.pem'), 'utf8') + readFileSync(join(tlsDir, 'key.pem'), 'utf8'),
  );
  parlor = await startTestServer({
    env: {
      PARLOR_SIP_PORT: String(await freeUdpPort()),
      PARLOR_SIP_TLS_CA: join(tlsDir, 'cert.pem'),
      PARLOR_SIP_TLS_PORT: String(await freeUdpPort()),
      PARLOR_SIP_TLS_CERT: join(tlsDir, 'cert.pem'),
      PARLOR_SIP_TLS_KEY: join(tlsDir, 'key.pem'),
    },
  });
  app = await startAppOrigin(parlor.url);
  browser = await launchChromium({ args: ['--autoplay-policy=no-user-gesture-required'] });
  opentok = new OpenTok(parlor.apiKey, parlor.apiSecret, parlor.url);
});
after(async () => {
  rmSync(tlsDir, { recursive: true, force: true });
  await browser.close();
  await app.close();
  await parlor.dispose();
});

interface DialAnswer {
  readonly id: string;
  readonly connectionId: string;
  readonly streamId: string;
}

function createRoutedSession(): Promise<string> {
  return new Promise((resolve, reject) => {
    opentok.createSession({ mediaMode: 'routed' }, (error, session) => {
      if (error || !session) reject(error ?? new Error('no session'));
      else resolve(session.sessionId);
    });
  });
}

function dial(sessionId: string, uri: string, options: Record<string, unknown> = {}): Promise<DialAnswer> {
  const token = opentok.generateToken(sessionId, { data: 'sip party' });
  return new Promise((resolve, reject) => {
    opentok.dial(sessionId, token, uri, options, (error, call) => {
      if (error || !call) reject(error ?? new Error('no call'));
      else resolve({ id: call.id, connectionId: call.connectionId, streamId: call.streamId });
    });
  });
}

/** Publishes a Web Audio oscillator at `hz` as the page's microphone, no video. */
async function publishTone(peer: BrowserPeer, hz: number): Promise<void> {
  const error = await peer.page.evaluate(
    (hz) =>
      new Promise<string | null>((resolve) => {
        const context = new AudioContext();
        const oscillator = context.createOscillator();
        oscillator.frequency.value = hz;
        const gain = context.createGain();
        gain.gain.value = 0.25;
        const destination = context.createMediaStreamDestination();
        oscillator.connect(gain).connect(destination);
        oscillator.start();
        const [track] = destination.stream.getAudioTracks();
        const publisher = window.OT.initPublisher(undefined, {
          insertMode: 'append',
          audioSource: track,
          videoSource: null,
          publishVideo: false,
        });
        window.participant.publisher = publisher;
        window.participant.session.publish(publisher, (error) => {
          resolve(error ? error.message : null);
        });
      }),
    hz,
  );
  assert.equal(error, null);
}

/** The strongest frequency the page hears in a subscribed stream, by a Web Audio analyser. */
function peakFrequency(page: Page, streamId: string): Promise<number> {
  return page.evaluate(async (streamId) => {
    const subscriber = window.participant.subscribers.get(streamId);
    const video = subscriber?.element?.querySelector('video');
    const stream = video?.srcObject;
    if (!(stream instanceof MediaStream)) return -1;
    const context = new AudioContext();
    const analyser = context.createAnalyser();
    analyser.fftSize = 8192;
    context.createMediaStreamSource(stream).connect(analyser);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const bins = new Float32Array(analyser.frequencyBinCount);
    analyser.getFloatFrequencyData(bins);
    let peak = 0;
    for (let i = 1; i < bins.length; i += 1) if ((bins[i] ?? -Infinity) > (bins[peak] ?? -Infinity)) peak = i;
    await context.close();
    return (peak * context.sampleRate) / analyser.fftSize;
  }, streamId);
}

/** The shares of the tones in what baresip heard over its last two seconds. */
function heardShares(baresip: Baresip, frequencies: readonly number[]): number[] {
  const [file] = baresip.heardFiles();
  assert.ok(file, 'baresip recorded what it heard');
  const { samples, sampleRate } = readWav(file);
  assert.ok(samples.length > 2 * sampleRate, `baresip heard ${samples.length / sampleRate} s`);
  return toneShares(samples.subarray(samples.length - 2 * sampleRate), sampleRate, frequencies);
}

/** How long audio may take to flow on a loaded machine before a check of what is heard fails, in ms. */
const audioFlowMs = 30_000;

/**
 * The shares of the tones in what baresip heard over its last two seconds, once `good` holds of
 * them, or as they are after `audioFlowMs` (the caller's assertions then say what is wrong).
 */
async function heardWhen(
  baresip: Baresip,
  frequencies: readonly number[],
  good: (shares: readonly number[]) => boolean,
): Promise<number[]> {
  const deadline = Date.now() + audioFlowMs;
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    let shares: number[] | null = null;
    try {
      shares = heardShares(baresip, frequencies);
    } catch (error) {
      if (Date.now() > deadline) throw error;
    }
    if (shares && (good(shares) || Date.now() > deadline)) return shares;
  }
}

/** The loudest frequency a page hears in a stream, once it is within 30 Hz of `expected` or after `audioFlowMs`. */
async function peakWhen(page: Page, streamId: string, expected: number): Promise<number> {
  const deadline = Date.now() + audioFlowMs;
  for (;;) {
    const peak = await peakFrequency(page, streamId);
    if (Math.abs(peak - expected) < 30 || Date.now() > deadline) return peak;
  }
}

describe('SIP interconnect', () => {
  it('a dialled SIP endpoint hears both publishers and not itself, and the session hears it', async () => {
    const sessionId = await createRoutedSession();
    const peers = await Promise.all(
      [440, 700].map(() => openBrowserPeer(browser, app.url, parlor.apiKey, sessionId)),
    );
    const baresip = await Baresip.start({ sineHz: 1000, codecs: ['PCMU/8000'] });
    try {
      for (const [index, peer] of peers.entries()) {
        assert.equal(await peer.connect(opentok.generateToken(sessionId)), null);
        await publishTone(peer, index === 0 ? 440 : 700);
      }
      const call = await dial(sessionId, baresip.uri);
      for (const peer of peers) {
        const created = await peer.waitForEvent({ type: 'streamCreated', streamId: call.streamId });
        assert.equal(created.streamId, call.streamId);
        await peer.waitForEvent({ type: 'connectionCreated', connectionId: call.connectionId });
      }
      await waitFor(() => baresip.log.includes('Call established'), 'baresip to answer');
      const [tone440, tone700, ownSine] = await heardWhen(
        baresip,
        [440, 700, 1000],
        ([a = 0, b = 0, own = 1]) => a > 0.1 && b > 0.1 && own < 0.01,
      );
      assert.ok((tone440 ?? 0) > 0.1, `baresip hears 440 Hz (shares ${tone440} ${tone700} ${ownSine})`);
      assert.ok((tone700 ?? 0) > 0.1, `baresip hears 700 Hz (share ${tone700})`);
      assert.ok((ownSine ?? 1) < 0.01, `baresip does not hear its own sine (share ${ownSine})`);
      for (const peer of peers) {
        const peak = await peakWhen(peer.page, call.streamId, 1000);
        assert.ok(Math.abs(peak - 1000) < 30, `a page hears baresip's sine: peak at ${peak} Hz`);
      }

      // A second call that hears only the first publisher's stream.
      const selective = await Baresip.start({ sineHz: 1500, codecs: ['PCMU/8000'] });
      try {
        const firstStreamId = (await peers[0]?.streamId()) ?? '';
        await dial(sessionId, selective.uri, { streams: [firstStreamId] });
        await waitFor(() => selective.log.includes('Call established'), 'the second baresip to answer');
        const [heard440, heard700, heardSine] = await heardWhen(
          selective,
          [440, 700, 1000],
          ([a = 0, b = 1, other = 1]) => a > 0.1 && b < 0.01 && other < 0.01,
        );
        assert.ok((heard440 ?? 0) > 0.1, `the selective call hears 440 Hz (share ${heard440})`);
        assert.ok((heard700 ?? 1) < 0.01, `the selective call does not hear 700 Hz (share ${heard700})`);
        assert.ok((heardSine ?? 1) < 0.01, `nor the other call (share ${heardSine})`);
      } finally {
        await selective.close();
      }
      await waitFor(() => parlor.server.sip.calls.length === 1, 'the second call to end');

      // A composed archive of the session holds the SIP party's audio beside the publishers'.
      const archive = await new Promise<OpenTok.Archive>((resolve, reject) => {
        opentok.startArchive(sessionId, { name: 'with a phone', hasVideo: false }, (error, started) => {
          if (error || !started) reject(error ?? new Error('no archive'));
          else resolve(started as OpenTok.Archive);
        });
      });
      await new Promise((resolve) => setTimeout(resolve, 4000));
      await new Promise<void>((resolve, reject) => {
        opentok.stopArchive(archive.id, (error) => {
          if (error) reject(error);
          else resolve();
        });
      });
      let url = '';
      await waitFor(
        async () => {
          const current = await new Promise<OpenTok.Archive | undefined>((resolve) => {
            opentok.getArchive(archive.id, (_error, got) => {
              resolve(got);
            });
          });
          url = current?.status === 'available' ? (current.url ?? '') : '';
          return url !== '';
        },
        'the archive to be available',
        60_000,
      );
      const file = Buffer.from(await (await fetch(url)).arrayBuffer());
      const pcm = execFileSync(
        'ffmpeg',
        ['-v', 'error', '-i', 'pipe:0', '-ac', '1', '-ar', '8000', '-f', 's16le', 'pipe:1'],
        {
          input: file,
          maxBuffer: 64 * 1024 * 1024,
        },
      );
      const archived = Float64Array.from(
        { length: pcm.length / 2 },
        (_, i) => pcm.readInt16LE(2 * i) / 32768,
      );
      const [archived440, archived1000] = toneShares(
        archived.subarray(archived.length - 16000),
        8000,
        [440, 1000],
      );
      assert.ok((archived1000 ?? 0) > 0.05, `the archive holds baresip's sine (share ${archived1000})`);
      assert.ok((archived440 ?? 0) > 0.05, `the archive holds a publisher's tone (share ${archived440})`);

      // Hang-up is the ordinary force disconnect of the SIP connection.
      await new Promise<void>((resolve, reject) => {
        opentok.forceDisconnect(sessionId, call.connectionId, (error) => {
          if (error) reject(error);
          else resolve();
        });
      });
      await peers[0]?.waitForEvent({ type: 'connectionDestroyed', connectionId: call.connectionId });
      await waitFor(
        () => /closed|terminated/i.test(baresip.log.split('Call established')[1] ?? ''),
        'baresip to see the BYE',
      );
      assert.equal(parlor.server.sip.calls.length, 0);
    } finally {
      await baresip.close();
      for (const peer of peers) await peer.page.close();
    }
  });

  // baresip reads a codec without a rate as 8 kHz: G.722 needs its 16 kHz spelled out.
  for (const [codec, spec] of [
    ['PCMA', 'PCMA'],
    ['G722', 'G722/16000/1'],
    ['opus', 'opus'],
  ] as const) {
    it(`${codec} negotiated alone carries audio both ways, and DTMF both ways`, async () => {
      const sessionId = await createRoutedSession();
      const peer = await openBrowserPeer(browser, app.url, parlor.apiKey, sessionId);
      const baresip = await Baresip.start({ sineHz: 1000, codecs: [spec] });
      try {
        assert.equal(await peer.connect(opentok.generateToken(sessionId)), null);
        await publishTone(peer, 440);
        const call = await dial(sessionId, baresip.uri, { observeForceMute: true });
        await waitFor(() => baresip.log.includes('Call established'), 'baresip to answer');
        assert.match(baresip.log, new RegExp(`Set audio decoder: ${codec}`));
        const [tone440, ownSine] = await heardWhen(
          baresip,
          [440, 1000],
          ([a = 0, own = 1]) => a > 0.1 && own < 0.01,
        );
        assert.ok((tone440 ?? 0) > 0.1, `baresip hears 440 Hz (share ${tone440})`);
        assert.ok((ownSine ?? 1) < 0.01, `baresip does not hear its own sine (share ${ownSine})`);
        const peak = await peakWhen(peer.page, call.streamId, 1000);
        assert.ok(Math.abs(peak - 1000) < 30, `the page hears baresip's sine: peak at ${peak} Hz`);

        // DTMF into the call, then from it: *6 toggles the SIP stream's mute (observeForceMute).
        await new Promise<void>((resolve, reject) => {
          opentok.playDTMF(sessionId, call.connectionId, '4#', (error) => {
            if (error) reject(error);
            else resolve();
          });
        });
        await waitFor(
          () =>
            baresip.log.includes("received event: '4' (end=1)") &&
            baresip.log.includes("received event: '#' (end=1)"),
          'baresip to receive the digits',
        ).catch((error: unknown) => {
          console.log(baresip.log.replace(/\[0:00[^\n]*?bit\/s\)\s*/g, '').slice(-3000));
          throw error;
        });
        await baresip.sendDigits('*6');
        await peer.waitForEvent({ type: 'signal', data: '*' });
        await peer.waitForEvent({ type: 'signal', data: '6' });
        await peer.waitForEvent({
          type: 'streamPropertyChanged',
          streamId: call.streamId,
          property: 'hasAudio',
          value: false,
        });
        await baresip.sendDigits('*6');
        await peer.waitForEvent({
          type: 'streamPropertyChanged',
          streamId: call.streamId,
          property: 'hasAudio',
          value: true,
        });
      } finally {
        await baresip.close();
        await peer.page.close();
      }
      await waitFor(() => parlor.server.sip.calls.length === 0, 'the call to end');
    });
  }

  it('a secure call (SIP over TLS, SDES-SRTP) carries audio both ways', async () => {
    const sessionId = await createRoutedSession();
    const peer = await openBrowserPeer(browser, app.url, parlor.apiKey, sessionId);
    const baresip = await Baresip.start({
      sineHz: 1000,
      codecs: ['PCMU/8000'],
      srtp: true,
      tlsCertificate: join(tlsDir, 'both.pem'),
    });
    try {
      assert.equal(await peer.connect(opentok.generateToken(sessionId)), null);
      await publishTone(peer, 440);
      const call = await dial(sessionId, baresip.tlsUri, { secure: true });
      await waitFor(() => baresip.log.includes('Call established'), 'baresip to answer');
      assert.match(baresip.log, /SRTP is Enabled \(cryptosuite=AES_CM_128_HMAC_SHA1_80\)/);
      const [tone440, ownSine] = await heardWhen(
        baresip,
        [440, 1000],
        ([a = 0, own = 1]) => a > 0.1 && own < 0.01,
      );
      assert.ok((tone440 ?? 0) > 0.1, `baresip hears 440 Hz over SRTP (share ${tone440})`);
      assert.ok((ownSine ?? 1) < 0.01, `baresip does not hear its own sine (share ${ownSine})`);
      const peak = await peakWhen(peer.page, call.streamId, 1000);
      assert.ok(Math.abs(peak - 1000) < 30, `the page hears baresip's sine over SRTP: peak at ${peak} Hz`);
      // Parlor hangs up over the TLS connection it opened.
      await new Promise<void>((resolve, reject) => {
        opentok.forceDisconnect(sessionId, call.connectionId, (error) => {
          if (error) reject(error);
          else resolve();
        });
      });
      await waitFor(
        () => /closed|terminated/i.test(baresip.log.split('Call established')[1] ?? ''),
        'baresip to see the BYE',
      );
      assert.equal(parlor.server.sip.calls.length, 0);
    } finally {
      await baresip.close();
      await peer.page.close();
    }
  });
  it("the far end's BYE over a new TLS connection reaches Parlor's TLS listener and ends the call", async () => {
    const sessionId = await createRoutedSession();
    const baresip = await Baresip.start({
      sineHz: 1000,
      codecs: ['PCMU/8000'],
      tlsCertificate: join(tlsDir, 'both.pem'),
    });
    const ended: [number, string][] = [];
    const onDestroyed = (_call: unknown, code: number, message: string): void => {
      ended.push([code, message]);
    };
    parlor.server.sip.on('callDestroyed', onDestroyed);
    try {
      await dial(sessionId, baresip.tlsUri);
      await waitFor(() => baresip.log.includes('Call established'), 'baresip to answer');
      // Parlor's Contact names its TLS listener, which baresip connects to anew to send its BYE.
      await baresip.hangUp();
      await waitFor(() => ended.length > 0, 'the call to end');
      assert.deepEqual(ended, [[700, 'The far end hung up']]);
      assert.equal(parlor.server.sip.calls.length, 0);
    } finally {
      parlor.server.sip.off('callDestroyed', onDestroyed);
      await baresip.close();
    }
  });
});
