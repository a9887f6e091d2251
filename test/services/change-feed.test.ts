import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { KeygateError } from '../../src/domain/errors.js';
import { newId } from '../../src/domain/ids.js';
import { type Change, ChangeFeed } from '../../src/services/change-feed.js';
import { AuditStore } from '../../src/store/audit.js';
import { asUser } from '../support/client.js';
import { forEachDialect } from '../support/harness.js';

describe('ChangeFeed', () => {
  it('gives every listener the published values, until it unsubscribes', () => {
    const feed = new ChangeFeed();
    const heard: (readonly Change[])[] = [];
    const stop = feed.subscribe((changes) => heard.push(changes));
    feed.publish([
      { kind: 'token', id: 'tok_1' },
      { kind: 'membership', userId: 'usr_1', resourceId: 'res_1' },
    ]);
    feed.publish([]);
    stop();
    feed.publish([{ kind: 'user', id: 'usr_1' }]);
    assert.deepEqual(heard, [
      [
        { kind: 'token', id: 'tok_1' },
        { kind: 'membership', userId: 'usr_1', resourceId: 'res_1' },
      ],
    ]);
  });

  it('keeps telling the other listeners when one throws, and reports the failure', () => {
    const failures: unknown[] = [];
    const feed = new ChangeFeed((err) => failures.push(err));
    let heard = 0;
    feed.subscribe(() => {
      throw new Error('listener broke');
    });
    feed.subscribe(() => heard++);
    feed.publish([{ kind: 'resource', id: 'res_1' }]);
    assert.equal(heard, 1);
    assert.equal(failures.length, 1);
  });
});

forEachDialect('stores publish a transaction’s changes once, on commit', (env) => {
  /** Everything the keygate publishes while `fn` runs. */
  async function published(fn: () => Promise<unknown>): Promise<Change[][]> {
    const out: Change[][] = [];
    const stop = env().kg.feed.subscribe((changes) => out.push([...changes]));
    try {
      await fn();
    } finally {
      stop();
    }
    return out;
  }

  it('publishes after the commit, once, with the changes of nested transactions too', async () => {
    const { kg } = env();
    let seenInside = 0;
    const stop = kg.feed.subscribe(() => seenInside++);
    const batches = await published(() =>
      kg.stores.transaction(async (tx) => {
        tx.changes.push({ kind: 'user', id: 'usr_a' });
        await tx.transaction(async (inner) => {
          inner.changes.push({ kind: 'user', id: 'usr_b' });
        });
        assert.equal(seenInside, 0, 'nothing is published before the commit');
      }),
    );
    stop();
    assert.deepEqual(batches, [
      [
        { kind: 'user', id: 'usr_a' },
        { kind: 'user', id: 'usr_b' },
      ],
    ]);
  });

  it('publishes nothing when the transaction rolls back', async () => {
    const { kg } = env();
    const batches = await published(() =>
      assert.rejects(
        kg.stores.transaction(async (tx) => {
          tx.changes.push({ kind: 'token', id: 'tok_a' });
          await tx.transaction(async (inner) => {
            inner.changes.push({ kind: 'token', id: 'tok_b' });
          });
          throw new Error('rolled back');
        }),
        /rolled back/,
      ),
    );
    assert.deepEqual(batches, []);
  });

  it('a write that refers to a missing row fails as NOT_FOUND and publishes nothing', async () => {
    const { kg } = env();
    const admin = await kg.users.create({ email: 'fk@example.com' }, 'system');
    const batches = await published(() =>
      assert.rejects(
        kg.stores.transaction(async (tx) => {
          tx.changes.push({ kind: 'membership', userId: admin.id, resourceId: 'res_gone' });
          await tx.resources.setMembership(newId('res'), admin.id, 'reader', new Date().toISOString());
        }),
        (err: unknown) => err instanceof KeygateError && err.code === 'NOT_FOUND',
      ),
    );
    assert.deepEqual(batches, []);
  });

  it('services publish ids of what they changed, never a key or its hash', async () => {
    const { kg } = env();
    const admin = await kg.users.create({ email: 'feed-admin@example.com', systemRole: 'admin' }, 'system');
    const person = await kg.users.create({ email: 'feed-person@example.com' }, 'system');
    const p = await asUser(kg, admin.id);
    const account = await kg.resources.create(p, { type: 'account', name: 'A' }, null);
    const keys: string[] = [];
    let tokenId = '';
    let folderId = '';
    const batches = await published(async () => {
      const folder = await kg.resources.create(p, { type: 'folder', name: 'F', parentId: account.id }, null);
      folderId = folder.id;
      const created = await kg.tokens.create(p, folder.id, { name: 't' }, null);
      tokenId = created.view.row.id;
      keys.push(created.key);
      await kg.tokens.setActive(p, tokenId, false, null);
      keys.push((await kg.tokens.roll(p, tokenId, 0, null)).key);
      await kg.resources.setRole(p, folder.id, person.id, 'reader', null);
      await kg.resources.removeRole(p, folder.id, person.id, null);
      await kg.resources.setRole(p, folder.id, person.id, 'manager', null);
      await kg.users.update(person.id, { active: false }, p);
      await kg.resources.delete(p, folder.id, null);
    });
    assert.deepEqual(batches, [
      [{ kind: 'resource', id: folderId }],
      [
        { kind: 'token', id: tokenId },
        { kind: 'keys', tokenId },
      ],
      [{ kind: 'token', id: tokenId }],
      [
        { kind: 'token', id: tokenId },
        { kind: 'keys', tokenId },
      ],
      [{ kind: 'membership', userId: person.id, resourceId: folderId }],
      [{ kind: 'membership', userId: person.id, resourceId: folderId }],
      [{ kind: 'membership', userId: person.id, resourceId: folderId }],
      [{ kind: 'user', id: person.id }],
      [
        { kind: 'token', id: tokenId },
        { kind: 'keys', tokenId },
        { kind: 'resource', id: folderId },
        { kind: 'membership', userId: person.id, resourceId: folderId },
      ],
    ]);
    const wire = JSON.stringify(batches);
    assert.deepEqual(JSON.parse(wire), batches, 'plain JSON values');
    for (const key of keys) {
      assert.ok(!wire.includes(key), 'no key');
      assert.ok(!wire.includes(kg.keys.hash(key)), 'no key hash');
      assert.ok(!wire.includes(createHash('sha256').update(key).digest('hex')), 'no plain SHA-256 of a key');
    }
  });

  it('a service change whose audit record cannot be written is rolled back and publishes nothing', async () => {
    const { kg } = env();
    const admin = await kg.users.create({ email: 'feed-rollback@example.com', systemRole: 'admin' }, 'system');
    const p = await asUser(kg, admin.id);
    const account = await kg.resources.create(p, { type: 'account', name: 'R' }, null);
    const { view } = await kg.tokens.create(p, account.id, { name: 'kept' }, null);
    const original = AuditStore.prototype.append;
    AuditStore.prototype.append = async () => {
      throw new Error('audit store unavailable');
    };
    try {
      const batches = await published(async () => {
        await assert.rejects(kg.tokens.delete(p, view.row.id, null), /audit store unavailable/);
        await assert.rejects(kg.resources.delete(p, account.id, null), /audit store unavailable/);
        await assert.rejects(kg.users.update(admin.id, { active: false }, p), /audit store unavailable/);
      });
      assert.deepEqual(batches, []);
    } finally {
      AuditStore.prototype.append = original;
    }
  });
});
