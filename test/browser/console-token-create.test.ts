import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import {
  apiSession,
  assertAccessible,
  browserPresent,
  type ConsoleRig,
  type Language,
  openConsole,
  screenshot,
  signIn,
  startConsoleRig,
} from '../support/console.js';

/** The words the tests look for, as each language shows them. */
const WORDS = {
  en: {
    users: 'Users',
    add: 'Add API Token',
    name: 'Name',
    level: 'Permission level',
    manager: 'Manager',
    days30: '30 days',
    next: 'Next: summary',
    summary: 'Summary: check before adding',
    submit: 'Add',
    warning: 'It will not be shown again',
    copy: 'Copy',
    copied: 'Copied',
    done: 'Done',
    key: 'Chosen key value',
    keyRefused: [
      'This key value is not allowed: it is too short or has characters that are not allowed.',
      'This value is not valid.',
    ],
    byPermission: 'Pick permissions one by one',
  },
  nl: {
    users: 'Gebruikers',
    add: 'API Token toevoegen',
    name: 'Naam',
    level: 'Toestemmingsniveau',
    manager: 'Beheerder',
    days30: '30 dagen',
    next: 'Volgende: overzicht',
    summary: 'Overzicht: controleer voor het toevoegen',
    submit: 'Toevoegen',
    warning: 'Hij wordt niet nog eens getoond',
    copy: 'Kopiëren',
    copied: 'Gekopieerd',
    done: 'Klaar',
    key: 'Gekozen sleutelwaarde',
    keyRefused: [
      'Deze sleutel is niet toegestaan: te kort, of met tekens die niet zijn toegestaan.',
      'Deze waarde is niet geldig.',
    ],
    byPermission: 'Rechten één voor één kiezen',
  },
} as const;

/** The Limits section's words, as each language shows them. */
const LIMIT_WORDS = {
  en: {
    limits: /^Limits/,
    rate: 'Rate limit',
    own: 'Own limit',
    unlimited: 'Unlimited',
    requests: 'Requests',
    every: 'Every',
    owner: "All the owner's tokens together",
    credits: 'Credits',
    counted: 'A number of uses',
    remaining: 'Uses left',
    refill: 'Refill regularly',
    refillTo: 'Refill to',
    allowlist: 'IP allowlist',
    edit: 'Edit',
    save: 'Save',
    shownRate: "100 / 1 min, shared by the owner's tokens",
    shownCredits: '42 credits left, refills to 1,000 every 30 days',
    shownAllowlist: '2 allowed addresses or ranges',
    listed: '100 / 1 min · 42 credits · 2 allowed ranges',
  },
  nl: {
    limits: /^Limieten/,
    rate: 'Snelheidslimiet',
    own: 'Eigen limiet',
    unlimited: 'Onbeperkt',
    requests: 'Verzoeken',
    every: 'Per',
    owner: 'Alle tokens van de eigenaar samen',
    credits: 'Tegoed',
    counted: 'Een beperkt aantal keer',
    remaining: 'Resterend gebruik',
    refill: 'Regelmatig aanvullen',
    refillTo: 'Aanvullen tot',
    allowlist: 'Toegestane IP-adressen',
    edit: 'Bewerken',
    save: 'Opslaan',
    shownRate: '100 / 1 min, gedeeld door de tokens van de eigenaar',
    shownCredits: 'Nog 42 keer te gebruiken, elke 30 dagen aangevuld tot 1.000',
    shownAllowlist: '2 toegestane adressen of bereiken',
    listed: '100 / 1 min · Nog 42 keer · 2 toegestane bereiken',
  },
} as const;

type Call = Awaited<ReturnType<typeof apiSession>>;

/** Calls /me with a key: the status, and what kind of principal the key is. */
async function meWithKey(rig: ConsoleRig, key: string): Promise<{ status: number; kind?: string }> {
  const res = await fetch(`${rig.url}/api/v1.0/me`, { headers: { 'x-api-key': key } });
  const body = (await res.json()) as { kind?: string };
  return { status: res.status, kind: body.kind };
}

