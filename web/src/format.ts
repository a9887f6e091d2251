import { useTranslation } from 'react-i18next';

const UNITS: [Intl.RelativeTimeFormatUnit, number][] = [
  ['year', 365 * 24 * 3600e3],
  ['month', 30 * 24 * 3600e3],
  ['week', 7 * 24 * 3600e3],
  ['day', 24 * 3600e3],
  ['hour', 3600e3],
  ['minute', 60e3],
  ['second', 1e3],
];

/** Formatters for the current language: dates, times, relative times and numbers, all by Intl. */
export function makeFormat(language: string, now: () => number = Date.now) {
  const date = new Intl.DateTimeFormat(language, { dateStyle: 'medium' });
  const dateTime = new Intl.DateTimeFormat(language, { dateStyle: 'medium', timeStyle: 'short' });
  const relative = new Intl.RelativeTimeFormat(language, { numeric: 'auto' });
  const number = new Intl.NumberFormat(language);
  return {
    date: (iso: string | Date) => date.format(new Date(iso)),
    dateTime: (iso: string | Date) => dateTime.format(new Date(iso)),
    /** "in 3 days", "2 hours ago", "over 5 jaar": the largest unit that fits. */
    relative: (iso: string | Date) => {
      const diff = new Date(iso).getTime() - now();
      const [unit, size] = UNITS.find(([, ms]) => Math.abs(diff) >= ms) ?? ['second', 1e3];
      return relative.format(Math.round(diff / size), unit);
    },
    number: (n: number) => number.format(n),
  };
}

export type Format = ReturnType<typeof makeFormat>;

/** The formatters for the language the console is shown in. */
export function useFormat(): Format {
  const { i18n } = useTranslation();
  return makeFormat(i18n.resolvedLanguage ?? 'en');
}
