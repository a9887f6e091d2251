import { type CalendarDate, getLocalTimeZone } from '@internationalized/date';
import { DateField, DateInput, DateSegment, Label } from 'react-aria-components';
import { useTranslation } from 'react-i18next';

export interface DateRange {
  from: CalendarDate | null;
  to: CalendarDate | null;
}

/** The range as the log APIs take it: from the start of the first day to the end of the last, in local time. */
export function rangeQuery(range: DateRange): { from?: string; to?: string } {
  const tz = getLocalTimeZone();
  return {
    ...(range.from ? { from: range.from.toDate(tz).toISOString() } : {}),
    ...(range.to ? { to: new Date(range.to.add({ days: 1 }).toDate(tz).getTime() - 1).toISOString() } : {}),
  };
}

function DayField({
  label,
  value,
  onChange,
}: {
  label: string;
  value: CalendarDate | null;
  onChange: (value: CalendarDate | null) => void;
}) {
  return (
    <DateField className="field" value={value} onChange={onChange} granularity="day">
      <Label className="field-label">{label}</Label>
      <DateInput className="date-input">
        {(segment) => <DateSegment segment={segment} className="date-segment" />}
      </DateInput>
    </DateField>
  );
}

/** Two date fields, "from" and "to" (both days included), for filtering a log by time. */
export function DateRangeFields({ value, onChange }: { value: DateRange; onChange: (range: DateRange) => void }) {
  const { t } = useTranslation();
  return (
    <>
      <DayField label={t('audit.from')} value={value.from} onChange={(from) => onChange({ ...value, from })} />
      <DayField label={t('audit.to')} value={value.to} onChange={(to) => onChange({ ...value, to })} />
    </>
  );
}
