import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PublicAddressPolicy } from './nonPublicAddresses.js';

describe('PublicAddressPolicy', () => {
  it('permits public addresses of both families, and none of the loopback, private, link-local or reserved ones', () => {
    const policy = new PublicAddressPolicy();
    for (const address of ['8.8.8.8', '1.1.1.1', '2001:4860:4860::8888', '::ffff:8.8.8.8'])
      assert.ok(policy.permits(address), address);
    for (const address of [
      '0.0.0.0',
      '10.1.2.3',
      '100.64.0.1',
      '127.0.0.1',
      '169.254.169.254',
      '172.16.5.4',
      '192.168.1.1',
      '224.0.0.1',
      '255.255.255.255',
      '::',
      '::1',
      'fd00::1',
      'fe80::1',
      'ff02::1',
      // IPv4-mapped, in both of their spellings: what they stand for is checked.
      '::ffff:127.0.0.1',
      '::ffff:a9fe:a9fe',
      '0:0:0:0:0:ffff:0a00:0001',
      'example.test',
    ])
      assert.ok(!policy.permits(address), address);
  });

  it('lets the addresses and ranges it is given through, and only those', () => {
    const policy = new PublicAddressPolicy(['127.0.0.1', '10.0.0.0-10.0.0.255', '::1']);
    for (const address of ['127.0.0.1', '::ffff:127.0.0.1', '10.0.0.200', '::1', '8.8.8.8'])
      assert.ok(policy.permits(address), address);
    for (const address of ['127.0.0.2', '10.0.1.0', '169.254.169.254'])
      assert.ok(!policy.permits(address), address);
  });
});
