import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RecurringProblem } from '../../src/ops/recurring.js';

describe('a recurring problem is reported without flooding the log', () => {
  it('the first occurrence at once, the rest counted into one line per interval, afresh after recovery', () => {
    let now = 0;
    const lines: string[] = [];
    const p = new RecurringProblem(
      'Redis',
      (err) => lines.push(err.message),
      10_000,
      () => now,
    );
    p.occurred(new Error('ECONNREFUSED'));
    for (let i = 0; i < 500; i++) {
      now += 10;
      p.occurred(new Error('ECONNREFUSED'));
    }
    assert.deepEqual(lines, ['Redis: ECONNREFUSED'], 'one line for the first 5 s of failures');
    now = 10_000;
    p.occurred(new Error('ECONNREFUSED'));
    assert.equal(lines[1], 'Redis: ECONNREFUSED (and 500 more since the last report)');
    p.recovered();
    now += 1;
    p.occurred(new Error('timeout'));
    assert.equal(lines[2], 'Redis: timeout', 'a new outage is reported at once');
    assert.equal(lines.length, 3);
  });
});
