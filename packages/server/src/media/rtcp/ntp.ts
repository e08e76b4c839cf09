/** NTP timestamps of RTCP sender reports (RFC 3550 §4): seconds since 1900 and a 32-bit fraction. */

const secondsFrom1900To1970 = 2_208_988_800;

export interface NtpTime {
  readonly seconds: number;
  readonly fraction: number;
}

export function ntpFromUnixMs(unixMs: number): NtpTime {
  const seconds = Math.floor(unixMs / 1000);
  return {
    seconds: (seconds + secondsFrom1900To1970) >>> 0,
    fraction: Math.floor(((unixMs - seconds * 1000) / 1000) * 2 ** 32) >>> 0,
  };
}

export function unixMsFromNtp(time: NtpTime): number {
  return (time.seconds - secondsFrom1900To1970) * 1000 + (time.fraction / 2 ** 32) * 1000;
}

/** The middle 32 bits, as receiver reports echo a sender report (LSR). */
export function ntpMiddle32(time: NtpTime): number {
  return (((time.seconds & 0xffff) << 16) | (time.fraction >>> 16)) >>> 0;
}
