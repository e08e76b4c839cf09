import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { apiUrlOf } from '../src/browser/apiUrl.js';
import { rtcConfiguration } from '../src/core/iceConfig.js';
import { signalingUrl } from '../src/core/SignalingClient.js';

describe('where the SDK connects', () => {
  it('finds the server two folders above the script, behind a path prefix too', () => {
    assert.equal(apiUrlOf('http://127.0.0.1:3000/v2/js/opentok.js'), 'http://127.0.0.1:3000');
    assert.equal(
      apiUrlOf('https://video.example.com/parlor/v2/js/opentok.min.js?v=2'),
      'https://video.example.com/parlor',
    );
  });

  it('opens the signaling socket on the server with ws or wss', () => {
    assert.equal(signalingUrl('http://127.0.0.1:3000'), 'ws://127.0.0.1:3000/v2/signaling');
    assert.equal(
      signalingUrl('https://video.example.com/parlor/'),
      'wss://video.example.com/parlor/v2/signaling',
    );
  });
});

describe('iceConfig', () => {
  const server = [{ urls: 'turn:turn.example.com:3478', username: 'u', credential: 'p' }];
  const custom = [{ urls: ['stun:stun.example.org'] }];

  it('uses the server list by default, with every transport', () => {
    assert.deepEqual(rtcConfiguration(server), { iceServers: server, iceTransportPolicy: 'all' });
  });

  it('adds custom servers to the server list with includeServers "all"', () => {
    assert.deepEqual(rtcConfiguration(server, { includeServers: 'all', customServers: custom }).iceServers, [
      ...server,
      ...custom,
    ]);
  });

  it('uses the custom servers only with includeServers "custom", and relays only with transportPolicy "relay"', () => {
    assert.deepEqual(
      rtcConfiguration(server, { includeServers: 'custom', customServers: custom, transportPolicy: 'relay' }),
      {
        iceServers: custom,
        iceTransportPolicy: 'relay',
      },
    );
  });
});
