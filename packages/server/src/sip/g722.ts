/**
 * G.722 (ITU-T G.722) at 64 kbit/s: 16 kHz audio split by a QMF into a lower and a higher band,
 * each coded by ADPCM (6 bits and 2 bits), one byte per pair of samples. RTP names it
 * `G722/8000` although it samples at 16 kHz (RFC 3551 §4.5.2).
 */

/** The QMF's coefficients (G.722 Table 11). */
const qmfCoefficients = [3, -11, 12, 32, -210, 951, 3876, -805, 362, -156, 53, -11] as const;

/** Lower band: decision levels, codes for negative and positive differences (Tables 6, 7). */
const q6 = [
  0, 35, 72, 110, 150, 190, 233, 276, 323, 370, 422, 473, 530, 587, 650, 714, 786, 858, 940, 1023, 1121, 1219,
  1339, 1458, 1612, 1765, 1980, 2195, 2557, 2919,
] as const;
const iln = [
  0, 63, 62, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7,
  6, 5, 4,
] as const;
const ilp = [
  0, 61, 60, 59, 58, 57, 56, 55, 54, 53, 52, 51, 50, 49, 48, 47, 46, 45, 44, 43, 42, 41, 40, 39, 38, 37, 36,
  35, 34, 33, 32,
] as const;
/** Lower band: inverse quantizers of 4 bits (predictor) and 6 bits (output), and the scale tables. */
const qm4 = [
  0, -20456, -12896, -8968, -6288, -4240, -2584, -1200, 20456, 12896, 8968, 6288, 4240, 2584, 1200, 0,
] as const;
const qm6 = [
  -136, -136, -136, -136, -24808, -21904, -19008, -16704, -14984, -13512, -12280, -11192, -10232, -9360,
  -8576, -7856, -7192, -6576, -6000, -5456, -4944, -4464, -4008, -3576, -3168, -2776, -2400, -2032, -1688,
  -1360, -1040, -728, 24808, 21904, 19008, 16704, 14984, 13512, 12280, 11192, 10232, 9360, 8576, 7856, 7192,
  6576, 6000, 5456, 4944, 4464, 4008, 3576, 3168, 2776, 2400, 2032, 1688, 1360, 1040, 728, 432, 136, -432,
  -136,
] as const;
const rl42 = [0, 7, 6, 5, 4, 3, 2, 1, 7, 6, 5, 4, 3, 2, 1, 0] as const;
const wl = [-60, -30, 58, 172, 334, 538, 1198, 3042] as const;
/** Higher band: inverse quantizer, codes, and scale tables. */
const qm2 = [-7408, -1616, 7408, 1616] as const;
const ihn = [0, 1, 0] as const;
const ihp = [0, 3, 2] as const;
const rh2 = [2, 1, 2, 1] as const;
const wh = [0, -214, 798] as const;
/** The scale factor's antilog (Table 14). */
const ilb = [
  2048, 2093, 2139, 2186, 2233, 2282, 2332, 2383, 2435, 2489, 2543, 2599, 2656, 2714, 2774, 2834, 2896, 2960,
  3025, 3091, 3158, 3228, 3298, 3371, 3444, 3520, 3597, 3676, 3756, 3838, 3922, 4008,
] as const;

function saturate(value: number): number {
  return value > 32767 ? 32767 : value < -32768 ? -32768 : value;
}

function at(table: readonly number[], index: number): number {
  return table[index] ?? 0;
}

/** One band's ADPCM state: its pole-zero predictor and its scale factor. */
class Band {
  /** The signal estimate, and its pole and zero parts. */
  s = 0;
  sp = 0;
  sz = 0;
  readonly r = [0, 0, 0];
  readonly a = [0, 0, 0];
  readonly ap = [0, 0, 0];
  readonly p = [0, 0, 0];
  readonly d = [0, 0, 0, 0, 0, 0, 0];
  readonly b = [0, 0, 0, 0, 0, 0, 0];
  readonly bp = [0, 0, 0, 0, 0, 0, 0];
  readonly sg = [0, 0, 0, 0, 0, 0, 0];
  /** The log scale factor, and the scale factor. */
  nb = 0;
  det: number;

  constructor(det: number) {
    this.det = det;
  }

  /** Adapts the scale factor (blocks 3L/3H: LOGSCL, SCALEL). */
  scale(weight: number, limit: number, shift: number): void {
    this.nb = Math.min(limit, Math.max(0, ((this.nb * 127) >> 7) + weight));
    const exponent = shift - (this.nb >> 11);
    const mantissa = at(ilb, (this.nb >> 6) & 31);
    this.det = (exponent < 0 ? mantissa << -exponent : mantissa >> exponent) << 2;
  }

