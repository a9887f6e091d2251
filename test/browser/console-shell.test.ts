import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  ADMIN,
  assertAccessible,
  browserPresent,
  type ConsoleRig,
  openConsole,
  screenshot,
  signIn,
  startConsoleRig,
} from '../support/console.js';

if (browserPresent()) {
  describe('the console: sign-in, language, theme and serving [chromium]', () => {
    let rig: ConsoleRig;
    before(async () => {
      rig = await startConsoleRig();
    });
    after(async () => {
      await rig?.close();
    });

    for (const [language, title, wrong] of [
      ['en', 'Sign in to keygate', 'The email address or password is wrong.'],
      ['nl', 'Aanmelden bij keygate', 'Het e-mailadres of wachtwoord is onjuist.'],
    ] as const) {
      it(`follows a ${language} browser, says a wrong password in ${language}, and signs in`, async () => {
        const { page, context, problems } = await openConsole(rig, language);
        await page.goto('/');
        await page.waitForURL(/\/sign-in\?next=/);
        await page.getByRole('heading', { name: title }).waitFor();
        assert.equal(await page.evaluate(() => document.documentElement.lang), language);
        await assertAccessible(page, `sign-in (${language})`);
        await screenshot(page, `sign-in-${language}`);

        await page.locator('input[name="email"]').fill(ADMIN.email);
        await page.locator('input[name="password"]').fill('not-the-password');
        await page.locator('form button[type="submit"]').click();
        await page.getByRole('alert').filter({ hasText: wrong }).waitFor();

        await signIn(page);
        const cookie = (await context.cookies()).find((c) => c.name === 'keygate_session');
        assert.ok(cookie, 'the session cookie is set');
        assert.equal(cookie.httpOnly, true);
        assert.equal(cookie.sameSite, 'Strict');
        // Nothing but preferences is kept in the browser's storage.
        const stored = await page.evaluate(() => Object.keys(localStorage).concat(Object.keys(sessionStorage)));
        assert.deepEqual(
          stored.filter((k) => !['keygate.language', 'keygate.theme'].includes(k)),
          [],
        );
        assert.deepEqual(problems, []);
        await context.close();
      });
    }

    it('switches language, remembers it across a reload, and reloads deep links', async () => {
      const { page, context, problems } = await openConsole(rig, 'en');
      await signIn(page);
      await page.getByRole('link', { name: 'My API tokens' }).waitFor();
      await page.getByRole('button', { name: /Language/ }).click();
      await page.getByRole('option', { name: 'Nederlands' }).click();
      await page.getByRole('link', { name: 'Mijn API tokens' }).waitFor();
      await page.goto('/tokens');
      await page.reload();
      assert.equal(new URL(page.url()).pathname, '/tokens');
      await page.getByRole('link', { name: 'Mijn API tokens' }).waitFor();
      assert.equal(await page.evaluate(() => document.documentElement.lang), 'nl');
      assert.deepEqual(problems, []);
      await context.close();
    });

    it('keeps the JSON 404 for unknown API paths, and sends a strict CSP with the console', async () => {
      const { page, context } = await openConsole(rig, 'en');
      const api = await page.goto('/api/v1.0/no-such-thing');
      assert.equal(api?.status(), 404);
      assert.match((await page.locator('body').textContent()) ?? '', /"code":"ROUTE_NOT_FOUND"/);
      const index = await page.goto('/resources/res_deep_link');
      assert.equal(index?.status(), 200);
      const csp = index?.headers()['content-security-policy'] ?? '';
      assert.match(csp, /script-src 'self'(;|$)/);
      assert.match(csp, /style-src 'self'(;|$)/);
      assert.match(csp, /frame-ancestors 'none'/);
      assert.equal(index?.headers()['x-frame-options'], 'DENY');
      await context.close();
    });

    it('is usable 375 px wide and in dark mode, and signs out', async () => {
      const { page, context, problems } = await openConsole(rig, 'nl', {
        width: 375,
        height: 740,
        colorScheme: 'dark',
      });
      await signIn(page);
      const scrollWidth = await page.evaluate(() => document.documentElement.scrollWidth);
      assert.ok(scrollWidth <= 375, `no sideways scrolling at 375 px (page is ${scrollWidth} px wide)`);
      await assertAccessible(page, 'start page, dark, 375 px');
      await screenshot(page, 'start-nl-dark-375');
      await page.getByRole('button', { name: /Afmelden/ }).click();
      await page.getByText('U bent afgemeld.').waitFor();
      await page.goto('/tokens');
      await page.waitForURL(/\/sign-in/);
      assert.deepEqual(problems, []);
      await context.close();
    });
  });
}
