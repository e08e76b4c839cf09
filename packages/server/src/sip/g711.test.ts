import assert from 'node:assert/strict';
import { test } from 'node:test';
import { alawToLinear, decodeG711, encodeG711, linearToAlaw, linearToUlaw, ulawToLinear } from './g711.js';

test('µ-law matches the reference values at silence and full scale', () => {
  assert.equal(linearToUlaw(0), 0xff);
  assert.equal(ulawToLinear(0xff), 0);
  assert.equal(ulawToLinear(0x7f), 0);
  assert.equal(ulawToLinear(0x00), -32124);
  assert.equal(ulawToLinear(0x80), 32124);
  assert.equal(linearToUlaw(32767), 0x80);
  assert.equal(linearToUlaw(-32768), 0x00);
  assert.equal(linearToUlaw(1000), 0xce);
  assert.equal(ulawToLinear(0xce), 988);
});

test('A-law matches the reference values at silence and full scale', () => {
  assert.equal(linearToAlaw(0), 0xd5);
  assert.equal(alawToLinear(0xd5), 8);
  assert.equal(alawToLinear(0x55), -8);
  assert.equal(alawToLinear(0xaa), 32256);
  assert.equal(alawToLinear(0x2a), -32256);
  assert.equal(linearToAlaw(32767), 0xaa);
  assert.equal(linearToAlaw(-32768), 0x2a);
  assert.equal(linearToAlaw(1000), 0xfa);
  assert.equal(alawToLinear(0xfa), 1008);
});

test('every G.711 code decodes to a sample that encodes back to the same level', () => {
  for (let code = 0; code < 256; code += 1) {
    const u = ulawToLinear(code);
    assert.equal(ulawToLinear(linearToUlaw(u)), u, `µ-law ${code}`);
    const a = alawToLinear(code);
    assert.equal(linearToAlaw(a), code, `A-law ${code}`);
  }
});

test('a sine survives G.711 within its quantization error', () => {
  const samples = Int16Array.from({ length: 160 }, (_, i) =>
    Math.round(12000 * Math.sin((2 * Math.PI * 440 * i) / 8000)),
  );
  for (const law of ['ulaw', 'alaw'] as const) {
    const decoded = decodeG711(law, encodeG711(law, samples));
    for (let i = 0; i < samples.length; i += 1) {
      const error = Math.abs((decoded[i] ?? 0) - (samples[i] ?? 0));
      assert.ok(error <= Math.max(16, Math.abs(samples[i] ?? 0) / 16), `${law} sample ${i}: ${error}`);
    }
  }
});
