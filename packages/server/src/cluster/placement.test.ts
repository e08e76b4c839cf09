import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { clientAddress } from '../http/clientAddress.js';
import type { NodeRecord } from './NodeRegistry.js';
import { pickNode } from './placement.js';
import { RegionTableError, Regions } from './Regions.js';

function node(nodeId: string, region: string, load: Partial<NodeRecord> = {}): NodeRecord {
  return {
    nodeId,
    region,
    publicUrl: `http://${nodeId}`,
    internalUrl: `http://${nodeId}`,
    state: 'serving',
    admitting: true,
    cores: 2,
    cpuLoad: 0.1,
    eventLoopLagMs: 1,
    sessions: 0,
    streams: 0,
    packetsPerSecond: 0,
    maxStreams: null,
    updatedAt: 0,
    ...load,
  };
}

describe('Regions', () => {
  it('maps addresses to regions through the shipped GeoIP data and table', async () => {
    const regions = await Regions.open();
    assert.equal(regions.countryOf('8.8.8.8'), 'US');
    assert.equal(regions.countryOf('46.4.0.1'), 'DE');
    assert.equal(regions.countryOf('133.242.0.1'), 'JP');
    assert.equal(regions.countryOf('2001:4860::1'), 'US');
    assert.equal(regions.regionOf('8.8.8.8'), 'us');
    assert.equal(regions.regionOf('::ffff:46.4.0.1'), 'eu');
    assert.equal(regions.regionOf('133.242.0.1'), 'ap');
    // Loopback and private addresses have no country: the default region.
    assert.equal(regions.countryOf('127.0.0.1'), null);
    assert.equal(regions.regionOf('10.0.0.1'), 'us');
    assert.equal(regions.regionOf('not an address'), 'us');
    assert.deepEqual(regions.preferenceOf('ap'), ['ap', 'us', 'eu']);
    assert.deepEqual(regions.preferenceOf('elsewhere'), ['elsewhere']);
  });

  it("reads an operator's table, and names every problem of a bad one", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parlor-regions-'));
    try {
      const good = join(dir, 'good.json');
      writeFileSync(good, JSON.stringify({ default: 'home', regions: { de: { countries: ['DE'] } } }));
      const regions = await Regions.open(good);
      assert.equal(regions.regionOf('46.4.0.1'), 'de');
      assert.equal(regions.regionOf('8.8.8.8'), 'home');
      const bad = join(dir, 'bad.json');
      writeFileSync(
        bad,
        JSON.stringify({ regions: { a: { countries: ['DE', 'fr'] }, b: { countries: ['DE'] } } }),
      );
      await assert.rejects(
        Regions.open(bad),
        (error: unknown) =>
          error instanceof RegionTableError &&
          /"default" must name a region/.test(error.message) &&
          /regions\.a\.countries must be a list of two-letter country codes/.test(error.message),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('pickNode', () => {
  it("takes the less loaded of two of the first region's admitting nodes", () => {
    const nodes = [node('us-busy', 'us', { cpuLoad: 0.9 }), node('us-idle', 'us'), node('eu', 'eu')];
    // Picks us-busy first and us-idle second: the idle one wins, whatever the order.
    const picks = [0, 0.5];
    assert.equal(pickNode(nodes, ['us', 'eu'], () => picks.shift() ?? 0)?.nodeId, 'us-idle');
    const reversed = [0.5, 0];
    assert.equal(pickNode(nodes, ['us', 'eu'], () => reversed.shift() ?? 0)?.nodeId, 'us-idle');
  });

  it('counts the packets a node forwards per core as load, before its load average shows them', () => {
    const nodes = [
      node('forwarding', 'us', { packetsPerSecond: 80_000 }),
      node('quiet', 'us', { cpuLoad: 0.5 }),
    ];
    const picks = [0, 0.5];
    assert.equal(pickNode(nodes, ['us'], () => picks.shift() ?? 0)?.nodeId, 'forwarding');
    const busier = [
      node('forwarding', 'us', { packetsPerSecond: 120_000 }),
      node('quiet', 'us', { cpuLoad: 0.5 }),
    ];
    const again = [0, 0.5];
    assert.equal(pickNode(busier, ['us'], () => again.shift() ?? 0)?.nodeId, 'quiet');
  });

  it('skips nodes over their limits or draining, then falls back region by region, then to any', () => {
    const nodes = [
      node('us-full', 'us', { admitting: false }),
      node('us-draining', 'us', { state: 'draining' }),
      node('eu', 'eu'),
      node('ap', 'ap'),
    ];
    assert.equal(pickNode(nodes, ['us', 'eu', 'ap'])?.nodeId, 'eu');
    assert.equal(pickNode(nodes, ['us', 'ap'])?.nodeId, 'ap');
    assert.ok(['eu', 'ap'].includes(pickNode(nodes, ['us'])?.nodeId ?? ''));
    assert.equal(pickNode([node('full', 'us', { admitting: false })], ['us']), null);
  });
});

describe('clientAddress', () => {
  it('believes X-Forwarded-For only from a trusted proxy, read from the right', () => {
    assert.equal(clientAddress('::ffff:1.2.3.4', '8.8.8.8', []), '1.2.3.4');
    assert.equal(clientAddress('1.2.3.4', '8.8.8.8', ['10.0.0.1']), '1.2.3.4');
    assert.equal(clientAddress('10.0.0.1', '9.9.9.9, 8.8.8.8', ['10.0.0.1']), '8.8.8.8');
    assert.equal(
      clientAddress('10.0.0.1', '9.9.9.9, 8.8.8.8, 10.0.0.2', ['10.0.0.1', '10.0.0.2']),
      '8.8.8.8',
    );
    assert.equal(clientAddress('10.0.0.1', undefined, ['10.0.0.1']), '10.0.0.1');
    assert.equal(clientAddress(undefined, '8.8.8.8', ['10.0.0.1']), null);
  });
});
