import { useQuery } from '@tanstack/react-query';
import { useEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, type Token, unwrap } from '../../api/client';
import { useFormat } from '../../format';
import { lastDays, SPARKLINE_DAYS, sparklinePoints } from './sparkline';

const WIDTH = 80;
const HEIGHT = 20;

/** A tiny line chart of daily counts, announced by its label (the chart itself says nothing to a screen reader). */
export function Sparkline({ values, label }: { values: readonly number[]; label: string }) {
  return (
    <svg
      className="sparkline"
      role="img"
      aria-label={label}
      viewBox={`-1 -1 ${WIDTH + 2} ${HEIGHT + 2}`}
      width={WIDTH}
      height={HEIGHT}
    >
      <title>{label}</title>
      <polyline points={sparklinePoints(values, WIDTH, HEIGHT)} fill="none" />
    </svg>
  );
}

/** Whether an element has come into view (once true, stays true); true at once where there is no IntersectionObserver. */
function useSeen<T extends Element>() {
  const ref = useRef<T>(null);
  const [seen, setSeen] = useState(typeof IntersectionObserver === 'undefined');
  useEffect(() => {
    if (seen || !ref.current) return;
    const observer = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) setSeen(true);
    });
    observer.observe(ref.current);
    return () => observer.disconnect();
  }, [seen]);
  return [ref, seen] as const;
}

/**
 * A token's requests over the last two weeks. Asked for only once the token has been used and the
 * row is on screen, so a long list does not fetch usage for rows nobody looks at.
 */
export function UsageSparkline({ token }: { token: Pick<Token, 'id' | 'lastUsedAt'> }) {
  const { t } = useTranslation();
  const format = useFormat();
  const [ref, seen] = useSeen<HTMLSpanElement>();
  const used = token.lastUsedAt !== null;
  const usage = useQuery({
    queryKey: ['usage', token.id],
    queryFn: () => unwrap(api.GET('/api/v1.0/tokens/{id}/usage', { params: { path: { id: token.id } } })),
    enabled: used && seen,
    staleTime: 60_000,
  });
  let content = (
    <>
      <span className="muted" aria-hidden="true">
        –
      </span>
      <span className="visually-hidden">{t('tokens.noUsage')}</span>
    </>
  );
  if (used && !usage.data) content = <span className="muted">…</span>;
  if (used && usage.data) {
    const values = lastDays(usage.data.daily);
    const total = values.reduce((a, b) => a + b, 0);
    content = (
      <Sparkline
        values={values}
        label={t('tokens.usageLabel', { count: total, total: format.number(total), days: SPARKLINE_DAYS })}
      />
    );
  }
  return (
    <span ref={ref} className="sparkline-cell">
      {content}
    </span>
  );
}
