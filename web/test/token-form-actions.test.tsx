import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import type { ReactNode } from 'react';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { Token } from '../src/api/client';

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

const { RollTokenDialog } = await import('../src/features/token-actions/RollTokenDialog');
const { DeleteTokenDialog } = await import('../src/features/token-actions/DeleteTokenDialog');
const { RevealKeyDialog } = await import('../src/features/token-actions/RevealKeyDialog');
const { EditTokenDialog } = await import('../src/features/token-form/EditTokenDialog');

const MODEL = {
  resourceTypes: [],
  permissions: [
    { name: 'resources:read', description: 'See it.' },
    { name: 'resources:write', description: 'Change it.' },
  ],
  levels: [
    { name: 'reader', permissions: ['resources:read'] },
    { name: 'manager', permissions: ['resources:read', 'resources:write'] },
  ],
  apiGroups: [{ name: 'native', description: 'Everything.' }],
  policy: {
    expiresIn: ['30d', '90d'],
    maxLifetimeDays: 90,
    recoverableKeys: false,
    customKeys: { allowed: true, minLength: 24 },
    logging: ['none', 'request'],
  },
};

const TOKEN = { id: 'tok_1', name: 'CI deploy', resourceId: 'res_1', recoverable: true } as Token;

function wrap(children: ReactNode) {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  return <QueryClientProvider client={client}>{children}</QueryClientProvider>;
}

beforeEach(() => {
  calls.log.length = 0;
  calls.answer = {};
});

describe('rolling a key', () => {
  it('sends the grace picked and shows the new key once, saying until when the old one works', async () => {
    const user = userEvent.setup();
    calls.answer['POST /api/v1.0/tokens/{id}/roll'] = {
      status: 200,
      body: { ...TOKEN, key: 'kg_new_key_value_123456789' },
    };
    render(wrap(<RollTokenDialog token={TOKEN} isOpen onClose={() => {}} />));
    expect(screen.getAllByRole('radio').map((r) => r.getAttribute('value'))).toEqual([
      '0',
      '60',
      '900',
      '3600',
      '86400',
    ]);
    await user.click(screen.getByRole('radio', { name: '15 minutes' }));
    await user.click(screen.getByRole('button', { name: 'Roll key' }));
    await screen.findByText('kg_new_key_value_123456789');
    expect(calls.log[0]?.init).toMatchObject({ params: { path: { id: 'tok_1' } }, body: { graceSeconds: 900 } });
    expect(screen.getByText(/The old key keeps working until/)).toBeTruthy();
    expect(screen.getByText(/It will not be shown again/)).toBeTruthy();
  });
});

describe('deleting a token', () => {
  it('names the token, deletes it on confirmation, then closes', async () => {
    const user = userEvent.setup();
    const onClose = vi.fn();
    calls.answer['DELETE /api/v1.0/tokens/{id}'] = { status: 204 };
    render(wrap(<DeleteTokenDialog token={TOKEN} isOpen onClose={onClose} />));
    expect(screen.getByText(/Delete the token “CI deploy”\?/)).toBeTruthy();
    await user.click(screen.getByRole('button', { name: 'Delete' }));
    await waitFor(() => expect(onClose).toHaveBeenCalled());
    expect(calls.log.map((c) => c.method)).toEqual(['DELETE']);
  });
});

describe('revealing a key', () => {
  it('says clearly when the key cannot be shown again', async () => {
    const user = userEvent.setup();
    calls.answer['GET /api/v1.0/tokens/{id}/key'] = {
      status: 404,
      body: { error: { code: 'KEY_NOT_RECOVERABLE', message: 'not recoverable', requestId: 'r' } },
    };
    render(wrap(<RevealKeyDialog token={TOKEN} isOpen onClose={() => {}} />));
    await user.click(screen.getByRole('button', { name: 'Show key' }));
    await screen.findByText(/This key cannot be shown again/);
  });

  it('does not offer to show a key that is not recoverable', () => {
    render(wrap(<RevealKeyDialog token={{ ...TOKEN, recoverable: false }} isOpen onClose={() => {}} />));
    expect(screen.queryByRole('button', { name: 'Show key' })).toBeNull();
    expect(screen.getByText(/This key cannot be shown again/)).toBeTruthy();
  });
});

describe('editing a token', () => {
  it('starts from the token, keeps its expiry unless changed, and sends what the form holds', async () => {
    const user = userEvent.setup();
    const onClose = vi.fn();
    calls.answer['GET /api/v1.0/model'] = { status: 200, body: MODEL };
    calls.answer['PATCH /api/v1.0/tokens/{id}'] = { status: 200, body: TOKEN };
    const token = {
      ...TOKEN,
      description: '',
      level: 'reader',
      permissions: ['resources:read'],
      apiGroups: ['native'],
      expiresAt: null,
      logging: 'none',
    } as Token;
    render(wrap(<EditTokenDialog token={token} isOpen onClose={onClose} />));
    const name = await screen.findByRole('textbox', { name: 'Name' });
    expect((name as HTMLInputElement).value).toBe('CI deploy');
    expect(screen.queryByRole('radio', { name: 'Never' })).toBeNull(); // the policy has a maximum
    await user.clear(name);
    await user.type(name, 'CI release');
    await user.click(screen.getByRole('radio', { name: /Requests/ }));
    await user.click(screen.getByRole('button', { name: 'Save' }));
    await waitFor(() => expect(onClose).toHaveBeenCalled());
    const patch = calls.log.find((c) => c.method === 'PATCH')?.init as { body: Record<string, unknown> };
    expect(patch.body).toEqual({
      name: 'CI release',
      description: '',
      level: 'reader',
      apiGroups: ['native'],
      logging: 'request',
    });
  });

  it('shows a refusal next to the field the API names', async () => {
    const user = userEvent.setup();
    calls.answer['GET /api/v1.0/model'] = { status: 200, body: MODEL };
    calls.answer['PATCH /api/v1.0/tokens/{id}'] = {
      status: 400,
      body: { error: { code: 'VALIDATION_FAILED', message: 'bad', field: 'name', requestId: 'r' } },
    };
    const token = {
      ...TOKEN,
      description: '',
      level: 'reader',
      permissions: [],
      apiGroups: ['native'],
      expiresAt: null,
      logging: 'none',
    } as Token;
    render(wrap(<EditTokenDialog token={token} isOpen onClose={() => {}} />));
    await screen.findByRole('textbox', { name: 'Name' });
    await user.click(screen.getByRole('button', { name: 'Save' }));
    await screen.findByText('This value is not valid.');
    expect(screen.getByRole('textbox', { name: 'Name' }).getAttribute('aria-invalid')).toBe('true');
  });
});