  /** Updates the predictor with the quantized difference `dq` (block 4). */
  predict(dq: number): void {
    const { r, a, ap, p, d, b, bp, sg } = this;
    d[0] = dq;
    r[0] = saturate(this.s + dq);
    p[0] = saturate(this.sz + dq);
    // UPPOL2
    for (let i = 0; i < 3; i += 1) sg[i] = at(p, i) >> 15;
    let wd1 = saturate(at(a, 1) << 2);
    let wd2 = sg[0] === sg[1] ? -wd1 : wd1;
    if (wd2 > 32767) wd2 = 32767;
    let wd3 = (sg[0] === sg[2] ? 128 : -128) + (wd2 >> 7) + ((at(a, 2) * 32512) >> 15);
    ap[2] = Math.min(12288, Math.max(-12288, wd3));
    // UPPOL1
    sg[0] = at(p, 0) >> 15;
    sg[1] = at(p, 1) >> 15;
    wd1 = sg[0] === sg[1] ? 192 : -192;
    wd2 = (at(a, 1) * 32640) >> 15;
    ap[1] = saturate(wd1 + wd2);
    wd3 = saturate(15360 - at(ap, 2));
    ap[1] = Math.min(wd3, Math.max(-wd3, at(ap, 1)));
    // UPZERO
    wd1 = dq === 0 ? 0 : 128;
    sg[0] = dq >> 15;
    for (let i = 1; i < 7; i += 1) {
      sg[i] = at(d, i) >> 15;
      wd2 = sg[i] === sg[0] ? wd1 : -wd1;
      bp[i] = saturate(wd2 + ((at(b, i) * 32640) >> 15));
    }
    // DELAYA, DELAYL
    for (let i = 6; i > 0; i -= 1) {
      d[i] = at(d, i - 1);
      b[i] = at(bp, i);
    }
    for (let i = 2; i > 0; i -= 1) {
      r[i] = at(r, i - 1);
      p[i] = at(p, i - 1);
      a[i] = at(ap, i);
    }
    // FILTEP, FILTEZ, PREDIC
    wd1 = (at(a, 1) * saturate(at(r, 1) * 2)) >> 15;
    wd2 = (at(a, 2) * saturate(at(r, 2) * 2)) >> 15;
    this.sp = saturate(wd1 + wd2);
    let sz = 0;
    for (let i = 6; i > 0; i -= 1) sz += (at(b, i) * saturate(at(d, i) * 2)) >> 15;
    this.sz = saturate(sz);
    this.s = saturate(this.sp + this.sz);
  }
}

/** The QMF's delay line: the last 24 values, newest last. */
class QmfHistory {
  readonly #x = new Array<number>(24).fill(0);

  /** Pushes two values; returns the even and odd sums of the filter. */
  push(first: number, second: number): [even: number, odd: number] {
    const x = this.#x;
    x.copyWithin(0, 2);
    x[22] = first;
    x[23] = second;
    let even = 0;
    let odd = 0;
    for (let i = 0; i < 12; i += 1) {
      even += at(x, 2 * i) * at(qmfCoefficients, i);
      odd += at(x, 2 * i + 1) * at(qmfCoefficients, 11 - i);
    }
    return [even, odd];
  }
}

/** A G.722 encoder of 16 kHz samples, keeping its state from frame to frame. */
export class G722Encoder {
  readonly #low = new Band(32);
  readonly #high = new Band(8);
  readonly #qmf = new QmfHistory();

  /** Encodes an even number of samples into half as many bytes. */
  encode(samples: Int16Array): Buffer {
    const out = Buffer.allocUnsafe(samples.length >> 1);
    const low = this.#low;
    const high = this.#high;
    for (let n = 0; n < out.length; n += 1) {
      // Block 1: the QMF splits the pair into the two bands.
      const [even, odd] = this.#qmf.push(samples[2 * n] ?? 0, samples[2 * n + 1] ?? 0);
      const xlow = Math.floor((even + odd) / 16384);
      const xhigh = Math.floor((odd - even) / 16384);
      // Lower band: quantize the difference from the estimate (block 1L), adapt (2L–4).
      const el = saturate(xlow - low.s);
      const magnitude = el >= 0 ? el : -(el + 1);
      let level = 1;
      while (level < 30 && magnitude >= (at(q6, level) * low.det) >> 12) level += 1;
      const ilow = el < 0 ? at(iln, level) : at(ilp, level);
      const ril = ilow >> 2;
      const dlow = (low.det * at(qm4, ril)) >> 15;
      low.scale(at(wl, at(rl42, ril)), 18432, 8);
      low.predict(dlow);
      // Higher band: two bits.
      const eh = saturate(xhigh - high.s);
      const highMagnitude = eh >= 0 ? eh : -(eh + 1);
      const mih = highMagnitude >= (564 * high.det) >> 12 ? 2 : 1;
      const ihigh = eh < 0 ? at(ihn, mih) : at(ihp, mih);
      const dhigh = (high.det * at(qm2, ihigh)) >> 15;
      high.scale(at(wh, at(rh2, ihigh)), 22528, 10);
      high.predict(dhigh);
      out[n] = (ihigh << 6) | ilow;
    }
    return out;
  }
}

/** A G.722 decoder into 16 kHz samples, keeping its state from frame to frame. */
export class G722Decoder {
  readonly #low = new Band(32);
  readonly #high = new Band(8);
  readonly #qmf = new QmfHistory();

  /** Decodes each byte into two samples. */
  decode(payload: Uint8Array): Int16Array {
    const out = new Int16Array(payload.length * 2);
    const low = this.#low;
    const high = this.#high;
    for (let n = 0; n < payload.length; n += 1) {
      const code = payload[n] ?? 0;
      const ilow = code & 0x3f;
      const ihigh = (code >> 6) & 0x03;
      // Lower band: the output uses all 6 bits, the predictor the upper 4.
      const rlow = Math.min(16383, Math.max(-16384, low.s + ((low.det * at(qm6, ilow)) >> 15)));
      const ril = ilow >> 2;
      const dlow = (low.det * at(qm4, ril)) >> 15;
      low.scale(at(wl, at(rl42, ril)), 18432, 8);
      low.predict(dlow);
      // Higher band.
      const dhigh = (high.det * at(qm2, ihigh)) >> 15;
      const rhigh = Math.min(16383, Math.max(-16384, dhigh + high.s));
      high.scale(at(wh, at(rh2, ihigh)), 22528, 10);
      high.predict(dhigh);
      // The receive QMF joins the bands into two samples.
      const [even, odd] = this.#qmf.push(rlow + rhigh, rlow - rhigh);
      out[2 * n] = saturate(Math.floor(odd / 2048));
      out[2 * n + 1] = saturate(Math.floor(even / 2048));
    }
    return out;
  }
}
