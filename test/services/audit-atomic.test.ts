import assert from 'node:assert/strict';
import { it } from 'node:test';
import { AuditStore } from '../../src/store/audit.js';
import { asUser } from '../support/client.js';
import { forEachDialect } from '../support/harness.js';

/** Makes the next audit append fail, as a full disk or a lost connection would. */
function failNextAudit(): () => void {
  const original = AuditStore.prototype.append;
  AuditStore.prototype.append = async () => {
    AuditStore.prototype.append = original;
    throw new Error('audit store unavailable');
  };
  return () => {
    AuditStore.prototype.append = original;
  };
}

forEachDialect('a change and its audit record are written together or not at all', (env) => {
  it('token create, update and delete leave nothing behind when their audit record cannot be written', async () => {
    const { kg } = env();
    const admin = await kg.users.create({ email: 'atomic@example.com', systemRole: 'admin' }, 'system');
    const p = await asUser(kg, admin.id);
    const account = await kg.resources.create(p, { type: 'account', name: 'A' }, null);

    let restore = failNextAudit();
    await assert.rejects(kg.tokens.create(p, account.id, { name: 'lost' }, null), /audit store unavailable/);
    restore();
    assert.deepEqual((await kg.tokens.list(p, { limit: 10 })).views, [], 'no token without its audit record');

    const { view, key } = await kg.tokens.create(p, account.id, { name: 'kept' }, null);
    restore = failNextAudit();
    await assert.rejects(kg.tokens.update(p, view.row.id, { name: 'renamed' }, null), /audit store unavailable/);
    restore();
    assert.equal((await kg.stores.tokens.findById(view.row.id))?.name, 'kept', 'the rename was rolled back');

    restore = failNextAudit();
    await assert.rejects(kg.tokens.delete(p, view.row.id, null), /audit store unavailable/);
    restore();
    assert.equal((await kg.access.evaluateKey(key)).code, 'VALID', 'the token was not deleted');

    restore = failNextAudit();
    await assert.rejects(kg.resources.setRole(p, account.id, admin.id, 'reader', null), /audit store unavailable/);
    restore();
    assert.equal((await kg.stores.resources.rolesOf(admin.id)).size, 0, 'no membership without its audit record');
    const actions = (await kg.stores.audit.forTarget('token', view.row.id)).map((e) => e.action);
    assert.deepEqual(actions, ['token.create']);
  });
});
