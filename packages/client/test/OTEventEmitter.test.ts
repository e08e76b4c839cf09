import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Logger, logLevels } from '../src/core/Logger.js';
import { createEvent, type EventOf } from '../src/ot/OTEvent.js';
import { OTEventEmitter } from '../src/ot/OTEventEmitter.js';

interface TestEvents {
  ping: EventOf<'ping', { n: number }>;
  gone: EventOf<'gone', { reason: string }>;
}

/** An emitter whose dispatch the tests can call, with a silent logger. */
class Emitter extends OTEventEmitter<TestEvents> {
  constructor() {
    const logger = new Logger();
    logger.setLevel(logLevels.NONE);
    super(logger);
  }

  ping(n: number): void {
    this.dispatch(createEvent('ping', this, { n }));
  }

  gone(reason: string, defaultAction: () => void): void {
    this.dispatch(createEvent('gone', this, { reason }, true), defaultAction);
  }
}

describe('OTEventEmitter', () => {
  it('calls handlers in order with the event, whose target is the emitter, and on() chains', () => {
    const emitter = new Emitter();
    const seen: string[] = [];
    const returned = emitter
      .on('ping', (event) => seen.push(`first ${event.n} ${event.type}`))
      .on('ping', (event) => {
        assert.equal(event.target, emitter);
        seen.push(`second ${event.n}`);
      });
    assert.equal(returned, emitter);
    emitter.ping(1);
    assert.deepEqual(seen, ['first 1 ping', 'second 1']);
  });

  it('takes an object of handlers and a context, which becomes `this`', () => {
    const emitter = new Emitter();
    const context = { name: 'ctx', seen: [] as string[] };
    emitter.on(
      {
        ping(this: typeof context, event) {
          this.seen.push(`ping ${event.n}`);
        },
        gone(this: typeof context, event) {
          this.seen.push(`gone ${event.reason}`);
        },
      },
      context,
    );
    emitter.ping(2);
    emitter.gone('left', () => undefined);
    assert.deepEqual(context.seen, ['ping 2', 'gone left']);
  });

  it('calls a handler without context with the emitter as `this`', () => {
    const emitter = new Emitter();
    const selves: unknown[] = [];
    emitter.on('ping', function (this: unknown) {
      selves.push(this);
    });
    emitter.ping(3);
    assert.deepEqual(selves, [emitter]);
  });

  it('registers one handler for several space-separated types', () => {
    const emitter = new Emitter();
    const types: string[] = [];
    emitter.on('ping gone' as 'ping', (event) => types.push(event.type));
    emitter.ping(1);
    emitter.gone('x', () => undefined);
    assert.deepEqual(types, ['ping', 'gone']);
  });

  it('calls a once() handler the first time only', () => {
    const emitter = new Emitter();
    let calls = 0;
    emitter.once('ping', () => (calls += 1));
    emitter.ping(1);
    emitter.ping(2);
    assert.equal(calls, 1);
  });

  it('removes by handler, by handler and context, by type, or everything with off()', () => {
    const emitter = new Emitter();
    const seen: string[] = [];
    const handler = function (this: { id: string }) {
      seen.push(this.id);
    };
    const a = { id: 'a' };
    const b = { id: 'b' };
    emitter.on('ping', handler, a).on('ping', handler, b);
    emitter.off('ping', handler, a);
    emitter.ping(1);
    assert.deepEqual(seen, ['b']);

    emitter.off('ping', handler);
    emitter.ping(2);
    assert.deepEqual(seen, ['b']);

    emitter.on('ping', () => seen.push('typed')).on('gone', () => seen.push('gone'));
    emitter.off('ping');
    emitter.ping(3);
    emitter.gone('r', () => undefined);
    assert.deepEqual(seen, ['b', 'gone']);

    emitter.off();
    emitter.gone('r', () => undefined);
    assert.deepEqual(seen, ['b', 'gone']);
  });

  it('runs the default action unless a handler prevented it', () => {
    const emitter = new Emitter();
    let defaults = 0;
    emitter.gone('first', () => (defaults += 1));
    assert.equal(defaults, 1);

    emitter.on('gone', (event) => {
      assert.equal(event.cancelable, true);
      event.preventDefault();
      assert.equal(event.isDefaultPrevented(), true);
    });
    emitter.gone('second', () => (defaults += 1));
    assert.equal(defaults, 1);
  });

  it('ignores preventDefault() on an event that is not cancelable', () => {
    const event = createEvent('ping', null, { n: 1 });
    event.preventDefault();
    assert.equal(event.isDefaultPrevented(), false);
  });

  it('keeps calling the other handlers, and the default action, when one throws', () => {
    const emitter = new Emitter();
    const seen: string[] = [];
    emitter
      .on('gone', () => {
        throw new Error('application bug');
      })
      .on('gone', () => seen.push('second'));
    emitter.gone('r', () => seen.push('default'));
    assert.deepEqual(seen, ['second', 'default']);
  });

  it('refuses a handler that is not a function, naming the type', () => {
    const emitter = new Emitter();
    assert.throws(() => emitter.on('ping', 'nope' as never), { name: 'TypeError', message: /"ping"/ });
  });
});
