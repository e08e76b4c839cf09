// The package's own declarations are a global `declare module` file its exports do not point to.
declare module '@evan/opus' {
  export class Decoder {
    constructor(options?: { channels?: 1 | 2; sample_rate?: 8000 | 12000 | 16000 | 24000 | 48000 });
    decode(buf: ArrayBufferView): Uint8Array;
  }
  export class Encoder {
    constructor(options?: {
      channels?: 1 | 2;
      sample_rate?: 8000 | 12000 | 16000 | 24000 | 48000;
      application?: 'voip' | 'audio' | 'restricted_lowdelay';
    });
    encode(buf: ArrayBufferView): Uint8Array;
  }
}
