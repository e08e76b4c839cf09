/**
 * A werift offer made to look as Chromium's does with simulcast: a media section with
 * `a=simulcast` announces no SSRC, its streams being known by their RID header extension
 * (RFC 8852 §3.1), so the `a=ssrc` and `a=ssrc-group` lines werift writes for the section's
 * own sender (which never sends) are taken out of it. Other sections are left as they are.
 */
export function simulcastOffer(sdp: string): string {
  const lines = sdp.split('\r\n');
  const sections: string[][] = [[]];
  for (const line of lines) {
    if (line.startsWith('m=')) sections.push([]);
    sections.at(-1)?.push(line);
  }
  return sections
    .map((section) =>
      section.some((line) => line.startsWith('a=simulcast:'))
        ? section.filter((line) => !line.startsWith('a=ssrc:') && !line.startsWith('a=ssrc-group:'))
        : section,
    )
    .flat()
    .join('\r\n');
}
