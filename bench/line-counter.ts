// The benchmarks' cheapest json_lines receiver (bench/line-counter.py, Python's standard library)
// as a child process: its address, and the lines it has counted so far.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

export class LineCounterProcess {
  readonly address: string;
  readonly #child: ChildProcess;
  readonly #counted: { lines: number };

  private constructor(child: ChildProcess, address: string, counted: { lines: number }) {
    this.#child = child;
    this.address = address;
    this.#counted = counted;
  }

  get lineCount(): number {
    return this.#counted.lines;
  }

  get pid(): number {
    return this.#child.pid as number;
  }

  static async start(): Promise<LineCounterProcess> {
    const child = spawn('python3', [fileURLToPath(new URL('./line-counter.py', import.meta.url))], { stdio: ['pipe', 'pipe', 'inherit'] });
    const lines = createInterface({ input: child.stdout });
    const counted = { lines: 0 };
    const port = await new Promise<string>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`line-counter.py exited with ${code}`)));
      lines.on('line', (line) => {
        const [key, value] = line.split(' ');
        if (key === 'port') resolve(value as string);
        else if (key === 'count') counted.lines = Number(value);
      });
    });
    return new LineCounterProcess(child, `127.0.0.1:${port}`, counted);
  }

  async close(): Promise<void> {
    const exited = new Promise((resolve) => this.#child.once('exit', resolve));
    this.#child.stdin?.end();
    this.#child.kill('SIGTERM');
    await exited;
  }
}
