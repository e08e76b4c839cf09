/** A camera or microphone, as `OT.getDevices` lists it. */
export interface Device {
  readonly kind: 'audioInput' | 'videoInput';
  readonly deviceId: string;
  readonly label: string;
}

/** What of `navigator.mediaDevices` the watch uses. */
export type DeviceSource = Pick<
  MediaDevices,
  'enumerateDevices' | 'addEventListener' | 'removeEventListener'
>;

/** The cameras and microphones of a browser's device list, in its order. */
export function inputDevices(list: readonly MediaDeviceInfo[]): Device[] {
  return list
    .filter((device) => device.kind === 'audioinput' || device.kind === 'videoinput')
    .map((device) => ({
      kind: device.kind === 'audioinput' ? ('audioInput' as const) : ('videoInput' as const),
      deviceId: device.deviceId,
      label: device.label,
    }));
}

export interface DeviceWatchOptions<T> {
  /** The browser's devices. Default: `navigator.mediaDevices`. */
  readonly source?: DeviceSource;
  /**
   * Quiet time after the browser's last `devicechange` before the list is read again (plugging
   * in a headset fires several in a row). Default: 300 ms.
   */
  readonly debounceMs?: number;
  /** What of the browser's list is followed: the cameras and microphones, the default microphone… */
  readonly read: (list: readonly MediaDeviceInfo[]) => T;
  /** Whether two readings are the same. */
  readonly same: (a: T, b: T) => boolean;
  /** Called with the reading each time it differs from the last. */
  readonly onChange: (value: T) => void;
  /** Called when the browser fails to list its devices. */
  readonly onError: (error: unknown) => void;
}

const defaultDebounceMs = 300;

/** Whether two lists of cameras and microphones are the same, in the same order. */
export function sameDevices(a: readonly Device[], b: readonly Device[]): boolean {
  return (
    a.length === b.length &&
    a.every((device, i) => {
      const other = b[i];
      return (
        other !== undefined &&
        device.kind === other.kind &&
        device.deviceId === other.deviceId &&
        device.label === other.label
      );
    })
  );
}

/**
 * Follows the browser's `devicechange` events: once they have been quiet for `debounceMs`, lists
 * the devices (one listing at a time; changes during it are read by one more) and reports what
 * `read` takes of the list when it differs from the last reading. The first list, read at once,
 * is the baseline and is not reported.
 */
export class DeviceWatch<T> {
  readonly #source: DeviceSource;
  readonly #debounceMs: number;
  readonly #options: DeviceWatchOptions<T>;
  #last: { value: T } | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #listing = false;
  #again = false;
  #closed = false;
  readonly #changed = (): void => {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#list();
    }, this.#debounceMs);
  };

  constructor(options: DeviceWatchOptions<T>) {
    this.#source = options.source ?? navigator.mediaDevices;
    this.#debounceMs = options.debounceMs ?? defaultDebounceMs;
    this.#options = options;
    this.#source.addEventListener('devicechange', this.#changed);
    this.#list();
  }

  /** Stops following the browser's events; nothing is reported after. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#source.removeEventListener('devicechange', this.#changed);
  }

  #list(): void {
    if (this.#closed) return;
    if (this.#listing) {
      this.#again = true;
      return;
    }
    this.#listing = true;
    this.#source
      .enumerateDevices()
      .then(
        (list) => {
          if (this.#closed) return;
          const value = this.#options.read(list);
          const previous = this.#last;
          this.#last = { value };
          if (previous && !this.#options.same(previous.value, value)) this.#options.onChange(value);
        },
        (error: unknown) => {
          if (!this.#closed) this.#options.onError(error);
        },
      )
      .finally(() => {
        this.#listing = false;
        if (this.#again) {
          this.#again = false;
          this.#list();
        }
      });
  }
}
