import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import type { ReactNode } from 'react';
import { MemoryRouter } from 'react-router';
import { beforeEach, describe, expect, it, vi } from 'vitest';

const { GET, PUT } = vi.hoisted(() => ({ GET: vi.fn(), PUT: vi.fn() }));
vi.mock('../src/api/client', async (original) => ({
  ...(await original<typeof import('../src/api/client')>()),
  api: { GET, PUT },
}));

import { ApiError } from '../src/api/client';
import { MemberRoleDialog } from '../src/features/resources/MemberDialogs';
import { ResourceTree } from '../src/features/resources/ResourceTree';

const resource = (id: string, name: string, type = 'folder') => ({
  id,
  name,
  type,
  parentId: null,
  createdAt: '2026-01-01T00:00:00Z',
  updatedAt: '2026-01-01T00:00:00Z',
});
const ok = (data: unknown) => Promise.resolve({ data, response: new Response(null, { status: 200 }) });

function wrap(children: ReactNode) {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  return render(
    <QueryClientProvider client={client}>
      <MemoryRouter>{children}</MemoryRouter>
    </QueryClientProvider>,
  );
}

beforeEach(() => {
  GET.mockReset();
  PUT.mockReset();
});

describe('ResourceTree', () => {
  it('loads children when a resource is opened with the keyboard, and further pages on request', async () => {
    GET.mockImplementation((path: string, init: { params: { path?: { id: string }; query: { cursor?: string } } }) => {
      if (path === '/api/v1.0/resources') return ok({ items: [resource('r1', 'Acme', 'account')], nextCursor: null });
      if (path === '/api/v1.0/model') return ok({ resourceTypes: [], permissions: [], levels: [], apiGroups: [] });
      expect(path).toBe('/api/v1.0/resources/{id}/children');
      expect(init.params.path?.id).toBe('r1');
      return init.params.query.cursor === 'c1'
        ? ok({ items: [resource('r3', 'Second page')], nextCursor: null })
        : ok({ items: [resource('r2', 'First page')], nextCursor: 'c1' });
    });
    const user = userEvent.setup();
    wrap(<ResourceTree />);
    const tree = await screen.findByRole('treegrid', { name: 'Resource tree' });
    const acme = await within(tree).findByRole('row', { name: 'Acme' });
    expect(GET).toHaveBeenCalledTimes(1); // nothing under Acme is asked for until it is opened
    await user.click(within(acme).getByRole('button', { name: /^Open Acme/, hidden: true }));
    await within(tree).findByRole('row', { name: 'First page' });
    expect(acme.getAttribute('aria-expanded')).toBe('true');
    await user.keyboard('{ArrowDown}{ArrowDown}'); // to "Load more"
    await user.keyboard('{Enter}');
    await within(tree).findByRole('row', { name: 'Second page' });
    expect(within(tree).queryByRole('row', { name: 'Load more' })).toBeNull();
  });
});

describe('MemberRoleDialog', () => {
  it('shows UNKNOWN_USER at the email field and sends the address and role', async () => {
    GET.mockImplementation(() =>
      ok({ resourceTypes: [], permissions: [], levels: [{ name: 'reader', permissions: [] }], apiGroups: [] }),
    );
    PUT.mockImplementation(() =>
      Promise.reject(
        new ApiError(400, 'UNKNOWN_USER', 'There is no user nobody@example.com you can add here.', 'userId'),
      ),
    );
    const user = userEvent.setup();
    wrap(<MemberRoleDialog resourceId="r1" isOpen onClose={() => {}} />);
    const dialog = await screen.findByRole('dialog', { name: 'Add a member' });
    await user.type(within(dialog).getByRole('textbox', { name: 'Email address' }), 'nobody@example.com');
    await waitFor(() => expect(within(dialog).getByRole('button', { name: /Reader/ })).toBeTruthy());
    await user.click(within(dialog).getByRole('button', { name: 'Add' }));
    const email = within(dialog).getByRole('textbox', { name: 'Email address' });
    await waitFor(() => expect(email.getAttribute('aria-invalid')).toBe('true'));
    expect(within(dialog).getByText('There is no such user.')).toBeTruthy();
    expect(PUT).toHaveBeenCalledWith('/api/v1.0/resources/{id}/members/{userId}', {
      params: { path: { id: 'r1', userId: 'nobody@example.com' } },
      body: { role: 'reader' },
    });
  });
});
