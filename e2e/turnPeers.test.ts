import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import type { IceServer } from '@parlor/protocol';
import { startTestServer, testTurnEnv, turnAllocate, type TestServer } from '@parlor/server/testing';
import { createSide, inNamespace, ip, namespaceSide, namespacesUnavailable, removeSide } from './netns.js';

// Which peers the embedded coturn relays to, with the deny list Parlor writes. Two public-looking
// addresses live in a network namespace of this test's own, routed from the host through its
// veth pair, with a UDP echo server behind them: the relay must reach them and bring the answer
// back. Every other address is only asked a permission for, which coturn refuses without sending.

const side = namespaceSide('tp', 217, 1);
const publicPeers = ['203.0.113.9', '198.51.100.7'] as const;
const echoPort = 7777;

/**
 * A UDP echo server in the namespace on each of its addresses, bound to each so that its answers
 * come from the address asked (a socket on 0.0.0.0 would answer from the veth's).
 */
async function startEcho(): Promise<ChildProcess> {
  const addresses = JSON.stringify([...publicPeers, side.address]);
  const script = `const dgram = require('node:dgram');
let bound = 0;
for (const address of ${addresses}) {
  const socket = dgram.createSocket('udp4');
  socket.on('message', (message, from) => socket.send(message, from.port, from.address));
  socket.bind(${echoPort}, address, () => { if (++bound === ${publicPeers.length + 1}) console.log('ready'); });
}`;
  const child = spawn('ip', ['netns', 'exec', side.namespace, process.execPath, '-e', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await once(child.stdout, 'data');
  return child;
}

const skip = namespacesUnavailable();

describe('the embedded TURN server on a network with public peers', { skip }, () => {
  let parlor: TestServer | undefined;
  let echo: ChildProcess | null = null;
  let turnPort: number;
  let credentials: { username: string; password: string };

  before(async () => {
    removeSide(side);
    createSide(side);
    for (const address of publicPeers) {
      inNamespace(side.namespace, ['ip', 'addr', 'add', `${address}/32`, 'dev', 'lo']);
      ip('route', 'add', `${address}/32`, 'via', side.address);
    }
    echo = await startEcho();
    const { PARLOR_TURN_RELAY_IP: _relayIp, ...env } = await testTurnEnv(side.hostAddress);
    turnPort = Number(env.PARLOR_TURN_PORT);
    const server = await startTestServer({
      env: {
        ...env,
        // IPv4 clients get relayed addresses on the host's end of the veth pair, IPv6 ones on ::1
        // (coturn relays from the address a client reached it at).
        PARLOR_TURN_LISTEN_IPS: `${side.hostAddress},::1`,
        // Loopback peers allowed at all (allow-loopback-peers), so that the deny list is what
        // refuses the others; and one private address, the namespace's, as the operator's exception.
        PARLOR_TURN_ALLOWED_PEER_IPS: `127.0.0.2,${side.address}`,
      },
    });
    parlor = server;
    const client = await server.connectClient(await server.createSession());
    const turn = client.session?.iceServers.find((server: IceServer) =>
      [server.urls].flat().some((url) => url.startsWith('turn:')),
    );
    credentials = { username: turn?.username ?? '', password: turn?.credential ?? '' };
    await client.close();
  });
  after(async () => {
    await parlor?.dispose();
    echo?.kill();
    removeSide(side);
  });

  it('relays to public IPv4 peers, there and back (coturn 4.6 read the IPv6 deny lines as covering all of IPv4)', async () => {
    for (const peer of [...publicPeers, side.address]) {
      const outcome = await turnAllocate({ address: side.hostAddress, port: turnPort }, credentials, {
        peers: [peer],
        echo: { address: peer, port: echoPort },
      });
      assert.ok(outcome.ok, JSON.stringify(outcome));
      assert.deepEqual(outcome.permissions, [200], peer);
      assert.equal(outcome.echoed, true, `no answer from ${peer} through the relay`);
    }
  });

  it('refuses private, shared, loopback, link-local, multicast and reserved IPv4 peers with 403, but the allowed ones', async () => {
    const denied = [
      '10.0.0.1',
      '172.16.0.1',
      '192.168.1.1',
      '127.0.0.1',
      '169.254.1.1',
      '100.64.0.1',
      '224.0.0.1',
      '0.0.0.1',
      '192.0.0.9',
      '198.18.0.1',
      '240.0.0.1',
      '255.255.255.255',
    ];
    const outcome = await turnAllocate({ address: side.hostAddress, port: turnPort }, credentials, {
      peers: ['127.0.0.2', side.address, ...denied],
    });
    assert.ok(outcome.ok, JSON.stringify(outcome));
    assert.deepEqual(outcome.permissions, [200, 200, ...denied.map(() => 403)]);
  });

  it('relays to public IPv6 peers and refuses loopback, unique-local, link-local, multicast and IPv4-mapped ones with 403', async () => {
    const denied = [
      '::1',
      'fc00::1',
      'fd12:3456::1',
      'fe80::1',
      'fec0::1',
      'ff02::1',
      '100::1',
      '64:ff9b:1::a00:1',
      // IPv4-mapped 10.0.0.1, 127.0.0.1, 192.168.1.1 and 203.0.113.9: IPv4 peers are addressed as such.
      '::ffff:a00:1',
      '::ffff:7f00:1',
      '::ffff:c0a8:101',
      '::ffff:cb00:7109',
    ];
    const outcome = await turnAllocate({ address: '::1', port: turnPort }, credentials, {
      family: 'ipv6',
      peers: ['2001:db8::9', '2001:db8:ffff::1', ...denied],
    });
    assert.ok(outcome.ok, JSON.stringify(outcome));
    assert.deepEqual(outcome.permissions, [200, 200, ...denied.map(() => 403)]);
  });
});
