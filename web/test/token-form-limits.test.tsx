import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import type { ReactNode } from 'react';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { Token } from '../src/api/client';
import { ApiError } from '../src/api/client';
import { formErrors } from '../src/api/errors';
import {
  changedLimitsBody,
  createLimitsBody,
  emptyLimits,
  type LimitsDraft,
  limitLines,
  limitsBody,
  limitsFromToken,
} from '../src/features/token-form/limits';
import { makeFormat } from '../src/format';
import i18n from 'i18next';

// The dialogs talk to keygate through `api`; here it answers from a script, and records what was asked.
const calls = vi.hoisted(() => ({
  log: [] as { method: string; path: string; init: unknown }[],
  answer: {} as Record<string, { status: number; body?: unknown }>,
}));
vi.mock('../src/api/client', async (importOriginal) => {
  const real = await importOriginal<typeof import('../src/api/client')>();
  const respond = (method: string) => async (path: string, init: unknown) => {
    calls.log.push({ method, path, init });
    const { status, body } = calls.answer[`${method} ${path}`] ?? { status: 500 };
    const ok = status < 300;
    return { data: ok ? body : undefined, error: ok ? undefined : body, response: new Response(null, { status }) };
  };
  return {
    ...real,
    api: { GET: respond('GET'), POST: respond('POST'), DELETE: respond('DELETE'), PATCH: respond('PATCH') },
  };
});

const { CreateTokenDialog } = await import('../src/features/token-form/CreateTokenDialog');
const { EditTokenDialog } = await import('../src/features/token-form/EditTokenDialog');

const MODEL = {
  resourceTypes: [],
  permissions: [{ name: 'resources:read', description: 'See it.' }],
  levels: [{ name: 'reader', permissions: ['resources:read'] }],
  apiGroups: [{ name: 'native', description: 'Everything.' }],
  policy: {
    expiresIn: ['30d', '90d'],
    maxLifetimeDays: 90,
    recoverableKeys: false,
    customKeys: { allowed: false, minLength: 24 },
    logging: ['none'],
  },
};

const LIMITED = {
  id: 'tok_1',
  name: 'Metered',
  description: '',
  resourceId: 'res_1',
  level: 'reader',
  permissions: ['resources:read'],
  apiGroups: ['native'],
  expiresAt: null,
  logging: 'none',
  recoverable: false,
  rateLimit: { limit: 100, window: '1m', per: 'token' },
  credits: { remaining: 42, refill: { amount: 1000, interval: '30d' }, refilledAt: '2026-01-01T00:00:00.000Z' },
  ipAllowlist: ['203.0.113.0/24', '2001:db8::/32'],
} as Token;

function wrap(children: ReactNode) {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  return <QueryClientProvider client={client}>{children}</QueryClientProvider>;
}

const draft = (patch: Partial<LimitsDraft>): LimitsDraft => ({ ...emptyLimits(), ...patch });

beforeEach(() => {
  calls.log.length = 0;
  calls.answer = {};
});

