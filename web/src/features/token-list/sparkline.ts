/** One day of a token's usage, as GET /tokens/{id}/usage gives it. */
export interface UsageDay {
  start: string;
  requests: number;
}

/** Days the lists' sparklines cover. */
export const SPARKLINE_DAYS = 14;

/**
 * The polyline points of a sparkline for `values` in a `width`×`height` box: evenly spaced, the
 * highest value at the top, zero on the bottom edge (a flat line for all zeros).
 */
export function sparklinePoints(values: readonly number[], width: number, height: number): string {
  if (values.length === 0) return '';
  const max = Math.max(...values, 0);
  const step = values.length > 1 ? width / (values.length - 1) : 0;
  return values
    .map((v, i) => {
      const x = values.length > 1 ? i * step : width / 2;
      const y = max === 0 ? height : height - (v / max) * height;
      return `${round(x)},${round(y)}`;
    })
    .join(' ');
}

function round(n: number): string {
  return String(Math.round(n * 10) / 10);
}

/** The last `days` daily request counts, oldest first. */
export function lastDays(daily: readonly UsageDay[], days = SPARKLINE_DAYS): number[] {
  return daily.slice(-days).map((d) => d.requests);
}
