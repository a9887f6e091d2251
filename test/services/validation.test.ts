import assert from 'node:assert/strict';
import { it } from 'node:test';
import { KeygateError } from '../../src/domain/errors.js';
import { firstProblem } from '../../src/domain/validate.js';
import { TokenCreate } from '../../src/schemas.js';
import type { Principal } from '../../src/services/principal.js';
import { asUser, email } from '../support/client.js';
import { forEachDialect } from '../support/harness.js';

/** The services refuse what the API's schemas refuse, whichever door (CLI, console, gateway) the input came through. */
function refused(field: string | undefined, message: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof KeygateError, String(err));
    assert.equal(err.code, 'VALIDATION_FAILED');
    assert.equal(err.field, field);
    assert.match(err.message, message);
    return true;
  };
}

forEachDialect('services validate their input with the API schemas', (env) => {
  let admin: Principal;
  let adminId: string;
  let account: string;
  let tokenId: string;

  it('sets up an administrator, an account and a token', async () => {
    const { kg } = env();
    adminId = (await kg.users.create({ email: email('admin'), systemRole: 'admin' }, 'system')).id;
    admin = await asUser(kg, adminId);
    account = (await kg.resources.create(admin, { type: 'account', name: 'Acme' }, null)).id;
    tokenId = (await kg.tokens.create(admin, account, { name: 'deploy' }, null)).view.row.id;
  });

  it('a token name of 500 characters is refused, and nothing is stored', async () => {
    const { kg } = env();
    await assert.rejects(
      kg.tokens.create(admin, account, { name: 'x'.repeat(500) }, null),
      refused('name', /^name must not have more than 200 characters\.$/),
    );
    await assert.rejects(
      kg.tokens.update(admin, tokenId, { name: 'x'.repeat(500) }, null),
      refused('name', /200 characters/),
    );
    const { views } = await kg.tokens.list(admin, { owner: '*', limit: 100 });
    assert.deepEqual(
      views.map((v) => v.row.name),
      ['deploy'],
    );
  });

  it('an unknown logging mode is refused', async () => {
    const { kg } = env();
    const logging = 'everything' as 'none';
    await assert.rejects(
      kg.tokens.create(admin, account, { name: 'logger', logging }, null),
      refused('logging', /^logging must be one of none, request, request\+response\.$/),
    );
    await assert.rejects(kg.tokens.update(admin, tokenId, { logging }, null), refused('logging', /one of/));
    assert.equal((await kg.tokens.get(admin, tokenId)).row.logging, 'none');
  });

  it('other token fields keep the API limits: permission names, expiry times, unknown fields', async () => {
    const { kg } = env();
    await assert.rejects(
      kg.tokens.create(admin, account, { name: 't', permissions: ['resources:read', 'BAD'] }, null),
      refused('permissions.1', /must match pattern/),
    );
    await assert.rejects(
      kg.tokens.create(admin, account, { name: 't', expiresAt: 'soon' }, null),
      refused('expiresAt', /date-time/),
    );
    const extra = { name: 't', owner: adminId } as unknown as { name: string };
    await assert.rejects(kg.tokens.create(admin, account, extra, null), refused('owner', /not a known field/));
    await assert.rejects(
      kg.tokens.update(admin, tokenId, {}, null),
      refused(undefined, /^the input must not have fewer than 1 properties\.$/),
    );
  });

  it('token lists and rolls too: states, limits and grace periods the API would refuse', async () => {
    const { kg } = env();
    const state = 'everything' as 'active';
    await assert.rejects(kg.tokens.list(admin, { state, limit: 10 }), refused('state', /one of/));
    await assert.rejects(kg.tokens.list(admin, { limit: 100_000 }), refused('limit', /500/));
    await assert.rejects(kg.tokens.listForResource(admin, account, { limit: 0 }), refused('limit', /1/));
    const before = (await kg.tokens.get(admin, tokenId)).row.key_prefix;
    await assert.rejects(kg.tokens.roll(admin, tokenId, -5, null), refused('graceSeconds', /0/));
    await assert.rejects(kg.tokens.roll(admin, tokenId, 365 * 86_400, null), refused('graceSeconds', /2592000/));
    assert.equal((await kg.tokens.get(admin, tokenId)).row.key_prefix, before, 'nothing was rolled');
  });

  it('users, resources and memberships too', async () => {
    const { kg } = env();
    await assert.rejects(kg.users.create({ email: 'not-an-email' }, admin), refused('email', /format "email"/));
    await assert.rejects(kg.users.create({ email: email(), password: 'short' }, admin), refused('password', /12/));
    await assert.rejects(kg.users.update(adminId, { name: '' }, admin), refused('name', /at least|fewer than 1/));
    await assert.rejects(
      kg.resources.create(admin, { type: 'folder', name: '   ', parentId: account }, null),
      refused('name', /pattern/),
    );
    await assert.rejects(kg.resources.rename(admin, account, 'y'.repeat(201), null), refused('name', /200/));
    await assert.rejects(
      kg.resources.setRole(admin, account, adminId, 'r'.repeat(65), null),
      refused('role', /64 characters/),
    );
    await assert.rejects(kg.resources.removeRole(admin, account, '', null), refused('userId', /at least|fewer/));
  });
});

it('names a union by its branches and a missing field by its name', () => {
  assert.deepEqual(firstProblem(TokenCreate, {}), { field: 'name', message: 'is required' });
  assert.deepEqual(firstProblem(TokenCreate, { name: 'n', impersonate: 3 }), {
    field: 'impersonate',
    message: 'must be either string or null',
  });
  assert.equal(firstProblem(TokenCreate, { name: 'n', expiresAt: null }), null);
});
