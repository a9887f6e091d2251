import { render, screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { expiryStatus } from '../src/features/token-list/expiry';
import { Expiry } from '../src/features/token-list/TokenTable';

const NOW = Date.parse('2026-06-01T12:00:00Z');
const DAY = 24 * 3600e3;
const at = (ms: number) => new Date(NOW + ms).toISOString();

describe('expiryStatus', () => {
  it('says never for a token without expiry', () => {
    expect(expiryStatus(null, NOW)).toBe('never');
  });
  it('warns within seven days, including exactly seven', () => {
    expect(expiryStatus(at(3 * DAY), NOW)).toBe('soon');
    expect(expiryStatus(at(7 * DAY), NOW)).toBe('soon');
    expect(expiryStatus(at(1000), NOW)).toBe('soon');
  });
  it('is fine beyond seven days', () => {
    expect(expiryStatus(at(7 * DAY + 1000), NOW)).toBe('ok');
    expect(expiryStatus(at(365 * DAY), NOW)).toBe('ok');
  });
  it('is expired from the moment it passes', () => {
    expect(expiryStatus(at(0), NOW)).toBe('expired');
    expect(expiryStatus(at(-DAY), NOW)).toBe('expired');
  });
});

describe('Expiry', () => {
  it('shows an expiry within a week in the warning style and says so in words', () => {
    const { container } = render(<Expiry expiresAt={new Date(Date.now() + 3 * DAY).toISOString()} />);
    expect(container.querySelector('[data-expiry="soon"]')).toBeTruthy();
    expect(screen.getByText(/Expires soon/)).toBeTruthy();
    expect(screen.getByText('in 3 days')).toBeTruthy();
  });
  it('shows a past expiry in the danger style', () => {
    const { container } = render(<Expiry expiresAt={new Date(Date.now() - 2 * DAY).toISOString()} />);
    expect(container.querySelector('[data-expiry="expired"]')).toBeTruthy();
  });
  it('says when a token never expires', () => {
    render(<Expiry expiresAt={null} />);
    expect(screen.getByText('Never expires')).toBeTruthy();
  });
});
