// A background pass repeated `intervalMs` after the previous one ends (passes never overlap), until stopped. `stop`
// waits for the pass in flight, so a module shutting down never leaves a write half done. A pass handles its own
// errors (it logs them and is retried next time).

export class PollingLoop {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopped = false;

  constructor(
    private readonly pass: () => Promise<void>,
    private readonly intervalMs: number,
  ) {}

  /** True once `stop` was called: a long pass may end early. */
  get isStopped(): boolean {
    return this.stopped;
  }

  /** Runs the first pass now. */
  start(): void {
    const tick = () => {
      this.running = this.pass().finally(() => {
        if (!this.stopped) this.timer = setTimeout(tick, this.intervalMs);
      });
    };
    tick();
  }

  /** No pass starts after this; resolves when the one in flight (if any) has ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }
}
