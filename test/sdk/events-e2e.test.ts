import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, it } from 'node:test';
import { createVerifier, type Verifier } from '../../sdk/src/index.js';
import { asUser, userWithSession } from '../support/client.js';
import { forEachDialect } from '../support/harness.js';
import { noteSecret } from '../support/secret-scan.js';

/** Resolves once `check` holds, looking again every few milliseconds; the test's timeout bounds it. */
async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((resolve) => setTimeout(resolve, 5));
}

forEachDialect('an SDK cache dropped by the live event stream, not by its TTL', (env) => {
  let verifier: Verifier;
  const ids: Record<string, string> = {};
  const keys: Record<string, string> = {};

  before(async () => {
    const { app, kg } = env();
    await app.listen({ port: 0, host: '127.0.0.1' });
    const admin = await asUser(kg, (await userWithSession(app, kg, 'admin')).id);
    const account = await kg.resources.create(admin, { type: 'account', name: 'Events Ltd' }, null);
    const owner = await userWithSession(app, kg, 'user');
    await kg.resources.setRole(admin, account.id, owner.id, 'manager', null);
    const asOwner = await asUser(kg, owner.id);
    ids.owner = owner.id;
    ids.account = account.id;
    const mint = async (name: string, p = asOwner, input: Record<string, unknown> = { level: 'reader' }) => {
      const { view, key } = await kg.tokens.create(p, account.id, { name, ...input }, null);
      noteSecret(key);
      ids[name] = view.row.id;
      keys[name] = key;
    };
    await mint('verifier', admin, { permissions: ['keys:verify'], apiGroups: ['verify'] });
    await mint('deactivated');
    await mint('owner-disabled');
    // A TTL of ten minutes: only an event can make the cache let go within a test.
    verifier = createVerifier({
      baseUrl: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`,
      key: keys.verifier!,
      ttlMs: 600_000,
      negativeTtlMs: 600_000,
    });
    await until(() => verifier.stats.connected);
  });
  after(() => verifier?.close());

  it('refuses a key as soon as its token is deactivated through the API', { timeout: 10_000 }, async () => {
    const { kg } = env();
    assert.equal((await verifier.verify(keys.deactivated!)).code, 'VALID');
    const misses = verifier.stats.misses;
    assert.equal((await verifier.verify(keys.deactivated!)).code, 'VALID');
    assert.equal(verifier.stats.misses, misses, 'the second answer came from the cache');

    const before = verifier.stats.invalidations;
    const admin = await asUser(kg, (await userWithSession(env().app, kg, 'admin')).id);
    await kg.tokens.update(admin, ids.deactivated!, { active: false }, null);
    await until(() => verifier.stats.invalidations > before);
    assert.equal((await verifier.verify(keys.deactivated!)).code, 'DISABLED');
    assert.ok(verifier.stats.connected, 'the stream stayed open: this was the event, not a fallback TTL');
  });

  it('refuses a key as soon as its owner is disabled', { timeout: 10_000 }, async () => {
    const { kg } = env();
    assert.equal((await verifier.verify(keys['owner-disabled']!)).code, 'VALID');
    const before = verifier.stats.invalidations;
    await kg.users.update(
      ids.owner!,
      { active: false },
      await asUser(kg, (await userWithSession(env().app, kg, 'admin')).id),
    );
    await until(() => verifier.stats.invalidations > before);
    assert.equal((await verifier.verify(keys['owner-disabled']!)).code, 'OWNER_DISABLED');
  });

  it('accepts a key created after it was refused as unknown', { timeout: 10_000 }, async () => {
    const { kg } = env();
    const admin = await asUser(kg, (await userWithSession(env().app, kg, 'admin')).id);
    // A chosen key (administrators may), so the test knows it before the token exists.
    const key = `chosen-${kg.keys.generate().slice(3)}`;
    noteSecret(key);
    assert.equal((await verifier.verify(key)).code, 'NOT_FOUND');
    const before = verifier.stats.invalidations;
    const { view } = await kg.tokens.create(admin, ids.account!, { name: 'chosen', key, level: 'reader' }, null);
    assert.ok(view.row.id);
    await until(() => verifier.stats.invalidations > before);
    assert.equal((await verifier.verify(key)).code, 'VALID');
  });

  it('while the server cannot hear other instances the stream ends (the SDK shortens its cache); back, it resets', {
    timeout: 20_000,
  }, async () => {
    const { kg } = env();
    assert.ok(verifier.stats.connected);
    // What the cluster link tells the feed when its channel to the other instances is lost.
    kg.feed.channel('lost');
    await until(() => !verifier.stats.connected);
    assert.equal(kg.events.live, false);
    // Reconnecting is refused (503) until the channel is back; then the stream starts anew: reset.
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(verifier.stats.connected, false, 'refused while the channel is lost');
    const before = verifier.stats.invalidations;
    kg.feed.channel('restored');
    await until(() => verifier.stats.connected && verifier.stats.invalidations > before);
  });
});
