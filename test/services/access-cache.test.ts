import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_MODEL } from '../../src/domain/model.js';
import { AccessCache, MISS } from '../../src/services/access-cache.js';
import type { Stores } from '../../src/store/index.js';
import type { TokenRow } from '../../src/store/tokens.js';

function row(active: number): TokenRow {
  return {
    id: 'tok_1',
    name: 't',
    description: '',
    owner_id: 'usr_1',
    resource_id: null,
    level: 'reader',
    permissions: '[]',
    api_groups: '["native"]',
    expires_at: null,
    active,
    deactivated_by: null,
    impersonate_user_id: null,
    logging: 'none',
    key_prefix: 'kg_x',
    encrypted_key: null,
    created_by: 'usr_1',
    created_at: '2026-01-01T00:00:00.000Z',
    updated_at: '2026-01-01T00:00:00.000Z',
    last_used_at: null,
    last_used_ip: null,
    rate_limit: null,
    rate_window_ms: null,
    rate_per: null,
    credits_remaining: null,
    credits_refill_amount: null,
    credits_refill_interval_ms: null,
    credits_refilled_at: null,
    ip_allowlist: null,
  };
}

/** A store whose token reads are counted and can be held open, to interleave an invalidation. */
function fakeStores() {
  let current = row(1);
  let reads = 0;
  let gate: Promise<void> = Promise.resolve();
  const stores = {
    tokens: {
      async findById() {
        reads++;
        const seen = current;
        await gate;
        return seen;
      },
    },
  } as unknown as Stores;
  return {
    stores,
    reads: () => reads,
    set: (r: TokenRow) => (current = r),
    hold: () => {
      let release!: () => void;
      gate = new Promise((r) => (release = r));
      return () => {
        release();
        gate = Promise.resolve();
      };
    },
  };
}

describe('AccessCache', () => {
  it('serves warm entries without reading the store, and re-reads after the TTL', async () => {
    let now = 0;
    const f = fakeStores();
    const cache = new AccessCache(f.stores, DEFAULT_MODEL, 1000, () => now);
    await cache.token('tok_1');
    await cache.token('tok_1');
    assert.equal(f.reads(), 1);
    now = 1000;
    await cache.token('tok_1');
    assert.equal(f.reads(), 2);
  });

  it('drops an entry on invalidation', async () => {
    const f = fakeStores();
    const cache = new AccessCache(f.stores, DEFAULT_MODEL, 60_000);
    assert.equal((await cache.token('tok_1'))?.facts.active, true);
    f.set(row(0));
    cache.invalidateToken('tok_1');
    assert.equal((await cache.token('tok_1'))?.facts.active, false);
  });

  it('does not keep a value whose load raced an invalidation', async () => {
    const f = fakeStores();
    const cache = new AccessCache(f.stores, DEFAULT_MODEL, 60_000);
    const release = f.hold();
    const loading = cache.token('tok_1'); // reads the active row, then waits
    f.set(row(0));
    cache.invalidateToken('tok_1'); // the deactivation lands while the old row is in flight
    release();
    assert.equal((await loading)?.facts.active, true, 'the in-flight read saw the old row');
    assert.equal((await cache.token('tok_1'))?.facts.active, false, 'but it was not cached over the invalidation');
  });
});

/** A store of one tree (acct > folder), one user and token tok_1 with key hash h1, counting every read. */
function countingStores() {
  const reads = { key: 0, token: 0, user: 0, resource: 0 };
  const keys = new Map<string, { key_hash: string; token_id: string; expires_at: string | null }>([
    ['h1', { key_hash: 'h1', token_id: 'tok_1', expires_at: null }],
  ]);
  const resources = new Map<string, { id: string; parent_id: string | null }>([
    ['res_acct', { id: 'res_acct', parent_id: null }],
    ['res_folder', { id: 'res_folder', parent_id: 'res_acct' }],
  ]);
  const stores = {
    tokens: {
      async findKey(hash: string) {
        reads.key++;
        return keys.get(hash);
      },
      async findById() {
        reads.token++;
        return row(1);
      },
    },
    users: {
      async findById(id: string) {
        reads.user++;
        return { id, active: 1, system_role: 'user' };
      },
    },
    resources: {
      async findById(id: string) {
        reads.resource++;
        return resources.get(id);
      },
      async rolesOf() {
        return new Map();
      },
    },
  } as unknown as Stores;
  return { stores, reads, keys, resources };
}

