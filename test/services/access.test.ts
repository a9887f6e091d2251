import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Access } from '../../src/services/access.js';
import { asUser } from '../support/client.js';
import { createTestEnv, type TestEnv } from '../support/harness.js';

describe('Access: remembered verdicts never outlive what they were decided on [sqlite only]', () => {
  let env: TestEnv & { dispose(): Promise<void> };
  let now = Date.parse('2026-11-24T12:00:00Z');
  let access: Access;
  let key: string;
  let tokenId: string;
  let ownerId: string;

  before(async () => {
    env = await createTestEnv(undefined);
    const { kg } = env;
    access = new Access(kg.config.model, kg.cache, kg.keys, () => new Date(now));
    const admin = await kg.users.create({ email: 'owner@example.com', systemRole: 'admin' }, 'system');
    ownerId = admin.id;
    const p = await asUser(kg, admin.id);
    const account = await kg.resources.create(p, { type: 'account', name: 'A' }, null);
    const created = await kg.tokens.create(
      p,
      account.id,
      { name: 't', level: 'manager', expiresAt: new Date(Date.now() + 3_600_000).toISOString() },
      null,
    );
    key = created.key;
    tokenId = created.view.row.id;
    now = Date.now();
  });
  after(() => env.dispose());

  async function code(): Promise<string> {
    return (await access.evaluateKey(key)).code;
  }

  it('answers the same VALID verdict object while nothing changed', async () => {
    assert.equal(await code(), 'VALID');
    const first = await access.evaluateKey(key);
    const second = await access.evaluateKey(key);
    assert.equal(first, second, 'remembered');
  });

  it("stops at the token's expiry even though nothing was invalidated", async () => {
    const row = await env.kg.stores.tokens.findById(tokenId);
    now = Date.parse(row!.expires_at!) + 1;
    assert.equal(await code(), 'EXPIRED');
    now = Date.now();
    assert.equal(await code(), 'VALID');
  });

  it("follows a deactivation and an owner's deactivation at once", async () => {
    const p = await asUser(env.kg, ownerId);
    await env.kg.tokens.setActive(p, tokenId, false, null);
    assert.equal(await code(), 'DISABLED');
    await env.kg.tokens.setActive(p, tokenId, true, null);
    assert.equal(await code(), 'VALID');
    await env.kg.stores.users.update(ownerId, { active: 0 });
    env.kg.cache.invalidateUser(ownerId);
    assert.equal(await code(), 'OWNER_DISABLED');
  });
});
