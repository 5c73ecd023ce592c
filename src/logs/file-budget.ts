/**
 * The bound on log files held open at once (`logs.max_open_files`), as Fluent Bit's in_tail keeps
 * its file budget apart from reading. A slot is taken synchronously (no await between the check
 * and the count), so concurrent opens cannot overshoot; a file that finds every slot taken waits
 * in line and is scheduled for reading when one is released.
 */
import type { TrackedFile } from './tracked-file.ts';

export class OpenFileBudget {
  readonly #max: number;
  readonly #wake: (file: TrackedFile) => void;
  readonly #waiting: TrackedFile[] = [];
  #open = 0;

  /** `wake` schedules a waiting file once a slot is free for it. */
  constructor(max: number, wake: (file: TrackedFile) => void) {
    this.#max = max;
    this.#wake = wake;
  }

  get open(): number {
    return this.#open;
  }

  /** Files wait for a slot: an idle file at its end should give its slot up. */
  get contended(): boolean {
    return this.#waiting.length > 0;
  }

  /** Takes a slot if one is free. */
  reserve(): boolean {
    if (this.#open >= this.#max) return false;
    this.#open++;
    return true;
  }

  /** Gives a slot back; the longest-waiting file is woken to use it. */
  release(): void {
    this.#open--;
    const next = this.#waiting.shift();
    if (next) this.#wake(next);
  }

  /** Puts a file in line for the next free slot (once). */
  wait(file: TrackedFile): void {
    if (!this.#waiting.includes(file)) this.#waiting.push(file);
  }

  /**
   * Reserves a slot, closing the file idle the longest to make room if need be (`close` releases
   * its slot through release()). False when every open file is busy.
   */
  async acquire(files: Iterable<TrackedFile>, close: (file: TrackedFile) => Promise<void>): Promise<boolean> {
    if (this.reserve()) return true;
    let oldest: TrackedFile | undefined;
    for (const f of files) {
      if (f.handle && f.state === 'idle' && !f.scheduled && (!oldest || f.lastActivityAt < oldest.lastActivityAt)) oldest = f;
    }
    if (!oldest) return false;
    await close(oldest);
    return this.reserve();
  }
}
