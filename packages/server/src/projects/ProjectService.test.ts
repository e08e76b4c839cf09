import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { Store } from '../store/Store.js';
import { describeEachEngine } from '../store/testing/storeEngines.js';
import { ProjectService } from './ProjectService.js';

const key = '12345678';
const secret = 'a'.repeat(40);

describeEachEngine('projects', (engine) => {
  let store: Store;
  let projects: ProjectService;
  beforeEach(async () => {
    store = await Store.open(await engine.freshLocation());
    projects = new ProjectService(store);
  });
  afterEach(async () => {
    await store.close();
  });

  describe('the default project', () => {
    it('is created with generated credentials on first start and kept afterwards', async () => {
      const created = await projects.ensureDefault(null);
      assert.match(created.apiKey, /^[1-9]\d{7}$/);
      assert.match(created.apiSecret, /^[0-9a-f]{40}$/);
      assert.deepEqual(await projects.ensureDefault(null), created);
      assert.equal((await projects.list()).length, 1);
    });

    it('is created once when several nodes start together on one store', async () => {
      const location = await engine.freshLocation();
      const nodes = await Promise.all([1, 2, 3, 4].map(() => Store.open(location)));
      try {
        const made = await Promise.all(nodes.map((node) => new ProjectService(node).ensureDefault(null)));
        assert.equal(new Set(made.map((project) => project.apiKey)).size, 1);
        assert.equal((await new ProjectService(nodes[0] as Store).list()).length, 1);
      } finally {
        await Promise.all(nodes.map((node) => node.close()));
      }
    });

    it('takes the given credentials on first start', async () => {
      const created = await projects.ensureDefault({ apiKey: key, apiSecret: secret });
      assert.equal(created.apiKey, key);
      assert.equal(created.apiSecret, secret);
      assert.ok(created.isDefault);
    });

    it('rotates its secret when the same key comes with another secret', async () => {
      await projects.ensureDefault({ apiKey: key, apiSecret: secret });
      await projects.ensureDefault({ apiKey: key, apiSecret: 'b'.repeat(40) });
      assert.equal((await projects.find(key))?.apiSecret, 'b'.repeat(40));
      assert.equal((await projects.list()).length, 1);
    });

    it('moves to a new key and leaves the previous project with its own credentials', async () => {
      const generated = await projects.ensureDefault(null);
      const moved = await projects.ensureDefault({ apiKey: key, apiSecret: secret });
      assert.equal(moved.apiKey, key);
      assert.deepEqual(
        (await projects.list()).map((p) => [p.apiKey, p.apiSecret, p.isDefault]).sort(),
        [
          [generated.apiKey, generated.apiSecret, false],
          [key, secret, true],
        ].sort(),
      );
      assert.equal((await projects.ensureDefault(null)).apiKey, key);
    });
  });

  describe('projects', () => {
    it('are created with unique credentials and never as the default', async () => {
      const a = await projects.create('A');
      const b = await projects.create('B');
      assert.notEqual(a.apiKey, b.apiKey);
      assert.notEqual(a.apiSecret, b.apiSecret);
      assert.ok(!a.isDefault && !b.isDefault);
      assert.deepEqual((await projects.list()).map((p) => p.name).sort(), ['A', 'B']);
    });
  });
});
