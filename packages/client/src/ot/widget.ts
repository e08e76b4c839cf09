/** Where and how the SDK puts a publisher's or subscriber's video in the page (OpenTok's UI options). */
export interface WidgetOptions {
  /** How the element goes in relative to the target. Default: replace. */
  readonly insertMode?: 'replace' | 'after' | 'before' | 'append';
  /** Pixels, or a CSS length. Default: 264. */
  readonly width?: number | string;
  /** Pixels, or a CSS length. Default: 198. */
  readonly height?: number | string;
  /** When false, no element is inserted: `videoElementCreated` hands the video to the application. Default: true. */
  readonly insertDefaultUI?: boolean;
  /** How the video fills the element. Default: cover. */
  readonly fitMode?: 'cover' | 'contain';
  readonly style?: {
    /** The audio level meter: shown always, never, or while no video shows (`auto`). Default: auto. */
    readonly audioLevelDisplayMode?: 'auto' | 'on' | 'off';
  };
}

/** A target element, or the ID of one; the body when absent. */
export type WidgetTarget = HTMLElement | string | null | undefined;

const defaultSize = { width: 264, height: 198 };

/**
 * The DOM side of a publisher or subscriber: a `<video>` and, unless the application opted out
 * of the default UI, a container element inserted at the target.
 */
export class VideoWidget {
  readonly video: HTMLVideoElement;
  /** The inserted container; undefined without the default UI. */
  readonly element: HTMLElement | undefined;
  readonly #levelMode: 'auto' | 'on' | 'off';

  constructor(kind: 'publisher' | 'subscriber', id: string, target: WidgetTarget, options: WidgetOptions) {
    this.#levelMode = options.style?.audioLevelDisplayMode ?? 'auto';
    this.video = document.createElement('video');
    this.video.autoplay = true;
    this.video.playsInline = true;
    this.video.className = 'OT_video-element';
    Object.assign(this.video.style, {
      width: '100%',
      height: '100%',
      display: 'block',
      objectFit: options.fitMode ?? 'cover',
    });
    if (options.insertDefaultUI === false) {
      this.element = undefined;
      return;
    }
    const element = document.createElement('div');
    element.id = id;
    element.className = `OT_root OT_${kind} OT_fit-mode-${options.fitMode ?? 'cover'}`;
    Object.assign(element.style, {
      position: 'relative',
      overflow: 'hidden',
      background: '#000',
      width: cssLength(options.width ?? defaultSize.width),
      height: cssLength(options.height ?? defaultSize.height),
    });
    element.append(this.video);
    insert(element, resolveTarget(target), options.insertMode ?? 'replace');
    this.element = element;
  }

  /** Shows a caption (the stream's name) over the video. */
  setName(name: string): void {
    if (!this.element || name === '') return;
    const label = document.createElement('div');
    label.className = 'OT_name';
    label.textContent = name;
    Object.assign(label.style, {
      position: 'absolute',
      left: '0',
      bottom: '0',
      padding: '2px 6px',
      font: '12px sans-serif',
      color: '#fff',
      background: 'rgba(0, 0, 0, 0.5)',
    });
    this.element.append(label);
  }

  /**
   * OpenTok's video-disabled indicator, for video the router turned off (audio fallback):
   * `warning` shows it may soon be, `disabled` that it is (the video gives way to the background,
   * as for a stream without video), null hides it.
   */
  setVideoDisabledIndicator(state: 'warning' | 'disabled' | null): void {
    const element = this.element;
    if (!element) return;
    let indicator = element.querySelector<HTMLElement>('.OT_video-disabled-indicator');
    if (!indicator && state) {
      indicator = document.createElement('div');
      indicator.className = 'OT_video-disabled-indicator';
      Object.assign(indicator.style, {
        position: 'absolute',
        top: '4px',
        right: '4px',
        padding: '2px 6px',
        borderRadius: '3px',
        font: '12px sans-serif',
        color: '#fff',
      });
      element.append(indicator);
    }
    if (indicator) {
      indicator.hidden = state === null;
      indicator.classList.toggle('OT_warning', state === 'warning');
      indicator.textContent = state === 'warning' ? 'Poor connection' : 'Video disabled';
      indicator.style.background = state === 'warning' ? 'rgba(204, 136, 0, 0.8)' : 'rgba(0, 0, 0, 0.6)';
    }
    element.classList.toggle('OT_audio-only', state === 'disabled');
    this.video.style.visibility = state === 'disabled' ? 'hidden' : '';
  }

  /** Whether the audio level meter shows, by `audioLevelDisplayMode`, given whether video shows. */
  wantsAudioLevel(videoShown: boolean): boolean {
    return (
      this.element !== undefined && (this.#levelMode === 'on' || (this.#levelMode === 'auto' && !videoShown))
    );
  }

  /** OpenTok's audio level meter: a bar along the bottom as long as the level (0–1); null hides it. */
  setAudioLevel(level: number | null): void {
    const element = this.element;
    if (!element) return;
    let meter = element.querySelector<HTMLElement>('.OT_audio-level-meter');
    if (!meter && level !== null) {
      meter = document.createElement('div');
      meter.className = 'OT_audio-level-meter';
      Object.assign(meter.style, {
        position: 'absolute',
        left: '0',
        bottom: '0',
        height: '4px',
        background: '#3c3',
        transition: 'width 50ms linear',
      });
      element.append(meter);
    }
    if (!meter) return;
    meter.hidden = level === null;
    meter.style.width = `${Math.round((level ?? 0) * 100)}%`;
  }

  /** Removes the element and stops rendering. */
  remove(): void {
    this.video.srcObject = null;
    this.element?.remove();
    if (!this.element) this.video.remove();
  }
}

function cssLength(value: number | string): string {
  return typeof value === 'number' ? `${value}px` : value;
}

function resolveTarget(target: WidgetTarget): HTMLElement | null {
  if (typeof target !== 'string') return target ?? null;
  return document.getElementById(target);
}

function insert(
  element: HTMLElement,
  target: HTMLElement | null,
  mode: NonNullable<WidgetOptions['insertMode']>,
) {
  if (!target) {
    document.body.append(element);
    return;
  }
  switch (mode) {
    case 'replace':
      // The element takes the target's place and its ID, so the page's CSS still applies.
      if (target.id) element.id = target.id;
      target.replaceWith(element);
      break;
    case 'after':
      target.after(element);
      break;
    case 'before':
      target.before(element);
      break;
    case 'append':
      target.append(element);
      break;
  }
}

/**
 * Feeds a widget's audio level meter from its publisher's or subscriber's `audioLevelUpdated`
 * while the meter shows, so levels are sampled only then (or while the application listens).
 */
export class AudioLevelDisplay {
  readonly #widget: VideoWidget;
  readonly #listen: (handler: (event: { audioLevel: number }) => void, on: boolean) => void;
  readonly #handler = (event: { audioLevel: number }): void => {
    this.#widget.setAudioLevel(event.audioLevel);
  };
  #shown = false;

  /** `listen` adds (`on` true) or removes the handler of the owner's `audioLevelUpdated`. */
  constructor(
    widget: VideoWidget,
    listen: (handler: (event: { audioLevel: number }) => void, on: boolean) => void,
  ) {
    this.#widget = widget;
    this.#listen = listen;
  }

  /** Shows or hides the meter, as the display mode says for whether video shows now. */
  update(videoShown: boolean): void {
    const shown = this.#widget.wantsAudioLevel(videoShown);
    if (shown === this.#shown) return;
    this.#shown = shown;
    this.#listen(this.#handler, shown);
    if (!shown) this.#widget.setAudioLevel(null);
  }
}
