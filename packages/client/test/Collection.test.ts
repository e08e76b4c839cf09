import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Collection } from '../src/ot/Collection.js';

describe('OT collections', () => {
  it('finds by predicate or by fields, lists in order, and forgets what was removed', () => {
    const collection = new Collection<{ id: string; name: string }>();
    const [a, b, c] = [
      { id: 'a', name: 'x' },
      { id: 'b', name: 'y' },
      { id: 'c', name: 'x' },
    ];
    for (const item of [a, b, c]) collection._add(item);
    assert.equal(collection.length(), 3);
    assert.equal(collection.find(), a);
    assert.equal(collection.find({ name: 'y' }), b);
    assert.deepEqual(collection.where({ name: 'x' }), [a, c]);
    const context = { wanted: 'c' };
    assert.deepEqual(
      collection.where(function (this: typeof context, item) {
        return item.id === this.wanted;
      }, context),
      [c],
    );
    assert.deepEqual([...collection], [a, b, c]);
    collection._remove(b);
    assert.deepEqual([collection.length(), collection.has('b'), collection.get('c')], [2, false, c]);
    const seen: string[] = [];
    collection.forEach((item, index) => seen.push(`${index}${item.id}`));
    assert.deepEqual(seen, ['0a', '1c']);
  });
});
