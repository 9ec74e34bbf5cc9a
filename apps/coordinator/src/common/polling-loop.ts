// A background pass repeated `intervalMs` after the previous one ends (passes never overlap), until stopped. `stop`
// waits for the pass in flight, so a module shutting down never leaves a write half done. A pass handles its own
// errors (it logs them and is retried next time). A stopped loop can be started again.

export class PollingLoop {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private started = false;
  private stopped = false;
  private passing = false;

  constructor(
    private readonly pass: () => Promise<void>,
    private readonly intervalMs: number,
  ) {}

  /** True once `stop` was called: a long pass may end early. */
  get isStopped(): boolean {
    return this.stopped;
  }

  /** Runs the first pass now. After `stop`, only once the pass it waited for has ended (passes never overlap). */
  start(): void {
    if (this.started && !this.stopped) throw new Error('the polling loop is already running');
    if (this.passing) throw new Error('a pass of the stopped loop is still running: await stop() first');
    this.started = true;
    this.stopped = false;
    const tick = () => {
      this.passing = true;
      this.running = this.pass().finally(() => {
        this.passing = false;
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