describe('the limits as the API takes them', () => {
  it('sends each rate limit choice as its exact form', () => {
    expect(limitsBody(draft({ rateMode: 'default' })).rateLimit).toBeNull();
    expect(limitsBody(draft({ rateMode: 'unlimited', rateLimit: '5' })).rateLimit).toBe('unlimited');
    expect(
      limitsBody(draft({ rateMode: 'custom', rateLimit: ' 100 ', rateWindow: '30', rateUnit: 's', ratePer: 'owner' }))
        .rateLimit,
    ).toEqual({ limit: 100, window: '30s', per: 'owner' });
    expect(limitsBody(draft({ rateMode: 'custom', rateLimit: '7', rateWindow: '1', rateUnit: 'd' })).rateLimit).toEqual(
      { limit: 7, window: '1d', per: 'token' },
    );
  });

  it('sends credits with and without a refill, and none when not counted', () => {
    expect(limitsBody(draft({ credits: false, creditsRemaining: '5' })).credits).toBeNull();
    expect(limitsBody(draft({ credits: true, creditsRemaining: '0' })).credits).toEqual({ remaining: 0, refill: null });
    expect(
      limitsBody(
        draft({
          credits: true,
          creditsRemaining: '42',
          refill: true,
          refillAmount: '1000',
          refillInterval: '2',
          refillUnit: 'h',
        }),
      ).credits,
    ).toEqual({ remaining: 42, refill: { amount: 1000, interval: '2h' } });
  });

  it('sends the allowlist one entry a line, blank lines and spaces left out, and null when empty', () => {
    expect(limitsBody(draft({ ipAllowlist: ' 10.0.0.0/8 \n\n  2001:db8::1\n' })).ipAllowlist).toEqual([
      '10.0.0.0/8',
      '2001:db8::1',
    ]);
    expect(limitsBody(draft({ ipAllowlist: '  \n ' })).ipAllowlist).toBeNull();
  });

  it('leaves unset limits out of a new token, and sends only the limits an edit changed', () => {
    expect(createLimitsBody(emptyLimits())).toEqual({});
    expect(createLimitsBody(draft({ rateMode: 'unlimited' }))).toEqual({ rateLimit: 'unlimited' });
    const before = limitsFromToken(LIMITED);
    expect(changedLimitsBody(before, before)).toEqual({});
    expect(changedLimitsBody(before, { ...before, ipAllowlist: '' })).toEqual({ ipAllowlist: null });
    expect(changedLimitsBody(before, { ...before, rateMode: 'default' })).toEqual({ rateLimit: null });
    expect(changedLimitsBody(before, { ...before, creditsRemaining: '50' })).toEqual({
      credits: { remaining: 50, refill: { amount: 1000, interval: '30d' } },
    });
  });

  it('reads a token back into the form, and the form sends what the token has', () => {
    const read = limitsFromToken(LIMITED);
    expect(read).toMatchObject({
      rateMode: 'custom',
      rateLimit: '100',
      rateWindow: '1',
      rateUnit: 'm',
      ratePer: 'token',
      credits: true,
      creditsRemaining: '42',
      refill: true,
      refillAmount: '1000',
      refillInterval: '30',
      refillUnit: 'd',
      ipAllowlist: '203.0.113.0/24\n2001:db8::/32',
    });
    expect(limitsBody(read)).toEqual({
      rateLimit: { limit: 100, window: '1m', per: 'token' },
      credits: { remaining: 42, refill: { amount: 1000, interval: '30d' } },
      ipAllowlist: ['203.0.113.0/24', '2001:db8::/32'],
    });
    expect(limitsFromToken({ rateLimit: 'unlimited', credits: null, ipAllowlist: null })).toEqual({
      ...emptyLimits(),
      rateMode: 'unlimited',
    });
    expect(limitsFromToken({ rateLimit: null, credits: null, ipAllowlist: null })).toEqual(emptyLimits());
  });
});

describe('the limits as the console shows them', () => {
  const t = i18n.getFixedT('en');
  const format = makeFormat('en');
  it('says each limit in a short line, and nothing for one not set', () => {
    expect(limitLines(t, format, 'en', LIMITED)).toEqual({
      rate: '100 / 1 min',
      credits: '42 credits left, refills to 1,000 every 30 days',
      ipAllowlist: '2 allowed addresses or ranges',
    });
    expect(limitLines(t, format, 'en', LIMITED, true)).toEqual({
      rate: '100 / 1 min',
      credits: '42 credits',
      ipAllowlist: '2 allowed ranges',
    });
    expect(limitLines(t, format, 'en', { rateLimit: null, credits: null, ipAllowlist: null })).toEqual({});
    expect(
      limitLines(t, format, 'en', {
        rateLimit: { limit: 5, window: '1h', per: 'owner' },
        credits: { remaining: 1, refill: null },
        ipAllowlist: ['10.0.0.1'],
      }),
    ).toEqual({
      rate: "5 / 1 hr, shared by the owner's tokens",
      credits: '1 credit left',
      ipAllowlist: '1 allowed address or range',
    });
  });

  it('says them in Dutch', () => {
    const nl = i18n.getFixedT('nl');
    expect(limitLines(nl, makeFormat('nl'), 'nl', LIMITED)).toEqual({
      rate: '100 / 1 min',
      credits: 'Nog 42 keer te gebruiken, elke 30 dagen aangevuld tot 1.000',
      ipAllowlist: '2 toegestane adressen of bereiken',
    });
  });
});