if (browserPresent()) {
  describe('the console: adding, rolling and deleting API tokens [chromium]', () => {
    let rig: ConsoleRig;
    let call: Call;
    let resourceId: string;
    before(async () => {
      rig = await startConsoleRig();
      call = await apiSession(rig);
      resourceId = (await call<{ id: string }>('POST', '/resources', { type: 'account', name: 'Acme' })).id;
    });
    after(async () => {
      await rig?.close();
    });

    async function openAddDialog(page: Page, language: Language) {
      const w = WORDS[language];
      await page.goto(`/resources/${resourceId}`);
      await page.getByRole('tab', { name: w.users }).click();
      await page.getByRole('button', { name: w.add }).click();
      await page.getByRole('dialog').waitFor();
    }

    for (const language of ['en', 'nl'] as const) {
      const w = WORDS[language];
      it(`adds a token in ${language}: form, summary, the key shown once, copied, and working`, async () => {
        const { page, context, problems } = await openConsole(rig, language);
        await signIn(page);
        await openAddDialog(page, language);
        const dialog = page.getByRole('dialog');
        await dialog.getByRole('textbox', { name: w.name, exact: true }).fill(`CI ${language}`);
        await dialog.getByRole('button', { name: new RegExp(w.level) }).click();
        await page.getByRole('option', { name: w.manager }).click();
        await dialog.locator('label.radio', { hasText: w.days30 }).click();
        await assertAccessible(page, `token form (${language})`);
        await screenshot(page, `token-create-form-${language}`);

        await dialog.getByRole('button', { name: w.next }).click();
        await dialog.getByRole('heading', { name: w.summary }).waitFor();
        await dialog.getByText(`CI ${language}`).waitFor();
        await assertAccessible(page, `token summary (${language})`);
        await screenshot(page, `token-create-summary-${language}`);

        await dialog.getByRole('button', { name: w.submit, exact: true }).click();
        await dialog.getByText(w.warning).waitFor();
        const key = (await dialog.getByTestId('token-key').textContent())?.trim() ?? '';
        assert.ok(key.length >= 24, 'a key is shown');
        await assertAccessible(page, `token key (${language})`);
        await screenshot(page, `token-create-key-${language}`);
        await dialog.getByRole('button', { name: w.copy }).click();
        await dialog.getByRole('status').filter({ hasText: w.copied }).waitFor();
        assert.equal(await page.evaluate(() => navigator.clipboard.readText()), key);
        assert.deepEqual(await meWithKey(rig, key), { status: 200, kind: 'token' });

        await dialog.getByRole('button', { name: w.done }).click();
        await dialog.waitFor({ state: 'detached' });
        // Nothing of the key stays in the page once the dialog is closed.
        assert.ok(!(await page.content()).includes(key));
        assert.deepEqual(problems, []);
        await context.close();
      });

      it(`shows a refused key value next to the key field, in ${language}`, async () => {
        const { page, context, problems } = await openConsole(rig, language);
        await signIn(page);
        await openAddDialog(page, language);
        const dialog = page.getByRole('dialog');
        await dialog.getByRole('textbox', { name: w.name, exact: true }).fill('Too short');
        await dialog.getByRole('textbox', { name: w.key }).fill('short');
        await dialog.getByRole('button', { name: w.next }).click();
        await dialog.getByRole('button', { name: w.submit, exact: true }).click();
        const keyField = dialog.locator('.field').filter({ has: page.getByRole('textbox', { name: w.key }) });
        const error = keyField.locator('[slot="errorMessage"]');
        await error.waitFor();
        assert.ok((w.keyRefused as readonly string[]).includes((await error.textContent())?.trim() ?? ''));
        assert.equal(await dialog.getByRole('textbox', { name: w.key }).getAttribute('aria-invalid'), 'true');
        await assertAccessible(page, `refused key (${language})`);
        assert.deepEqual(problems, []);
        await context.close();
      });
    }

    it('creates a token with exactly the permissions picked one by one', async () => {
      const { page, context, problems } = await openConsole(rig, 'en');
      await signIn(page);
      await openAddDialog(page, 'en');
      const dialog = page.getByRole('dialog');
      await dialog.getByRole('textbox', { name: 'Name', exact: true }).fill('Picked');
      await dialog.locator('label.radio', { hasText: WORDS.en.byPermission }).click();
      // Starts from the level's permissions (reader); the grid and the list then change them.
      await dialog.getByRole('radiogroup', { name: 'Resources' }).locator('label.radio', { hasText: 'Write' }).click();
      await dialog.getByRole('radiogroup', { name: 'Members' }).locator('label.radio', { hasText: 'None' }).click();
      await dialog.locator('label.checkbox', { hasText: 'tokens:create' }).click();
      await dialog.locator('label.checkbox', { hasText: 'logs:read' }).click();
      await assertAccessible(page, 'permission picker');
      await dialog.getByRole('button', { name: WORDS.en.next }).click();
      await dialog.getByRole('button', { name: 'Add', exact: true }).click();
      await dialog.getByTestId('token-key').waitFor();
      const { items } = await call<{ items: { name: string; permissions: string[]; level: string | null }[] }>(
        'GET',
        `/resources/${resourceId}/tokens`,
      );
      const picked = items.find((t) => t.name === 'Picked');
      assert.deepEqual([...(picked?.permissions ?? [])].sort(), ['logs:read', 'resources:read', 'resources:write']);
      assert.deepEqual(problems, []);
      await context.close();
    });

    it('fits a 375 px wide screen in dark mode', async () => {
      const { page, context, problems } = await openConsole(rig, 'nl', {
        width: 375,
        height: 740,
        colorScheme: 'dark',
      });
      await signIn(page);
      await openAddDialog(page, 'nl');
      const dialog = page.getByRole('dialog');
      await dialog.locator('label.radio', { hasText: WORDS.nl.byPermission }).click();
      // The Limits section open, with every field it has shown, fits as well.
      await dialog.getByRole('button', { name: LIMIT_WORDS.nl.limits }).click();
      await dialog.locator('label.radio', { hasText: LIMIT_WORDS.nl.own }).click();
      await dialog.locator('label.radio', { hasText: LIMIT_WORDS.nl.counted }).click();
      await dialog.locator('label.checkbox', { hasText: LIMIT_WORDS.nl.refill }).click();
      const wide = await page.evaluate(() => document.documentElement.scrollWidth);
      assert.ok(wide <= 375, `no sideways scrolling at 375 px (page is ${wide} px wide)`);
      await assertAccessible(page, 'token form, dark, 375 px');
      await screenshot(page, 'token-create-form-nl-dark-375');
      await dialog.getByRole('textbox', { name: LIMIT_WORDS.nl.refillTo }).scrollIntoViewIfNeeded();
      await screenshot(page, 'token-create-limits-nl-dark-375');
      assert.deepEqual(problems, []);
      await context.close();
    });

    const PAGE_WORDS = {
      en: {
        roll: 'Roll key',
        minute: '1 minute',
        done: 'Done',
        del: 'Delete',
        log: 'Access log',
        history: 'History',
        rolled: 'Token rolled',
      },
      nl: {
        roll: 'Sleutel vernieuwen',
        minute: '1 minuut',
        done: 'Klaar',
        del: 'Verwijderen',
        log: 'Toegangslogboek',
        history: 'Geschiedenis',
        rolled: 'Token vernieuwd',
      },
    } as const;
    for (const language of ['en', 'nl'] as const) {
      const p = PAGE_WORDS[language];
      it(`on the token page in ${language}: its access log, then roll with a grace minute, then delete`, async () => {
        const created = await call<{ id: string; key: string }>('POST', `/resources/${resourceId}/tokens`, {
          name: `Logged ${language}`,
          level: 'reader',
          logging: 'request+response',
        });
        // Two uses of the key, one accepted and one refused, written to the access log at once.
        assert.equal((await meWithKey(rig, created.key)).status, 200);
        const refused = await fetch(`${rig.url}/api/v1.0/resources/res_doesnotexist?probe=1`, {
          headers: { 'x-api-key': created.key },
        });
        assert.equal(refused.status, 404);
        await rig.server.keygate.accessLog.flush();

        const { page, context, problems } = await openConsole(rig, language);
        await signIn(page);
        await page.goto(`/tokens/${created.id}`);
        await page.getByRole('heading', { name: `Logged ${language}` }).waitFor();
        await page.getByRole('tab', { name: p.log }).click();
        const rows = page.getByRole('tabpanel').getByRole('row');
        await rows.filter({ hasText: '/api/v1.0/me' }).first().waitFor();
        await rows.filter({ hasText: '404' }).first().waitFor();
        await page.getByRole('tabpanel').getByRole('img').first().waitFor(); // the per-day chart
        await rows.filter({ hasText: '/api/v1.0/me' }).first().click();
        // The captured request is shown, its key redacted: the key itself is nowhere on the page.
        await page
          .getByText(/x-api-key/i)
          .first()
          .waitFor();
        assert.ok(!(await page.content()).includes(created.key), 'the key is not on the page');
        await assertAccessible(page, `token access log (${language})`);
        await screenshot(page, `token-access-log-${language}`);

        await page.getByRole('button', { name: p.roll, exact: true }).click();
        const dialog = page.getByRole('dialog');
        await dialog.getByRole('radio', { name: p.minute }).check();
        await dialog.getByRole('button', { name: p.roll, exact: true }).click();
        const shown = dialog.locator('.key-box code');
        await shown.waitFor();
        const newKey = (await shown.textContent())!.trim();
        assert.notEqual(newKey, created.key);
        await assertAccessible(page, `roll, new key shown (${language})`);
        await screenshot(page, `token-roll-${language}`);
        // Within the grace minute both keys work.
        assert.equal((await meWithKey(rig, newKey)).status, 200);
        assert.equal((await meWithKey(rig, created.key)).status, 200);
        await dialog.getByRole('button', { name: p.done }).click();
        await dialog.waitFor({ state: 'detached' });
        assert.ok(!(await page.content()).includes(newKey), 'the new key is gone once the dialog closes');

        await page.getByRole('button', { name: p.del, exact: true }).click();
        await page.getByRole('dialog').getByRole('button', { name: p.del, exact: true }).click();
        await page.waitForURL(/\/tokens$/);
        await call('GET', `/tokens/${created.id}`, undefined, 404);
        assert.equal((await meWithKey(rig, newKey)).status, 401);
        assert.deepEqual(problems, []);
        await context.close();
      });
    }

    type TokenView = {
      id: string;
      name: string;
      rateLimit: unknown;
      credits: { remaining: number; refill: unknown; refilledAt: string | null } | null;
      ipAllowlist: string[] | null;
    };

    for (const language of ['en', 'nl'] as const) {
      const w = WORDS[language];
      const l = LIMIT_WORDS[language];
      it(`adds a token with a rate limit, credits and an IP allowlist in ${language}, then edits one`, async () => {
        const { page, context, problems } = await openConsole(rig, language);
        await signIn(page);
        await openAddDialog(page, language);
        const dialog = page.getByRole('dialog');
        const name = `Limited ${language}`;
        await dialog.getByRole('textbox', { name: w.name, exact: true }).fill(name);
        const trigger = dialog.getByRole('button', { name: l.limits });
        assert.equal(await trigger.getAttribute('aria-expanded'), 'false', 'the section starts closed');
        await trigger.click();
        const rate = dialog.getByRole('group', { name: l.rate, exact: true });
        await rate.locator('label.radio', { hasText: l.own }).click();
        await rate.getByRole('textbox', { name: l.requests }).fill('100');
        await rate.locator('label.radio', { hasText: l.owner }).click();
        const credits = dialog.getByRole('group', { name: l.credits, exact: true });
        await credits.locator('label.radio', { hasText: l.counted }).click();
        await credits.getByRole('textbox', { name: l.remaining }).fill('42');
        await credits.locator('label.checkbox', { hasText: l.refill }).click();
        await credits.getByRole('textbox', { name: l.refillTo }).fill('1000');
        await dialog.getByRole('textbox', { name: l.allowlist }).fill('203.0.113.0/24\n\n2001:db8::/32\n');
        await assertAccessible(page, `token form with limits (${language})`);
        await screenshot(page, `token-create-limits-${language}`);

        await dialog.getByRole('button', { name: w.next }).click();
        await dialog.getByRole('heading', { name: w.summary }).waitFor();
        await dialog.getByText(l.shownRate).waitFor();
        await dialog.getByText(l.shownCredits).waitFor();
        await screenshot(page, `token-create-limits-summary-${language}`);
        await dialog.getByRole('button', { name: w.submit, exact: true }).click();
        await dialog.getByTestId('token-key').waitFor();
        await dialog.getByRole('button', { name: w.done }).click();
        await dialog.waitFor({ state: 'detached' });

        const { items } = await call<{ items: TokenView[] }>('GET', `/resources/${resourceId}/tokens`);
        const id = items.find((t) => t.name === name)?.id ?? '';
        const created = await call<TokenView>('GET', `/tokens/${id}`);
        assert.deepEqual(created.rateLimit, { limit: 100, window: '1m', per: 'owner' });
        assert.deepEqual(created.credits && { ...created.credits, refilledAt: undefined }, {
          remaining: 42,
          refill: { amount: 1000, interval: '30d' },
          refilledAt: undefined,
        });
        assert.deepEqual(created.ipAllowlist, ['203.0.113.0/24', '2001:db8::/32']);

        // The token page shows them compactly.
        await page.goto(`/tokens/${id}`);
        await page.getByRole('heading', { name }).waitFor();
        await page.getByText(l.shownRate).waitFor();
        await page.getByText(l.shownCredits).waitFor();
        await page.getByText(l.shownAllowlist).waitFor();
        await assertAccessible(page, `token page with limits (${language})`);
        await screenshot(page, `token-page-limits-${language}`);

        // The list of one's tokens says them in a line under the name.
        await page.goto('/tokens');
        await page
          .getByRole('row', { name: new RegExp(name) })
          .getByText(l.listed)
          .waitFor();
        await assertAccessible(page, `token list with limits (${language})`);
        await screenshot(page, `token-list-limits-${language}`);
        await page.goto(`/tokens/${id}`);
        await page.getByRole('heading', { name }).waitFor();

        // An edit of the rate limit leaves the credits as they were: not sent, so not set again.
        await page.getByRole('button', { name: l.edit, exact: true }).click();
        const edit = page.getByRole('dialog');
        await edit.getByRole('button', { name: l.limits }).click();
        const editRate = edit.getByRole('group', { name: l.rate, exact: true });
        assert.equal(await editRate.getByRole('textbox', { name: l.requests }).inputValue(), '100');
        await editRate.locator('label.radio', { hasText: l.unlimited }).click();
        await assertAccessible(page, `token edit with limits (${language})`);
        await screenshot(page, `token-edit-limits-${language}`);
        await edit.getByRole('button', { name: l.save }).click();
        await edit.waitFor({ state: 'detached' });
        const edited = await call<TokenView>('GET', `/tokens/${id}`);
        assert.equal(edited.rateLimit, 'unlimited');
        assert.deepEqual(edited.credits, created.credits);
        assert.deepEqual(edited.ipAllowlist, created.ipAllowlist);
        await page.getByText(l.unlimited, { exact: true }).waitFor();
        assert.deepEqual(problems, []);
        await context.close();
      });
    }

    it('shows the server refusing an allowlist entry next to the allowlist, and a bad count before sending', async () => {
      const { page, context, problems } = await openConsole(rig, 'en');
      await signIn(page);
      await openAddDialog(page, 'en');
      const dialog = page.getByRole('dialog');
      await dialog.getByRole('textbox', { name: 'Name', exact: true }).fill('Refused allowlist');
      await dialog.getByRole('button', { name: /^Limits/ }).click();
      // A client check: no request is sent with 0 requests per window, and the field says why.
      const rate = dialog.getByRole('group', { name: 'Rate limit', exact: true });
      await rate.locator('label.radio', { hasText: 'Own limit' }).click();
      await rate.getByRole('textbox', { name: 'Requests' }).fill('0');
      // Closing the section does not hide the problem: submitting opens it again.
      await dialog.getByRole('button', { name: /^Limits/ }).click();
      await dialog.getByRole('button', { name: WORDS.en.next }).click();
      await rate.locator('[slot="errorMessage"]').filter({ hasText: 'Enter a whole number of at least 1.' }).waitFor();
      await rate.getByRole('textbox', { name: 'Requests' }).fill('5');
      const allowlist = dialog.getByRole('textbox', { name: 'IP allowlist' });
      await allowlist.fill('10.0.0.0/8\n10.0.0.999');
      await dialog.getByRole('button', { name: WORDS.en.next }).click();
      await dialog.getByRole('button', { name: WORDS.en.submit, exact: true }).click();
      const field = dialog.locator('.field').filter({ has: page.getByRole('textbox', { name: 'IP allowlist' }) });
      await field
        .locator('[slot="errorMessage"]')
        .filter({ hasText: 'Each line must be an IPv4 or IPv6 address or a CIDR range' })
        .waitFor();
      assert.equal(await allowlist.getAttribute('aria-invalid'), 'true');
      assert.equal(await dialog.getByRole('button', { name: /^Limits/ }).getAttribute('aria-expanded'), 'true');
      await assertAccessible(page, 'refused allowlist');
      await screenshot(page, 'token-create-limits-refused-en');
      const { items } = await call<{ items: { name: string }[] }>('GET', `/resources/${resourceId}/tokens`);
      assert.ok(!items.some((t) => t.name === 'Refused allowlist'), 'no token was created');
      assert.deepEqual(problems, []);
      await context.close();
    });

    it('adds a token with the keyboard only', async () => {
      const { page, context, problems } = await openConsole(rig, 'en');
      await signIn(page);
      await openAddDialog(page, 'en');
      const dialog = page.getByRole('dialog');
      // The name field has the focus when the dialog opens.
      await page.keyboard.type('Keyboard');
      // Tab on to the expiry choice, then pick "30 days" with the arrow keys.
      const focusedName = () =>
        page.evaluate(() => {
          const el = document.activeElement as HTMLInputElement | null;
          return el ? `${el.getAttribute('name') ?? ''}:${el.value ?? ''}` : '';
        });
      for (let i = 0; i < 30 && !(await focusedName()).startsWith('expiresIn:'); i++) await page.keyboard.press('Tab');
      assert.match(await focusedName(), /^expiresIn:90d$/);
      await page.keyboard.press('ArrowLeft');
      assert.match(await focusedName(), /^expiresIn:30d$/);
      await page.keyboard.press('Enter'); // submits the form: on to the summary
      await dialog.getByRole('heading', { name: WORDS.en.summary }).waitFor();
      for (let i = 0; i < 10; i++) {
        const label = await page.evaluate(() => document.activeElement?.textContent ?? '');
        if (label === 'Add') break;
        await page.keyboard.press('Tab');
      }
      await page.keyboard.press('Enter');
      await dialog.getByTestId('token-key').waitFor();
      const key = (await dialog.getByTestId('token-key').textContent())?.trim() ?? '';
      assert.deepEqual(await meWithKey(rig, key), { status: 200, kind: 'token' });
      assert.deepEqual(problems, []);
      await context.close();
    });
  });
}
