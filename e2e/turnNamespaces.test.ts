import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import type { SessionOptions } from '@parlor/client';
import { startTestServer, testTurnEnv, type TestServer } from '@parlor/server/testing';
import {
  launchChromium,
  openBrowserPeer,
  startAppOrigin,
  type AppOrigin,
  type BrowserPeer,
} from './helpers.js';
import {
  chromiumIn,
  createSide,
  inNamespace,
  namespaceSide,
  namespacesUnavailable,
  removeSide,
  type NamespaceSide,
} from './netns.js';

// Two browsers in network namespaces of their own, each joined to this host by a veth pair:
// both reach Parlor and its coturn at the host's end of the first pair, but each drops every
// packet to the other, so media can only go through the TURN server.

const sides: readonly [NamespaceSide, NamespaceSide] = [
  namespaceSide('a', 201, 1),
  namespaceSide('b', 201, 2),
];
/** Where Parlor, its coturn and the app listen: reached from both namespaces through their default route. */
const serverAddress = sides[0].hostAddress;

/** A side whose packets to the other side are dropped, whatever the host forwards. */
function createIsolatedSide(side: NamespaceSide, other: NamespaceSide): void {
  createSide(side);
  inNamespace(side.namespace, [
    'nft',
    `add table inet isolate; add chain inet isolate out { type filter hook output priority 0; }; add rule inet isolate out ip daddr ${other.address} drop`,
  ]);
}

function removeSides(): void {
  for (const side of sides) removeSide(side);
}

const skip = namespacesUnavailable();

describe('two browsers that cannot reach each other', { skip }, () => {
  let parlor: TestServer;
  let app: AppOrigin;
  let browsers: Browser[] = [];
  let folder: string;

  before(async () => {
    folder = mkdtempSync(join(tmpdir(), 'parlor-netns-'));
    removeSides();
    createIsolatedSide(sides[0], sides[1]);
    createIsolatedSide(sides[1], sides[0]);
    const env = {
      ...(await testTurnEnv(serverAddress)),
      PARLOR_TURN_ALLOWED_PEER_IPS: [serverAddress, ...sides.map((side) => side.address)].join(','),
      // The Media Router announces the address both namespaces (and coturn) reach it at.
      PARLOR_PUBLIC_IP: serverAddress,
    };
    parlor = await startTestServer({ env, host: serverAddress });
    app = await startAppOrigin(parlor.url, serverAddress);
    // getUserMedia needs a secure context: the app's origin is not localhost here.
    const args = [`--unsafely-treat-insecure-origin-as-secure=${new URL(app.url).origin}`];
    browsers = await Promise.all(
      sides.map((side) => launchChromium({ executablePath: chromiumIn(side.namespace, folder), args })),
    );
  });
  after(async () => {
    try {
      await Promise.all(browsers.map((browser) => browser.close()));
      await app.close();
      await parlor.dispose();
    } finally {
      removeSides();
      rmSync(folder, { recursive: true, force: true });
    }
  });

  /** Both browsers join the session and publish; resolves once each decodes and hears the other. */
  async function bothPublishing(sessionId: string, sessionOptions: SessionOptions = {}) {
    const peers: BrowserPeer[] = [];
    for (const browser of browsers) {
      const peer = await openBrowserPeer(browser, app.url, parlor.apiKey, sessionId, sessionOptions);
      assert.equal(await peer.connect(parlor.token(sessionId)), null);
      assert.equal(await peer.publish({ resolution: '320x240', frameRate: 15 }), null);
      peers.push(peer);
    }
    const [alice, bob] = peers as [BrowserPeer, BrowserPeer];
    const [aliceStream, bobStream] = [await alice.streamId(), await bob.streamId()];
    await alice.expectMediaFlowing(bobStream, 30_000);
    await bob.expectMediaFlowing(aliceStream, 30_000);
    return { alice, bob, aliceStream, bobStream };
  }

  it('cannot send each other UDP, which the host can', async () => {
    // A listener in the second namespace counts datagrams for a second, from the first and from the host.
    const listener = spawn(
      'ip',
      [
        'netns',
        'exec',
        sides[1].namespace,
        process.execPath,
        '-e',
        `const s = require('node:dgram').createSocket('udp4'); const from = new Set();
         s.on('message', (_m, r) => from.add(r.address));
         s.bind(40999, '${sides[1].address}', () => console.log('ready'));
         setTimeout(() => { console.log(JSON.stringify([...from])); s.close(); }, 1500);`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let output = '';
    await new Promise<void>((resolve) => {
      listener.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('ready')) resolve();
      });
    });
    const send = `const s = require('node:dgram').createSocket('udp4');
      s.send('x', 40999, '${sides[1].address}', () => s.close());`;
    inNamespace(sides[0].namespace, [process.execPath, '-e', send]);
    execFileSync(process.execPath, ['-e', send]);
    await new Promise((resolve) => listener.once('exit', resolve));
    assert.deepEqual(JSON.parse(output.split('\n')[1] ?? ''), [sides[1].hostAddress]);
  });

  it('still carry video and audio both ways in a relayed session, over a relay candidate pair', async () => {
    const sessionId = await parlor.createSession();
    const { alice, bob, aliceStream, bobStream } = await bothPublishing(sessionId);
    for (const [peer, streamId] of [
      [alice, bobStream],
      [bob, aliceStream],
    ] as const) {
      const pair = await peer.selectedCandidateTypes(streamId);
      assert.ok(
        pair && (pair.local === 'relay' || pair.remote === 'relay'),
        `not relayed: ${JSON.stringify(pair)}`,
      );
    }
  });

  it('reach the Media Router over TURN on TCP from a namespace whose UDP is all dropped', async () => {
    const [blocked] = sides;
    inNamespace(blocked.namespace, ['nft', 'add rule inet isolate out meta l4proto udp drop']);
    const sessionId = await parlor.createSession({ mediaMode: 'routed' });
    // Relay only: the router's own TCP candidate would be preferred otherwise.
    const { alice, bobStream } = await bothPublishing(sessionId, { iceConfig: { transportPolicy: 'relay' } });
    const pair = await alice.selectedCandidateTypes(bobStream);
    assert.equal(pair?.local, 'relay', `alice's media to the router is not relayed: ${JSON.stringify(pair)}`);
    const stats = await parlor.server.rooms.get(sessionId)?.mediaStats();
    assert.deepEqual([stats?.publications.length, stats?.subscriptions.length], [2, 2]);
  });

  it('reach the Media Router over ICE-TCP, without TURN, from a namespace whose UDP is all dropped', async () => {
    const [blocked] = sides;
    inNamespace(blocked.namespace, ['nft', 'add rule inet isolate out meta l4proto udp drop']);
    const sessionId = await parlor.createSession({ mediaMode: 'routed' });
    // No STUN or TURN server at all: the router's passive TCP candidate is the only way in.
    const { alice, bobStream } = await bothPublishing(sessionId, {
      iceConfig: { includeServers: 'custom', customServers: [] },
    });
    const pair = await alice.selectedCandidateTypes(bobStream);
    assert.deepEqual(
      [pair?.protocol, pair?.remote],
      ['tcp', 'host'],
      `not ICE-TCP to the router: ${JSON.stringify(pair)}`,
    );
  });
});
