import type { SendScheduler } from './SendScheduler.js';

/**
 * A text frame whose data is shared by many recipients: encoded once, and written between a head
 * and a tail of the recipient's own, so that a broadcast's data is never copied per recipient.
 */
export interface SharedFrame {
  readonly head: string;
  readonly body: Buffer;
  readonly tail: string;
}

export type OutgoingFrame = string | SharedFrame;

/** Where a queue's frames go: the WebSocket. */
export interface FrameWriter {
  /** Hands the frame to the socket; `written` is called once it has left the process (or failed). */
  write(frame: OutgoingFrame, written: () => void): void;
  /** Holds writes back until `uncork`, to hand the socket several frames at once. */
  cork(): void;
  uncork(): void;
}

export interface SendQueueLimits {
  /**
   * Unsent characters (waiting here, or handed to the socket and not yet written out) past which
   * the client counts as too slow. A frame into an empty queue always fits, however large.
   */
  readonly maxBytes: number;
  /** Unsent frames past which the client counts as too slow. */
  readonly maxMessages: number;
  /**
   * Characters handed to the socket and not yet written out past which frames wait here instead:
   * a client that does not read holds references to frames shared with the other recipients,
   * not a copy of each in the socket's buffer.
   */
  readonly writeWindowBytes: number;
}

/**
 * One socket's outgoing frames, first in first out: every frame to the socket goes through it,
 * so no frame overtakes an earlier one. A frame is written at once when nothing waits before it
 * and `urgent` is set (answers, and events for this client alone); otherwise the scheduler writes
 * it in a later slice (a broadcast reaches its recipients a few dozen at a time).
 */
export class SendQueue {
  readonly #writer: FrameWriter;
  readonly #scheduler: SendScheduler;
  readonly #limits: SendQueueLimits;
  /** Waiting frames from `#head` on; the consumed front is cut off now and then. */
  #waiting: OutgoingFrame[] = [];
  #head = 0;
  #waitingBytes = 0;
  #inFlightBytes = 0;
  #inFlightFrames = 0;
  #cleared = false;

  constructor(writer: FrameWriter, scheduler: SendScheduler, limits: SendQueueLimits) {
    this.#writer = writer;
    this.#scheduler = scheduler;
    this.#limits = limits;
  }

  /** Frames waiting or in flight. */
  get frames(): number {
    return this.#waiting.length - this.#head + this.#inFlightFrames;
  }

  /** Characters waiting or in flight. */
  get bytes(): number {
    return this.#waitingBytes + this.#inFlightBytes;
  }

  /** Whether frames wait and the socket has room for them. */
  get ready(): boolean {
    return (
      !this.#cleared &&
      this.#head < this.#waiting.length &&
      this.#inFlightBytes < this.#limits.writeWindowBytes
    );
  }

  /** Queues a frame; false, queuing nothing, when it would take the queue past its limits. */
  push(frame: OutgoingFrame, urgent: boolean): boolean {
    if (this.#cleared) return true;
    const frames = this.frames;
    const size = sizeOf(frame);
    if (frames >= this.#limits.maxMessages) return false;
    if (frames > 0 && this.bytes + size > this.#limits.maxBytes) return false;
    const idle = this.#head === this.#waiting.length;
    this.#waiting.push(frame);
    this.#waitingBytes += size;
    if (urgent && idle) this.flush(1);
    else this.#scheduler.schedule(this);
    return true;
  }

  /** Writes up to `max` waiting frames while the socket has room; returns how many it wrote. */
  flush(max: number): number {
    let written = 0;
    if (max > 0 && this.ready) this.#writer.cork();
    while (written < max && this.ready) {
      const frame = this.#waiting[this.#head] as OutgoingFrame;
      const size = sizeOf(frame);
      this.#head += 1;
      this.#waitingBytes -= size;
      this.#inFlightBytes += size;
      this.#inFlightFrames += 1;
      written += 1;
      this.#writer.write(frame, () => {
        this.#written(size);
      });
    }
    if (written > 0) this.#writer.uncork();
    if (this.#head > 1024 && this.#head * 2 > this.#waiting.length) {
      this.#waiting = this.#waiting.slice(this.#head);
      this.#head = 0;
    }
    return written;
  }

  /**
   * Queues nothing more (the socket is closing). Waiting frames are written first, whatever the
   * write window, when `writeWaiting` is set (a closing handshake follows them), else dropped.
   */
  close(writeWaiting: boolean): void {
    if (this.#cleared) return;
    if (writeWaiting && this.#head < this.#waiting.length) {
      this.#writer.cork();
      for (let index = this.#head; index < this.#waiting.length; index++) {
        this.#writer.write(this.#waiting[index] as OutgoingFrame, noop);
      }
      this.#writer.uncork();
    }
    this.#cleared = true;
    this.#waiting = [];
    this.#head = 0;
    this.#waitingBytes = 0;
    this.#scheduler.forget(this);
  }

  #written(bytes: number): void {
    this.#inFlightBytes -= bytes;
    this.#inFlightFrames -= 1;
    if (this.ready) this.#scheduler.schedule(this);
  }
}

function noop(): void {}

/** A frame's size, counting a string's characters as bytes (JSON is nearly all ASCII). */
function sizeOf(frame: OutgoingFrame): number {
  return typeof frame === 'string' ? frame.length : frame.head.length + frame.body.length + frame.tail.length;
}
