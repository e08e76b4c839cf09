import type { Dimensions } from './videoPreferences.js';

/** How long an element's size must hold before it counts, ms: resizing by dragging settles first. */
const settleMs = 500;

/**
 * The size an element is rendered at, in device pixels (CSS pixels × `devicePixelRatio`), and
 * its changes once each has held for half a second.
 */
export class RenderedSize {
  readonly #element: HTMLElement;
  readonly #observer: ResizeObserver;
  #timer: ReturnType<typeof setTimeout> | undefined;

  /** Starts watching; `onChange` gets each new settled size (maybe the same as before). */
  constructor(element: HTMLElement, onChange: (size: Dimensions) => void) {
    this.#element = element;
    this.#observer = new ResizeObserver(() => {
      clearTimeout(this.#timer);
      this.#timer = setTimeout(() => {
        onChange(this.current());
      }, settleMs);
    });
    this.#observer.observe(element);
  }

  /** The element's size now. */
  current(): Dimensions {
    const scale = window.devicePixelRatio;
    return {
      width: Math.round(this.#element.clientWidth * scale),
      height: Math.round(this.#element.clientHeight * scale),
    };
  }

  /** Stops watching. */
  stop(): void {
    clearTimeout(this.#timer);
    this.#observer.disconnect();
  }
}
