import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { loadOrCreateNodeId } from './nodeId.js';

it('generates a node ID once and keeps it in the data directory across restarts', () => {
  const dir = mkdtempSync(join(tmpdir(), 'parlor-node-id-'));
  try {
    const file = join(dir, 'node-id');
    const first = loadOrCreateNodeId(file);
    assert.match(first, /^node-[0-9a-f]{12}$/);
    assert.equal(readFileSync(file, 'utf8').trim(), first);
    assert.equal(loadOrCreateNodeId(file), first);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
