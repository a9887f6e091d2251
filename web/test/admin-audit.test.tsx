import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import i18n from 'i18next';
import { MemoryRouter } from 'react-router';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import en from '../src/locales/en.json';
import nl from '../src/locales/nl.json';
import { AuditList } from '../src/features/audit/AuditList';
import { AUDIT_ACTIONS, actionText } from '../src/features/audit/auditWords';

const records = [
  {
    id: 'aud_2',
    at: '2026-01-10T09:00:00.000Z',
    actorType: 'user',
    actorId: 'usr_admin',
    viaTokenId: null,
    action: 'user.disable',
    targetType: 'user',
    targetId: 'usr_2',
    resourceId: null,
    details: { email: 'ann@example.com', changes: { active: { from: true, to: false } } },
    ip: '203.0.113.9',
    userAgent: null,
  },
  {
    id: 'aud_1',
    at: '2026-01-09T09:00:00.000Z',
    actorType: 'token',
    actorId: 'tok_9',
    viaTokenId: 'tok_9',
    action: 'token.roll',
    targetType: 'token',
    targetId: 'tok_1',
    resourceId: 'res_1',
    details: { name: 'CI deploy' },
    ip: null,
    userAgent: null,
  },
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
    const json = (body: unknown, status = 200) =>
      new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
    if (url.pathname === '/api/v1.0/me')
      return json({
        kind: 'user',
        csrfToken: 'c',
        user: { id: 'usr_admin', email: 'admin@example.com', name: 'Ada', systemRole: 'admin', active: true },
      });
    if (url.pathname === '/api/v1.0/logs/audit')
      return json(
        url.searchParams.get('cursor')
          ? { items: [{ ...records[1], id: 'aud_0', action: 'session.fail' }], nextCursor: null }
          : { items: records, nextCursor: 'next' },
      );
    return json({ error: { code: 'NOT_FOUND', message: 'no' } }, 404);
  };
});
afterEach(async () => {
  await i18n.changeLanguage('en');
});

function renderList(filter = {}) {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  return render(
    <QueryClientProvider client={client}>
      <MemoryRouter>
        <AuditList filter={filter} />
      </MemoryRouter>
    </QueryClientProvider>,
  );
}

describe('audit action wording', () => {
  it('has words, not codes, for every action in both languages, and different words for each', () => {
    for (const [language, texts] of [
      ['en', en.audit.action],
      ['nl', nl.audit.action],
    ] as const) {
      const words = AUDIT_ACTIONS.map((a) => (texts as Record<string, string>)[a.replace('.', '_')]);
      expect(
        words.every((w) => typeof w === 'string' && w.length > 0 && !w.includes('.')),
        language,
      ).toBe(true);
      expect(new Set(words).size, language).toBe(AUDIT_ACTIONS.length);
    }
  });

  it('says an action in the current language, and an unknown one as its code', async () => {
    expect(actionText(i18n.t, 'token.roll')).toBe('API token key replaced');
    expect(actionText(i18n.t, 'webhook.create')).toBe('webhook.create');
    await i18n.changeLanguage('nl');
    expect(actionText(i18n.t, 'token.roll')).toBe('Sleutel van API token vervangen');
    expect(actionText(i18n.t, 'session.fail')).toBe('Aanmelden mislukt');
  });
});

describe('AuditList', () => {
  it('shows records newest first in words, with who, what, via which token, and the change on demand', async () => {
    const user = userEvent.setup();
    renderList({ targetId: 'usr_2' });
    const list = await screen.findByRole('list', { name: 'Audit records' });
    const items = within(list).getAllByRole('listitem');
    expect(items[0]?.textContent).toContain('User disabled');
    expect(items[0]?.textContent).toContain('ann@example.com');
    expect(items[0]?.textContent).toContain('from 203.0.113.9');
    expect(items[1]?.textContent).toContain('API token key replaced');
    expect(items[1]?.textContent).toContain('CI deploy');
    expect(items[1]?.textContent).toContain('through API token tok_9');
    expect(calls.find((u) => u.pathname === '/api/v1.0/logs/audit')?.searchParams.get('targetId')).toBe('usr_2');
    await within(items[0]!).findByText(/you \(Ada\)/);

    await user.click(within(items[0]!).getByRole('button', { name: 'Show details' }));
    const changes = within(items[0]!).getByRole('table', { name: 'Changes' });
    expect(within(changes).getByRole('rowheader', { name: 'active' })).toBeTruthy();
    expect(
      within(changes)
        .getAllByRole('cell')
        .map((c) => c.textContent),
    ).toEqual(['true', 'false']);

    await user.click(screen.getByRole('button', { name: 'Load more' }));
    await within(list).findByText('Sign-in failed');
    expect(screen.queryByRole('button', { name: 'Load more' })).toBeNull();
  });
});
