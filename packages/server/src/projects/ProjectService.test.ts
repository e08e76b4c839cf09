import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, beforeEach, describe, it } from 'node:test';
import { Store } from '../store/Store.js';
import { ProjectService } from './ProjectService.js';

const dir = mkdtempSync(join(tmpdir(), 'parlor-projects-'));
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

let store: Store;
let projects: ProjectService;
let files = 0;
beforeEach(() => {
  store = Store.open(join(dir, `store-${files++}.sqlite`));
  projects = new ProjectService(store);
});

const key = '12345678';
const secret = 'a'.repeat(40);

describe('the default project', () => {
  it('is created with generated credentials on first start and kept afterwards', () => {
    const created = projects.ensureDefault(null);
    assert.match(created.apiKey, /^[1-9]\d{7}$/);
    assert.match(created.apiSecret, /^[0-9a-f]{40}$/);
    assert.deepEqual(projects.ensureDefault(null), created);
    assert.equal(projects.list().length, 1);
  });

  it('takes the given credentials on first start', () => {
    const created = projects.ensureDefault({ apiKey: key, apiSecret: secret });
    assert.equal(created.apiKey, key);
    assert.equal(created.apiSecret, secret);
    assert.ok(created.isDefault);
  });

  it('rotates its secret when the same key comes with another secret', () => {
    projects.ensureDefault({ apiKey: key, apiSecret: secret });
    projects.ensureDefault({ apiKey: key, apiSecret: 'b'.repeat(40) });
    assert.equal(projects.find(key)?.apiSecret, 'b'.repeat(40));
    assert.equal(projects.list().length, 1);
  });

  it('moves to a new key and leaves the previous project with its own credentials', () => {
    const generated = projects.ensureDefault(null);
    const moved = projects.ensureDefault({ apiKey: key, apiSecret: secret });
    assert.equal(moved.apiKey, key);
    assert.deepEqual(
      projects
        .list()
        .map((p) => [p.apiKey, p.apiSecret, p.isDefault])
        .sort(),
      [
        [generated.apiKey, generated.apiSecret, false],
        [key, secret, true],
      ].sort(),
    );
    assert.equal(projects.ensureDefault(null).apiKey, key);
  });
});

describe('projects', () => {
  it('are created with unique credentials and never as the default', () => {
    const a = projects.create('A');
    const b = projects.create('B');
    assert.notEqual(a.apiKey, b.apiKey);
    assert.notEqual(a.apiSecret, b.apiSecret);
    assert.ok(!a.isDefault && !b.isDefault);
    assert.deepEqual(
      projects
        .list()
        .map((p) => p.name)
        .sort(),
      ['A', 'B'],
    );
  });
});