describe('server refusals of a limit', () => {
  const t = i18n.getFixedT('en');
  const refusal = (field: string) => new ApiError(400, 'VALIDATION_FAILED', 'bad', field);
  const fields = ['name', 'rateLimit', 'rateLimit.limit', 'credits', 'ipAllowlist'];
  it('go to the most precise field the form has', () => {
    expect(Object.keys(formErrors(t, refusal('rateLimit.limit'), fields).validationErrors)).toEqual([
      'rateLimit.limit',
    ]);
    expect(Object.keys(formErrors(t, refusal('rateLimit.per'), fields).validationErrors)).toEqual(['rateLimit']);
    expect(Object.keys(formErrors(t, refusal('credits.refill'), fields).validationErrors)).toEqual(['credits']);
    expect(Object.keys(formErrors(t, refusal('ipAllowlist.2'), fields).validationErrors)).toEqual(['ipAllowlist']);
    expect(formErrors(t, refusal('nothing'), fields).formError).toBe('This value is not valid.');
  });

  it('say what is wrong with an allowlist rather than only "not valid"', () => {
    expect(formErrors(t, refusal('ipAllowlist'), fields).validationErrors.ipAllowlist).toBe(
      'Each line must be an IPv4 or IPv6 address or a CIDR range, such as 203.0.113.0/24.',
    );
  });
});

