import { useTranslation } from 'react-i18next';
import { useFormat } from '../../format';

export interface UsageDay {
  start: string;
  requests: number;
  refusals: number;
  errors: number;
}

const BAR = 8;
const GAP = 2;
const HEIGHT = 120;

/**
 * Requests and errors per day as bars. The picture is one image with a summary for screen readers;
 * the numbers themselves are in a table only they read.
 */
export function UsageChart({ days }: { days: UsageDay[] }) {
  const { t } = useTranslation();
  const format = useFormat();
  const failed = (d: UsageDay) => d.errors + d.refusals;
  const totalRequests = days.reduce((n, d) => n + d.requests, 0);
  const totalFailed = days.reduce((n, d) => n + failed(d), 0);
  const busiest = days.reduce<UsageDay | undefined>((b, d) => (!b || d.requests > b.requests ? d : b), undefined);
  const max = Math.max(1, ...days.map((d) => d.requests));
  const width = days.length * (BAR + GAP);
  const summary = t('accessLog.chartSummary', {
    days: format.number(days.length),
    requests: format.number(totalRequests),
    errors: format.number(totalFailed),
    busiest: busiest && busiest.requests > 0 ? format.date(busiest.start) : t('common.none'),
  });
  return (
    <figure className="usage-chart">
      <figcaption className="usage-legend">
        <span>
          <span className="swatch swatch-requests" aria-hidden="true" /> {t('accessLog.requests')}
        </span>
        <span>
          <span className="swatch swatch-errors" aria-hidden="true" /> {t('accessLog.errors')}
        </span>
      </figcaption>
      <svg
        role="img"
        aria-label={summary}
        viewBox={`0 0 ${Math.max(width, 1)} ${HEIGHT}`}
        preserveAspectRatio="none"
        className="usage-svg"
      >
        {days.map((d, i) => {
          const h = (d.requests / max) * HEIGHT;
          const e = (failed(d) / max) * HEIGHT;
          const x = i * (BAR + GAP);
          return (
            <g key={d.start}>
              <rect className="bar-requests" x={x} y={HEIGHT - h} width={BAR} height={h} />
              <rect className="bar-errors" x={x} y={HEIGHT - e} width={BAR} height={e} />
            </g>
          );
        })}
      </svg>
      <p className="muted usage-summary">{summary}</p>
      <table className="visually-hidden">
        <caption>{t('accessLog.chartTable')}</caption>
        <thead>
          <tr>
            <th scope="col">{t('accessLog.day')}</th>
            <th scope="col">{t('accessLog.requests')}</th>
            <th scope="col">{t('accessLog.errors')}</th>
          </tr>
        </thead>
        <tbody>
          {days.map((d) => (
            <tr key={d.start}>
              <th scope="row">{format.date(d.start)}</th>
              <td>{format.number(d.requests)}</td>
              <td>{format.number(failed(d))}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </figure>
  );
}
