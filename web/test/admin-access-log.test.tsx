import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { TokenAccessLog } from '../src/features/access-log/TokenAccessLog';

const DAY = 24 * 3600e3;
const today = Date.UTC(2026, 0, 10);

function record(over: Record<string, unknown>) {
  return {
    at: '2026-01-10T09:00:00.000Z',
    id: '1',
    requestId: 'req-1',
    tokenId: 'tok_1',
    ownerId: 'usr_1',
    resourceId: null,
    method: 'GET',
    route: '/api/v1.0/verify',
    path: '/api/v1.0/verify',
    apiVersion: '1.0',
    status: 200,
    durationMs: 3,
    ip: '203.0.113.7',
    userAgent: 'curl/8',
    outcome: 'VALID',
    carrier: 'authorization',
    keyPrefix: null,
    keyFingerprint: null,
    capture: null,
    ...over,
  };
}

const records = [
  record({
    id: '2',
    path: '/api/v1.0/orders',
    method: 'POST',
    status: 403,
    outcome: 'INSUFFICIENT_PERMISSIONS',
    capture: {
      request: { query: 'page=2', headers: { 'content-type': 'application/json' }, body: '{"item":"x"}' },
      response: { headers: { 'x-request-id': 'req-2' }, body: '{"error":{}}' },
      truncated: false,
    },
  }),
  record({ id: '1' }),
];

const daily = [
  { start: new Date(today - 2 * DAY).toISOString(), requests: 4, refusals: 1, errors: 0 },
  { start: new Date(today - DAY).toISOString(), requests: 0, refusals: 0, errors: 0 },
  { start: new Date(today).toISOString(), requests: 10, refusals: 2, errors: 1 },
];

const calls: URL[] = [];

// openapi-fetch keeps the fetch it finds when the client is made (at import), so the stand-in is
// installed before any import; it hands each call to the current test's answer. (The Request that
// takes relative URLs is set up in setup.ts.)
const answer = vi.hoisted(() => {
  const state: { fn: (input: Request) => Promise<Response> } = {
    fn: async () => new Response('{}', { status: 500 }),
  };
  globalThis.fetch = ((input: Request) => state.fn(input)) as typeof fetch;
  return state;
});

beforeEach(() => {
  calls.length = 0;
  answer.fn = async (input: Request) => {
    const url = new URL(input.url);
    calls.push(url);
    const json = (body: unknown) =>
      new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/json' } });
    if (url.pathname === '/api/v1.0/tokens/tok_1/usage')
      return json({ lastUsedAt: null, lastUsedIp: null, hourly: [], daily });
    if (url.pathname === '/api/v1.0/logs/access') {
      const status = url.searchParams.get('status');
      return json({ items: status === '5xx' ? [] : records, nextCursor: null });
    }
    return new Response('{}', { status: 404 });
  };
});

function renderLog() {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  return render(
    <QueryClientProvider client={client}>
      <TokenAccessLog tokenId="tok_1" />
    </QueryClientProvider>,
  );
}

describe('TokenAccessLog', () => {
  it('lists the token’s requests with their status, outcome and client, asking for that token only', async () => {
    renderLog();
    const table = await screen.findByRole('grid', { name: 'Requests' });
    const rows = within(table).getAllByRole('row');
    expect(rows).toHaveLength(3);
    expect(rows[1]?.textContent).toContain('POST');
    expect(rows[1]?.textContent).toContain('/api/v1.0/orders');
    expect(rows[1]?.textContent).toContain('403');
    expect(rows[1]?.textContent).toContain('INSUFFICIENT_PERMISSIONS');
    expect(rows[2]?.textContent).toContain('203.0.113.7');
    expect(rows[2]?.textContent).toContain('3 ms');
    expect(calls.find((u) => u.pathname === '/api/v1.0/logs/access')?.searchParams.get('tokenId')).toBe('tok_1');
  });

  it('shows a selected record’s captured request and response, and says so when nothing was captured', async () => {
    const user = userEvent.setup();
    renderLog();
    const table = await screen.findByRole('grid', { name: 'Requests' });
    await user.click(within(table).getAllByRole('row')[1]!);
    const detail = await screen.findByRole('region', { name: /POST/ });
    expect(within(detail).getByText('page=2')).toBeTruthy();
    expect(within(detail).getByText('{"item":"x"}')).toBeTruthy();
    expect(within(detail).getByText('x-request-id')).toBeTruthy();
    expect(within(detail).getByText('{"error":{}}')).toBeTruthy();

    await user.click(within(table).getAllByRole('row')[2]!);
    const other = await screen.findByRole('region', { name: /GET/ });
    expect(within(other).getByText(/No headers or bodies were kept/)).toBeTruthy();
  });

  it('draws requests and errors per day as one labelled image, with the numbers in a table', async () => {
    renderLog();
    const chart = await screen.findByRole('img');
    expect(chart.getAttribute('aria-label')).toMatch(/Last 3 days: 14 requests, 4 errors and refusals/);
    const numbers = screen.getByRole('table', { name: 'Requests and errors per day' });
    const cells = within(numbers)
      .getAllByRole('row')
      .slice(1)
      .map((r) =>
        within(r)
          .getAllByRole('cell')
          .map((c) => c.textContent),
      );
    expect(cells).toEqual([
      ['4', '1'],
      ['0', '0'],
      ['10', '3'],
    ]);
    expect(chart.querySelectorAll('rect.bar-requests')).toHaveLength(3);
  });

  it('filters by status class and offers exports with the same filter', async () => {
    const user = userEvent.setup();
    renderLog();
    await screen.findByRole('grid', { name: 'Requests' });
    await user.click(screen.getByRole('button', { name: /Status/ }));
    await user.click(await screen.findByRole('option', { name: /5xx/ }));
    await screen.findByText('No requests match.');
    expect(calls.some((u) => u.searchParams.get('status') === '5xx' && u.searchParams.get('tokenId') === 'tok_1')).toBe(
      true,
    );
    const csv = screen.getByRole('link', { name: 'Export CSV' }).getAttribute('href')!;
    const q = new URL(csv, 'http://x').searchParams;
    expect([q.get('format'), q.get('tokenId'), q.get('status')]).toEqual(['csv', 'tok_1', '5xx']);
  });
});