describe('the Limits section of the forms', () => {
  it('is closed on a new token, and sends a rate limit, credits and an allowlist when they are set', async () => {
    const user = userEvent.setup();
    calls.answer['GET /api/v1.0/model'] = { status: 200, body: MODEL };
    calls.answer['GET /api/v1.0/me'] = {
      status: 200,
      body: { kind: 'user', user: { id: 'u1', systemRole: 'user' }, csrfToken: 'c' },
    };
    calls.answer['POST /api/v1.0/resources/{id}/tokens'] = { status: 201, body: { ...LIMITED, key: 'kg_secret' } };
    render(wrap(<CreateTokenDialog resourceId="res_1" resourceName="Acme" isOpen onClose={() => {}} />));
    await user.type(await screen.findByRole('textbox', { name: 'Name' }), 'Metered');
    const trigger = screen.getByRole('button', { name: /Limits/ });
    expect(trigger.getAttribute('aria-expanded')).toBe('false');
    expect(trigger.textContent).toContain('none set');
    await user.click(trigger);
    await user.click(screen.getByRole('radio', { name: /Own limit/ }));
    await user.type(screen.getByRole('textbox', { name: 'Requests' }), '100');
    const window = screen.getAllByRole('textbox', { name: 'Every' })[0]!;
    await user.clear(window);
    await user.type(window, '30');
    await user.click(screen.getByRole('radio', { name: "All the owner's tokens together" }));
    await user.click(screen.getByRole('radio', { name: 'A number of uses' }));
    await user.type(screen.getByRole('textbox', { name: 'Uses left' }), '42');
    await user.click(screen.getByRole('checkbox', { name: 'Refill regularly' }));
    await user.type(screen.getByRole('textbox', { name: 'Refill to' }), '1000');
    await user.type(screen.getByRole('textbox', { name: 'IP allowlist' }), '10.0.0.0/8{enter}{enter}::1');
    expect(trigger.textContent).toContain('3 set');
    await user.click(screen.getByRole('button', { name: 'Next: summary' }));
    const summary = await screen.findByText("100 / 30 min, shared by the owner's tokens");
    expect(within(summary.closest('dl')!).getByText('10.0.0.0/8, ::1')).toBeTruthy();
    await user.click(screen.getByRole('button', { name: 'Add' }));
    await screen.findByText('kg_secret');
    const post = calls.log.find((c) => c.method === 'POST')?.init as { body: Record<string, unknown> };
    expect(post.body).toEqual({
      name: 'Metered',
      description: '',
      level: 'reader',
      expiresIn: '90d',
      apiGroups: ['native'],
      logging: 'none',
      rateLimit: { limit: 100, window: '30m', per: 'owner' },
      credits: { remaining: 42, refill: { amount: 1000, interval: '30d' } },
      ipAllowlist: ['10.0.0.0/8', '::1'],
    });
  });

  it('keeps a request with 0 requests per window from being sent, and says why at the field', async () => {
    const user = userEvent.setup();
    calls.answer['GET /api/v1.0/model'] = { status: 200, body: MODEL };
    calls.answer['PATCH /api/v1.0/tokens/{id}'] = { status: 200, body: LIMITED };
    render(wrap(<EditTokenDialog token={LIMITED} isOpen onClose={() => {}} />));
    await user.click(await screen.findByRole('button', { name: /Limits/ }));
    const requests = screen.getByRole('textbox', { name: 'Requests' });
    await user.clear(requests);
    await user.type(requests, '0');
    await user.click(screen.getByRole('button', { name: 'Save' }));
    await screen.findByText('Enter a whole number of at least 1.');
    expect(calls.log.some((c) => c.method === 'PATCH')).toBe(false);
  });

  it('edits one limit of a token and sends only that one, leaving the credits be', async () => {
    const user = userEvent.setup();
    const onClose = vi.fn();
    calls.answer['GET /api/v1.0/model'] = { status: 200, body: MODEL };
    calls.answer['PATCH /api/v1.0/tokens/{id}'] = { status: 200, body: LIMITED };
    render(wrap(<EditTokenDialog token={LIMITED} isOpen onClose={onClose} />));
    const trigger = await screen.findByRole('button', { name: /Limits/ });
    expect(trigger.getAttribute('aria-expanded')).toBe('false');
    expect(trigger.textContent).toContain('3 set');
    await user.click(trigger);
    expect((screen.getByRole('textbox', { name: 'Uses left' }) as HTMLInputElement).value).toBe('42');
    await user.click(screen.getByRole('radio', { name: /Unlimited/ }));
    await user.click(screen.getByRole('button', { name: 'Save' }));
    await waitFor(() => expect(onClose).toHaveBeenCalled());
    const patch = calls.log.find((c) => c.method === 'PATCH')?.init as { body: Record<string, unknown> };
    expect(patch.body).toEqual({
      name: 'Metered',
      description: '',
      level: 'reader',
      apiGroups: ['native'],
      logging: 'none',
      rateLimit: 'unlimited',
    });
  });

  it('opens itself to show a refusal at the limit field the server names', async () => {
    const user = userEvent.setup();
    calls.answer['GET /api/v1.0/model'] = { status: 200, body: MODEL };
    calls.answer['PATCH /api/v1.0/tokens/{id}'] = {
      status: 400,
      body: {
        error: {
          code: 'VALIDATION_FAILED',
          message: 'credits.refill.interval must be a duration such as 1h, 1d or 30d.',
          field: 'credits.refill.interval',
          requestId: 'r',
        },
      },
    };
    render(wrap(<EditTokenDialog token={LIMITED} isOpen onClose={() => {}} />));
    await screen.findByRole('textbox', { name: 'Name' });
    await user.click(screen.getByRole('button', { name: 'Save' }));
    await screen.findByText('Enter a period such as 30 days.');
    expect(screen.getByRole('button', { name: /Limits/ }).getAttribute('aria-expanded')).toBe('true');
    expect(screen.getAllByRole('textbox', { name: 'Every' })[1]!.getAttribute('aria-invalid')).toBe('true');
  });
});
