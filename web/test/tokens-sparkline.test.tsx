import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { render, screen } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import { api } from '../src/api/client';
import { Sparkline, UsageSparkline } from '../src/features/token-list/Sparkline';
import { lastDays, sparklinePoints } from '../src/features/token-list/sparkline';

describe('sparklinePoints', () => {
  it('spreads values across the width with the highest at the top and zero at the bottom', () => {
    expect(sparklinePoints([0, 5, 10], 80, 20)).toBe('0,20 40,10 80,0');
  });
  it('draws all zeros as a flat line along the bottom, and nothing for no values', () => {
    expect(sparklinePoints([0, 0], 10, 20)).toBe('0,20 10,20');
    expect(sparklinePoints([], 10, 20)).toBe('');
  });
  it('centres a single value', () => {
    expect(sparklinePoints([3], 80, 20)).toBe('40,0');
  });
});

describe('lastDays', () => {
  it('keeps the last fourteen days, oldest first', () => {
    const daily = Array.from({ length: 90 }, (_, i) => ({ start: `d${i}`, requests: i }));
    expect(lastDays(daily)).toEqual(Array.from({ length: 14 }, (_, i) => 76 + i));
  });
});

describe('Sparkline', () => {
  it('is an image named by its summary', () => {
    render(<Sparkline values={[0, 2, 4]} label="6 requests in the last 14 days" />);
    const img = screen.getByRole('img', { name: '6 requests in the last 14 days' });
    expect(img.querySelector('polyline')?.getAttribute('points')).toBe('0,20 40,10 80,0');
  });
});

function withClient(ui: React.ReactNode) {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  return <QueryClientProvider client={client}>{ui}</QueryClientProvider>;
}

describe('UsageSparkline', () => {
  it('asks for usage once a token has been used, and sums the last two weeks in its label', async () => {
    const daily = Array.from({ length: 90 }, (_, i) => ({
      start: `d${i}`,
      requests: i >= 76 ? 3 : 100,
      refusals: 0,
      errors: 0,
    }));
    const get = vi.spyOn(api, 'GET').mockResolvedValue({
      data: { lastUsedAt: null, lastUsedIp: null, hourly: [], daily },
      response: new Response(null, { status: 200 }),
    } as never);
    render(withClient(<UsageSparkline token={{ id: 'tok_1', lastUsedAt: '2026-01-01T00:00:00Z' }} />));
    await screen.findByRole('img', { name: '42 requests in the last 14 days' });
    expect(get).toHaveBeenCalledTimes(1);
    expect(get.mock.calls[0]?.[0]).toBe('/api/v1.0/tokens/{id}/usage');
    get.mockRestore();
  });

  it('asks nothing for a token never used', () => {
    const get = vi.spyOn(api, 'GET');
    render(withClient(<UsageSparkline token={{ id: 'tok_2', lastUsedAt: null }} />));
    expect(screen.getByText('Not used yet')).toBeTruthy();
    expect(get).not.toHaveBeenCalled();
    get.mockRestore();
  });
});