describe('AccessCache drops what each change touches, and nothing else', () => {
  it('token: the token entry', async () => {
    const f = countingStores();
    const cache = new AccessCache(f.stores, DEFAULT_MODEL, 60_000);
    await cache.token('tok_1');
    await cache.key('h1');
    cache.drop([{ kind: 'token', id: 'tok_1' }]);
    await cache.token('tok_1');
    await cache.key('h1');
    assert.deepEqual([f.reads.token, f.reads.key], [2, 1]);
  });

  it("keys: that token's cached keys, found by token id, and every cached “no such key”", async () => {
    const f = countingStores();
    const cache = new AccessCache(f.stores, DEFAULT_MODEL, 60_000);
    f.keys.set('h2', { key_hash: 'h2', token_id: 'tok_2', expires_at: null });
    assert.equal((await cache.key('h1'))?.expiresAt, null);
    await cache.key('h2');
    assert.equal(await cache.key('h3'), null);
    assert.equal(cache.peekKey('h3'), null, 'the absence is cached');
    // tok_1 is rolled with a grace period, and tok_3 is created with key h3.
    f.keys.set('h1', { key_hash: 'h1', token_id: 'tok_1', expires_at: '2026-01-02T00:00:00.000Z' });
    f.keys.set('h3', { key_hash: 'h3', token_id: 'tok_3', expires_at: null });
    cache.drop([{ kind: 'keys', tokenId: 'tok_1' }]);
    assert.equal(cache.peekKey('h1'), MISS);
    assert.equal(cache.peekKey('h3'), MISS);
    assert.notEqual(cache.peekKey('h2'), MISS, "another token's key stays");
    assert.equal((await cache.key('h1'))?.expiresAt, '2026-01-02T00:00:00.000Z');
    assert.equal((await cache.key('h3'))?.tokenId, 'tok_3');
    assert.equal(f.reads.key, 5);
  });

  it('user and membership: the user entry', async () => {
    const f = countingStores();
    const cache = new AccessCache(f.stores, DEFAULT_MODEL, 60_000);
    await cache.user('usr_1');
    await cache.user('usr_2');
    cache.drop([{ kind: 'user', id: 'usr_1' }]);
    assert.equal(cache.peekUser('usr_1'), MISS);
    cache.drop([{ kind: 'membership', userId: 'usr_2', resourceId: 'res_acct' }]);
    assert.equal(cache.peekUser('usr_2'), MISS);
    await cache.user('usr_1');
    assert.notEqual(cache.peekUser('usr_1'), MISS);
  });

  it('resource: its place in the tree; the ancestries through it are walked again, the same array while unchanged', async () => {
    const f = countingStores();
    const cache = new AccessCache(f.stores, DEFAULT_MODEL, 60_000);
    const before = await cache.ancestry('res_folder');
    assert.deepEqual(before, ['res_folder', 'res_acct']);
    assert.equal(cache.peekAncestry('res_folder'), before);
    cache.drop([{ kind: 'resource', id: 'res_acct' }]);
    assert.equal(cache.peekAncestry('res_folder'), MISS, 'the parent of res_acct must be read again');
    assert.equal(await cache.ancestry('res_folder'), before, 'unchanged: the very same array');
    assert.equal(f.reads.resource, 3);
    f.resources.delete('res_folder');
    cache.drop([{ kind: 'resource', id: 'res_folder' }]);
    assert.equal(await cache.ancestry('res_folder'), null);
  });

  it('tree entries expire after the TTL like the others: a resource deleted elsewhere is gone then', async () => {
    let now = 0;
    const f = countingStores();
    const cache = new AccessCache(f.stores, DEFAULT_MODEL, 1000, () => now);
    await cache.ancestry('res_folder');
    f.resources.delete('res_folder'); // by another process: this one hears nothing
    now = 999;
    assert.deepEqual(cache.peekAncestry('res_folder'), ['res_folder', 'res_acct']);
    now = 1000;
    assert.equal(cache.peekAncestry('res_folder'), MISS);
    assert.equal(await cache.ancestry('res_folder'), null);
    assert.deepEqual(await cache.ancestry('res_acct'), ['res_acct'], 'its parent is still there');
  });

  it('does not keep a key entry whose load raced a change to its keys', async () => {
    const f = countingStores();
    const cache = new AccessCache(f.stores, DEFAULT_MODEL, 60_000);
    const loading = cache.key('h1');
    f.keys.delete('h1');
    cache.drop([{ kind: 'keys', tokenId: 'tok_1' }]);
    assert.equal((await loading)?.tokenId, 'tok_1', 'the in-flight read saw the old key');
    assert.equal(cache.peekKey('h1'), MISS, 'but it was not cached over the change');
    assert.equal(await cache.key('h1'), null);
  });
});
