import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  apiSession,
  assertAccessible,
  browserPresent,
  type ConsoleRig,
  openConsole,
  screenshot,
  signIn,
  startConsoleRig,
} from '../support/console.js';

const ALICE = { email: 'alice@example.com', name: 'Alice Tokens', password: 'alice-has-a-long-password' };
const DAY = 24 * 3600e3;

interface TokenAnswer {
  id: string;
  name: string;
  state: string;
  key: string;
}

const words = {
  en: {
    myTokens: 'My API tokens',
    expiresSoon: 'Expires soon',
    custom: 'custom',
    deactivate: 'Deactivate',
    activate: 'Activate',
    deactivated: 'is deactivated.',
    activeAgain: 'is active again.',
    inactive: 'Inactive',
    active: 'Active',
    permissions: 'Permissions',
    adminTitle: 'API keys and access logs',
    owner: 'Owner',
    allStates: 'All states',
    bulk: 'Deactivate 2 selected tokens',
    bulkDone: '2 tokens deactivated.',
    loadMore: 'Load more',
    shown: (n: string) => `${n} tokens shown`,
    history: 'History',
    refused: 'You are not allowed to do this.',
  },
  nl: {
    myTokens: 'Mijn API tokens',
    expiresSoon: 'Verloopt binnenkort',
    custom: 'aangepast',
    deactivate: 'Deactiveren',
    activate: 'Activeren',
    deactivated: 'is gedeactiveerd.',
    activeAgain: 'is weer actief.',
    inactive: 'Inactief',
    active: 'Actief',
    permissions: 'Rechten',
    adminTitle: 'API-sleutels en toegangslogboeken',
    owner: 'Eigenaar',
    allStates: 'Alle statussen',
    bulk: '2 geselecteerde tokens deactiveren',
    bulkDone: '2 tokens gedeactiveerd.',
    loadMore: 'Load more',
    shown: (n: string) => `${n} tokens getoond`,
    history: 'Geschiedenis',
    refused: 'U mag dit niet doen.',
  },
} as const;

