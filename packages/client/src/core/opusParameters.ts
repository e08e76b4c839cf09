/** What a publisher asks of its Opus encoder, carried as format parameters (RFC 7587 §6.1). */
export interface OpusSendOptions {
  /** Send both channels (`stereo=1; sprop-stereo=1`). Default: false (mono). */
  readonly stereo?: boolean;
  /** The encoder's maximum in bits/s (`maxaveragebitrate`). Default: the browser's (32 kbit/s mono in Chromium). */
  readonly maxBitrate?: number;
  /** Discontinuous transmission: next to nothing is sent during silence (`usedtx=1`). Default: false. */
  readonly dtx?: boolean;
}

/** The bitrates Opus encodes at (RFC 7587 §6.1), bits/s. */
export const audioBitrateRange = { min: 6_000, max: 510_000 } as const;

/** A bitrate brought into `audioBitrateRange`. */
export function clampAudioBitrate(bitrate: number): number {
  return Math.round(Math.min(audioBitrateRange.max, Math.max(audioBitrateRange.min, bitrate)));
}

/**
 * The sender's offer with its wishes on every Opus payload type. The receiver's answer decides
 * what a browser encodes: Parlor's router echoes these parameters, a subscribing browser takes
 * them with `answerOpusAsOffered`.
 */
export function withOpusParameters(offer: string, options: OpusSendOptions): string {
  const wanted: Record<string, string> = {};
  if (options.stereo) Object.assign(wanted, { stereo: '1', 'sprop-stereo': '1' });
  if (options.maxBitrate !== undefined)
    wanted.maxaveragebitrate = String(clampAudioBitrate(options.maxBitrate));
  if (options.dtx) wanted.usedtx = '1';
  return Object.keys(wanted).length === 0 ? offer : setOpusParameters(offer, wanted);
}

/**
 * The receiver's answer taking what the offer's sender asked for: stereo (its `sprop-stereo`),
 * its maximum bitrate and DTX. Browsers encode as the other end's description says, and decode
 * two channels only when their own says `stereo=1`.
 */
export function answerOpusAsOffered(offer: string, answer: string): string {
  const offered = opusParametersOf(offer);
  const wanted: Record<string, string> = {};
  if (offered.get('sprop-stereo') === '1') wanted.stereo = '1';
  const maxBitrate = offered.get('maxaveragebitrate');
  if (maxBitrate !== undefined) wanted.maxaveragebitrate = maxBitrate;
  if (offered.get('usedtx') === '1') wanted.usedtx = '1';
  return Object.keys(wanted).length === 0 ? answer : setOpusParameters(answer, wanted);
}

const opusRtpmap = /^a=rtpmap:(\d+) opus\/48000/i;

/** The format parameters of the first Opus payload type of a description. */
function opusParametersOf(sdp: string): Map<string, string> {
  const lines = sdp.split('\r\n');
  const payload = lines.map((line) => opusRtpmap.exec(line)?.[1]).find((found) => found !== undefined);
  const fmtp = lines.find((line) => line.startsWith(`a=fmtp:${payload} `));
  return parseParameters(fmtp?.slice(`a=fmtp:${payload} `.length) ?? '');
}

/** Sets the parameters on every Opus payload type, adding an `a=fmtp` line where there is none. */
function setOpusParameters(sdp: string, wanted: Record<string, string>): string {
  const lines = sdp.split('\r\n');
  const payloads = new Set(lines.map((line) => opusRtpmap.exec(line)?.[1]).filter((p) => p !== undefined));
  const out: string[] = [];
  for (const line of lines) {
    const fmtp = /^a=fmtp:(\d+) (.*)$/.exec(line);
    if (fmtp && payloads.has(fmtp[1] ?? '')) {
      const parameters = parseParameters(fmtp[2] ?? '');
      for (const [key, value] of Object.entries(wanted)) parameters.set(key, value);
      out.push(`a=fmtp:${fmtp[1]} ${formatParameters(parameters)}`);
      continue;
    }
    out.push(line);
    const payload = opusRtpmap.exec(line)?.[1];
    // A payload type without parameters gets its line now; one with them is rewritten above.
    if (payload !== undefined && !lines.some((other) => other.startsWith(`a=fmtp:${payload} `))) {
      out.push(`a=fmtp:${payload} ${formatParameters(new Map(Object.entries(wanted)))}`);
    }
  }
  return out.join('\r\n');
}

function parseParameters(text: string): Map<string, string> {
  const parameters = new Map<string, string>();
  for (const pair of text.split(';')) {
    const [key = '', value = ''] = pair.trim().split('=');
    if (key !== '') parameters.set(key, value);
  }
  return parameters;
}

function formatParameters(parameters: ReadonlyMap<string, string>): string {
  return [...parameters].map(([key, value]) => `${key}=${value}`).join(';');
}
