import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { useState } from 'react';
import { describe, expect, it } from 'vitest';
import { accessOf, expiryChoices, gridAreas, withAccess } from '../src/features/token-form/access';
import { ExpiryField, PermissionPicker } from '../src/features/token-form/fields';

const PERMISSIONS = [
  'resources:read',
  'resources:write',
  'resources:delete',
  'members:read',
  'members:manage',
  'tokens:create',
  'tokens:read',
  'tokens:manage',
  'logs:read',
  'keys:verify',
].map((name) => ({ name, description: `Allows ${name}.` }));

function Picker({ initial, seen }: { initial: string[]; seen: string[][] }) {
  const [value, setValue] = useState(initial);
  return (
    <PermissionPicker
      model={{ permissions: PERMISSIONS }}
      value={value}
      onChange={(v) => {
        seen.push(v);
        setValue(v);
      }}
    />
  );
}

describe('the permission grid', () => {
  it('has a row per area with read or write/manage, each offering only what exists', () => {
    expect(gridAreas(PERMISSIONS.map((p) => p.name))).toEqual([
      { area: 'resources', read: 'resources:read', write: 'resources:write' },
      { area: 'members', read: 'members:read', write: 'members:manage' },
      { area: 'tokens', read: 'tokens:read', write: 'tokens:manage' },
      { area: 'logs', read: 'logs:read', write: undefined },
    ]);
  });

  it('maps none/read/write to permissions and back, leaving the others alone', () => {
    const row = { area: 'members', read: 'members:read', write: 'members:manage' };
    expect(withAccess(row, ['keys:verify'], 'write').sort()).toEqual(['keys:verify', 'members:manage', 'members:read']);
    expect(withAccess(row, ['members:read', 'members:manage', 'keys:verify'], 'none')).toEqual(['keys:verify']);
    expect(accessOf(row, ['members:read'])).toBe('read');
    expect(accessOf(row, ['members:manage'])).toBe('write');
    expect(accessOf(row, [])).toBe('none');
  });

  it('keeps the grid and the checkbox list in step', async () => {
    const user = userEvent.setup();
    const seen: string[][] = [];
    render(<Picker initial={['resources:read']} seen={seen} />);
    const members = screen.getByRole('radiogroup', { name: 'Members' });
    await user.click(members.querySelectorAll('input')[2] as HTMLElement); // write
    expect(seen.at(-1)?.sort()).toEqual(['members:manage', 'members:read', 'resources:read']);
    expect((screen.getByRole('checkbox', { name: /members:manage/ }) as HTMLInputElement).checked).toBe(true);
    await user.click(screen.getByRole('checkbox', { name: /resources:read/ }));
    expect(seen.at(-1)?.sort()).toEqual(['members:manage', 'members:read']);
    const resources = screen.getByRole('radiogroup', { name: 'Resources' });
    expect((resources.querySelector('input[value="none"]') as HTMLInputElement).checked).toBe(true);
    // Logs has no write permission: the grid offers none and read only.
    expect(screen.getByRole('radiogroup', { name: 'Access logs' }).querySelectorAll('input')).toHaveLength(2);
  });
});

/** The expiry field under a policy with a 100-day maximum and two presets. */
function Expiry() {
  const [value, setValue] = useState<'30d' | 'date' | '90d'>('30d');
  return (
    <ExpiryField
      policy={{ expiresIn: ['30d', '90d'], maxLifetimeDays: 100 }}
      value={value}
      date={null}
      onChange={(p) => p.expiry && setValue(p.expiry as '30d' | 'date')}
    />
  );
}

describe('the expiry picker', () => {
  it('offers only the presets the policy allows, and a date', () => {
    expect(expiryChoices({ expiresIn: ['30d', '90d', '1y', '2y', 'never'], maxLifetimeDays: null })).toEqual([
      '30d',
      '90d',
      '1y',
      '2y',
      'never',
      'date',
    ]);
    expect(expiryChoices({ expiresIn: ['30d', '90d'], maxLifetimeDays: 100 })).toEqual(['30d', '90d', 'date']);
  });

  it('shows those choices, the maximum, and a date picker for "a date"', async () => {
    const user = userEvent.setup();
    render(<Expiry />);
    const radios = screen.getAllByRole('radio').map((r) => r.getAttribute('value'));
    expect(radios).toEqual(['30d', '90d', 'date']);
    expect(screen.queryByRole('radio', { name: 'Never' })).toBeNull();
    expect(screen.getByText('Tokens may live at most 100 days here.')).toBeTruthy();
    expect(screen.queryByText('Expires on')).toBeNull();
    await user.click(screen.getByRole('radio', { name: 'A date…' }));
    expect(screen.getByText('Expires on')).toBeTruthy();
  });
});
