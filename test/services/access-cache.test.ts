import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_MODEL } from '../../src/domain/model.js';
import { AccessCache } from '../../src/services/access-cache.js';
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
