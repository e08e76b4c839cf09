/** OpenTok.js's built-in video filters, as `applyVideoFilter` and the `videoFilter` option take them. */
export type VideoFilter =
  | {
      readonly type: 'backgroundBlur';
      /** How strongly the background is blurred. Default: 'low'. */
      readonly blurStrength?: 'low' | 'high';
    }
  | {
      readonly type: 'backgroundReplacement';
      /** The image shown behind the person: same origin as the page, or served with CORS. */
      readonly backgroundImgUrl: string;
    };

/** Checks a filter given by the application; a copy of it, or a TypeError that names the field. */
export function parseVideoFilter(value: unknown): VideoFilter {
  if (typeof value !== 'object' || value === null) throw new TypeError('videoFilter must be an object');
  const { type, blurStrength, backgroundImgUrl } = value as Record<string, unknown>;
  if (type === 'backgroundBlur') {
    if (blurStrength !== undefined && blurStrength !== 'low' && blurStrength !== 'high') {
      throw new TypeError("videoFilter.blurStrength must be 'low' or 'high'");
    }
    return { type, blurStrength: blurStrength ?? 'low' };
  }
  if (type === 'backgroundReplacement') {
    if (typeof backgroundImgUrl !== 'string' || backgroundImgUrl === '') {
      throw new TypeError('videoFilter.backgroundImgUrl must be the URL of an image');
    }
    return { type, backgroundImgUrl };
  }
  throw new TypeError("videoFilter.type must be 'backgroundBlur' or 'backgroundReplacement'");
}