if (browserPresent()) {
  describe('the console: my API tokens, a token page, and the administrators’ token list [chromium]', () => {
    let rig: ConsoleRig;
    let admin: Awaited<ReturnType<typeof apiSession>>;
    let alice: Awaited<ReturnType<typeof apiSession>>;
    let acme: string;
    let payments: string;

    before(async () => {
      rig = await startConsoleRig();
      admin = await apiSession(rig);
      const user = await admin<{ id: string }>('POST', '/users', ALICE);
      acme = (await admin<{ id: string }>('POST', '/resources', { type: 'account', name: 'Acme' })).id;
      payments = (
        await admin<{ id: string }>('POST', '/resources', { type: 'folder', name: 'Payments', parentId: acme })
      ).id;
      await admin('PUT', `/resources/${acme}/members/${user.id}`, { role: 'manager' });
      alice = await apiSession(rig, ALICE.email, ALICE.password);
      // A token of the administrator's own, so the admin list has someone else's to filter away.
      await admin('POST', `/resources/${acme}/tokens`, { name: 'admin-own', level: 'reader', expiresIn: '1y' });
    });
    after(async () => {
      await rig?.close();
    });

    /** Alice's tokens for one test (names end in `tag`): a reader on Payments, a manager expiring in 3 days, a custom one. */
    async function seedAlice(tag: string) {
      const deploy = await alice<TokenAnswer>('POST', `/resources/${payments}/tokens`, {
        name: `ci-deploy-${tag}`,
        description: 'Deploys from CI',
        level: 'reader',
        expiresIn: '90d',
        logging: 'request',
      });
      const soon = await alice<TokenAnswer>('POST', `/resources/${acme}/tokens`, {
        name: `soon-${tag}`,
        level: 'manager',
        expiresAt: new Date(Date.now() + 3 * DAY).toISOString(),
      });
      const custom = await alice<TokenAnswer>('POST', `/resources/${acme}/tokens`, {
        name: `custom-${tag}`,
        permissions: ['resources:read', 'logs:read'],
        expiresIn: '1y',
      });
      // One use of the deploy key, written through the access log, gives its row a sparkline.
      const used = await fetch(`${rig.url}/api/v1.0/resources/${payments}`, {
        headers: { authorization: `Bearer ${deploy.key}` },
      });
      assert.equal(used.status, 200);
      await rig.server.keygate.accessLog.flush();
      return { deploy, soon, custom };
    }

    for (const language of ['en', 'nl'] as const) {
      const w = words[language];

      it(`lists my tokens, opens one, deactivates and activates it (${language})`, async () => {
        const tag = `${language}-mine`;
        const { deploy } = await seedAlice(tag);
        const { page, context, problems } = await openConsole(rig, language);
        await signIn(page, ALICE.email, ALICE.password);
        await page.getByRole('link', { name: w.myTokens }).click();
        await page.getByRole('heading', { level: 1, name: w.myTokens }).waitFor();

        const deployRow = page.getByRole('row').filter({ hasText: `ci-deploy-${tag}` });
        await deployRow.getByText('Acme / Payments').waitFor();
        await deployRow.getByText('reader').waitFor();
        await deployRow.getByRole('img', { name: /1 / }).waitFor(); // "1 request in the last 14 days"
        const soonRow = page.getByRole('row').filter({ hasText: `soon-${tag}` });
        await soonRow.getByText('Acme', { exact: true }).waitFor();
        await soonRow.locator('[data-expiry="soon"]').getByText(w.expiresSoon, { exact: false }).waitFor();
        const customRow = page.getByRole('row').filter({ hasText: `custom-${tag}` });
        await customRow.getByText(w.custom, { exact: true }).waitFor();
        // Alice sees her own tokens only.
        assert.equal(await page.getByRole('row').filter({ hasText: 'admin-own' }).count(), 0);
        await assertAccessible(page, `my tokens (${language})`);
        await screenshot(page, `my-tokens-${language}`);

        await deployRow.getByText(`ci-deploy-${tag}`).click();
        await page.waitForURL(new RegExp(`/tokens/${deploy.id}$`));
        await page.getByRole('heading', { level: 1, name: `ci-deploy-${tag}` }).waitFor();
        const permissions = page.getByRole('list', { name: w.permissions });
        await permissions.getByText('resources:read').waitFor();
        await permissions.getByText('See the resource and everything under it.', { exact: false }).waitFor();
        await page.getByText('Acme / Payments').first().waitFor();
        await assertAccessible(page, `token page (${language})`);
        await screenshot(page, `token-page-${language}`);
        // The key is never on the page, only its prefix.
        assert.equal((await page.content()).includes(deploy.key), false);

        await page.getByRole('button', { name: w.deactivate, exact: true }).click();
        await page.getByRole('status').filter({ hasText: w.deactivated }).waitFor();
        await page.locator('.page-header .badge').filter({ hasText: w.inactive }).waitFor();
        assert.equal((await alice<TokenAnswer>('GET', `/tokens/${deploy.id}`)).state, 'inactive');
        await page.getByRole('button', { name: w.activate, exact: true }).click();
        await page.getByRole('status').filter({ hasText: w.activeAgain }).waitFor();
        await page.locator('.page-header .badge').filter({ hasText: w.active }).waitFor();
        assert.equal((await alice<TokenAnswer>('GET', `/tokens/${deploy.id}`)).state, 'active');

        await page.getByRole('tab', { name: w.history }).click();
        await page.getByRole('tabpanel').waitFor();
        assert.deepEqual(problems, []);
        await context.close();
      });

      it(`filters every user's tokens by owner and state and deactivates two at once (${language})`, async () => {
        const tag = `${language}-all`;
        const { deploy, custom } = await seedAlice(tag);
        const { page, context, problems } = await openConsole(rig, language);
        await signIn(page);
        await page.goto('/admin/tokens');
        await page.getByRole('heading', { level: 2, name: w.adminTitle }).waitFor();
        await page.getByRole('row').filter({ hasText: 'admin-own' }).waitFor();

        await page.getByRole('combobox', { name: w.owner }).fill('alice');
        await page.getByRole('option', { name: /alice@example\.com/ }).click();
        await page.getByRole('row').filter({ hasText: 'admin-own' }).waitFor({ state: 'detached' });
        await page
          .getByRole('row')
          .filter({ hasText: `ci-deploy-${tag}` })
          .waitFor();

        await page.getByRole('button', { name: w.allStates }).click();
        await page.getByRole('option', { name: w.active, exact: true }).click();
        await page
          .getByRole('row')
          .filter({ hasText: `custom-${tag}` })
          .waitFor();
        await assertAccessible(page, `admin tokens (${language})`);

        for (const name of [`ci-deploy-${tag}`, `custom-${tag}`])
          await page.getByRole('row').filter({ hasText: name }).locator('label.checkbox').click();
        await page.getByRole('button', { name: w.bulk }).click();
        await page.getByRole('status').filter({ hasText: w.bulkDone }).waitFor();
        for (const id of [deploy.id, custom.id])
          assert.equal((await admin<TokenAnswer>('GET', `/tokens/${id}`)).state, 'inactive');
        // Filtered by "active", the two are gone from the list.
        await page
          .getByRole('row')
          .filter({ hasText: `custom-${tag}` })
          .waitFor({ state: 'detached' });
        await screenshot(page, `admin-tokens-${language}`);
        assert.deepEqual(problems, []);
        await context.close();

        // Deactivated by an administrator, the owner (a manager, without tokens:manage) cannot switch it
        // back on: the page says so and the token stays off.
        const owner = await openConsole(rig, language);
        await signIn(owner.page, ALICE.email, ALICE.password);
        await owner.page.goto(`/tokens/${deploy.id}`);
        await owner.page.getByRole('button', { name: w.activate, exact: true }).click();
        await owner.page.getByRole('alert').filter({ hasText: w.refused }).waitFor();
        assert.equal((await alice<TokenAnswer>('GET', `/tokens/${deploy.id}`)).state, 'inactive');
        assert.deepEqual(owner.problems, []);
        await owner.context.close();
      });
    }
  });

  describe('the console: a list of many tokens pages [chromium]', () => {
    let rig: ConsoleRig;
    const COUNT = 10_000;

    before(async () => {
      rig = await startConsoleRig();
      const admin = await apiSession(rig);
      const me = await admin<{ user: { id: string } }>('GET', '/me');
      const resource = await admin<{ id: string }>('POST', '/resources', { type: 'account', name: 'Bulk' });
      // Through the token service itself: the same checks and audit as the API, without HTTP per token.
      const principal = {
        kind: 'user' as const,
        user: { id: me.user.id, active: true, systemRole: 'admin' as const, roles: new Map<string, string>() },
      };
      const started = performance.now();
      const BATCH = 200;
      for (let i = 0; i < COUNT; i += BATCH)
        await Promise.all(
          Array.from({ length: Math.min(BATCH, COUNT - i) }, (_, j) =>
            rig.server.keygate.tokens.create(
              principal,
              resource.id,
              { name: `bulk-${String(i + j).padStart(5, '0')}`, level: 'reader', expiresIn: '1y' },
              null,
            ),
          ),
        );
      console.error(`# seeded ${COUNT} tokens in ${Math.round(performance.now() - started)} ms`);
    });
    after(async () => {
      await rig?.close();
    });

    it('shows the first page, loads more on demand, and keeps the DOM small', async () => {
      const w = words.en;
      const { page, context, problems } = await openConsole(rig, 'en');
      await signIn(page);
      await page.goto('/tokens');
      await page
        .getByRole('status')
        .filter({ hasText: w.shown('50') })
        .waitFor();
      const rows = page.locator('.token-table tbody [role="row"]');
      assert.equal(await rows.count(), 50);
      await page.getByRole('button', { name: w.loadMore }).click();
      await page
        .getByRole('status')
        .filter({ hasText: w.shown('100') })
        .waitFor();
      assert.equal(await rows.count(), 100);
      // Still responsive: a filter answers, and the page holds a page or two of rows, never the 10,000.
      await page.getByText('Expiring within 7 days').click();
      await page.getByText('No tokens match.').waitFor();
      await page.getByText('Expiring within 7 days').click();
      await page
        .getByRole('status')
        .filter({ hasText: w.shown('100') })
        .waitFor();
      assert.ok((await page.locator('[role="row"]').count()) <= 300);
      assert.deepEqual(problems, []);
      await context.close();
    });

    it('fits 375 px wide in dark mode: the tables scroll inside their frame, not the page', async () => {
      const { page, context, problems } = await openConsole(rig, 'nl', {
        width: 375,
        height: 740,
        colorScheme: 'dark',
      });
      await signIn(page);
      for (const [path, shot] of [
        ['/tokens', 'my-tokens-nl-dark-375'],
        ['/admin/tokens', 'admin-tokens-nl-dark-375'],
      ] as const) {
        await page.goto(path);
        await page.getByRole('status').filter({ hasText: 'tokens getoond' }).waitFor();
        const width = await page.evaluate(() => document.documentElement.scrollWidth);
        assert.ok(width <= 375, `${path}: no sideways scrolling at 375 px (page is ${width} px wide)`);
        await assertAccessible(page, `${path}, dark, 375 px`);
        await screenshot(page, shot);
      }
      assert.deepEqual(problems, []);
      await context.close();
    });
  });
}
