/**
 * A stack of clean-up steps, run in reverse order of registration: start() pushes one after
 * each component it starts, stop() (or a failed start) unwinds exactly what was started —
 * instead of repeating clean-up after every step that can fail.
 */
export class DisposerStack {
  readonly #steps: { name: string; dispose: () => Promise<void> | void }[] = [];

  push(name: string, dispose: () => Promise<void> | void): void {
    this.#steps.push({ name, dispose });
  }

  /** Runs every step even when some fail; returns the failures. */
  async disposeAll(): Promise<{ name: string; error: unknown }[]> {
    const failures: { name: string; error: unknown }[] = [];
    while (this.#steps.length > 0) {
      const step = this.#steps.pop() as { name: string; dispose: () => Promise<void> | void };
      try {
        await step.dispose();
      } catch (error) {
        failures.push({ name: step.name, error });
      }
    }
    return failures;
  }
}
