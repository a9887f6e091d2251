/**
 * Reports a problem that recurs (a Redis outage fails every call and every reconnect attempt)
 * without flooding the log: the first occurrence at once, then at most one line per `intervalMs`
 * saying how many more there were; `recovered()` starts afresh, so the next outage is reported at once.
 */
export class RecurringProblem {
  private unreported = 0;
  private reportedAt = Number.NEGATIVE_INFINITY;
  private ongoing = false;

  constructor(
    private readonly what: string,
    private readonly report: (err: Error) => void,
    private readonly intervalMs = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  occurred(err: Error): void {
    const t = this.now();
    if (this.ongoing && t - this.reportedAt < this.intervalMs) {
      this.unreported++;
      return;
    }
    const more = this.unreported > 0 ? ` (and ${this.unreported} more since the last report)` : '';
    this.report(new Error(`${this.what}: ${err.message}${more}`));
    this.ongoing = true;
    this.reportedAt = t;
    this.unreported = 0;
  }

  recovered(): void {
    this.ongoing = false;
    this.unreported = 0;
  }
}
