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

const WORDS = {
  en: {
    users: 'Users',
    add: 'Add user',
    submit: 'Add',
    email: 'Email address',
    name: 'Name',
    password: 'Password',
    taken: 'A user with this email address exists already.',
    cancel: 'Cancel',
    disable: 'Disable',
    enable: 'Enable',
    disabled: 'Disabled',
    active: 'Active',
    changeRole: 'Change role',
    systemRole: /System role/,
    admin: /^Administrator/,
    adminCell: 'Administrator',
    save: 'Save',
    audit: 'Audit trail',
    records: 'Audit records',
    actionSelect: /Action/,
    created: 'User created',
    disabledAction: 'User disabled',
    enabledAction: 'User enabled',
    changedAction: 'User changed',
  },
  nl: {
    users: 'Gebruikers',
    add: 'Gebruiker toevoegen',
    submit: 'Toevoegen',
    email: 'E-mailadres',
    name: 'Naam',
    password: 'Wachtwoord',
    taken: 'Er bestaat al een gebruiker met dit e-mailadres.',
    cancel: 'Annuleren',
    disable: 'Uitschakelen',
    enable: 'Inschakelen',
    disabled: 'Uitgeschakeld',
    active: 'Actief',
    changeRole: 'Rol wijzigen',
    systemRole: /Systeemrol/,
    admin: /^Beheerder/,
    adminCell: 'Beheerder',
    save: 'Opslaan',
    audit: 'Audittrail',
    records: 'Auditregels',
    actionSelect: /Actie/,
    created: 'Gebruiker aangemaakt',
    disabledAction: 'Gebruiker uitgeschakeld',
    enabledAction: 'Gebruiker ingeschakeld',
    changedAction: 'Gebruiker gewijzigd',
  },
} as const;

if (browserPresent()) {
  describe('the console: administering users and reading the audit trail [chromium]', () => {
    let rig: ConsoleRig;
    before(async () => {
      rig = await startConsoleRig();
    });
    after(async () => {
      await rig?.close();
    });

    for (const language of ['en', 'nl'] as const) {
      const w = WORDS[language];
      it(`adds, refuses a duplicate, disables, enables and promotes a user, and audits it in words (${language})`, async () => {
        const admin = await apiSession(rig);
        const email = `new-${language}@example.com`;
        const { page, context, problems } = await openConsole(rig, language);
        await signIn(page);
        await page.goto('/admin/users');
        await page.getByRole('heading', { level: 2, name: w.users }).waitFor();
        await page.getByRole('grid', { name: w.users }).getByRole('row').nth(1).waitFor();
        await assertAccessible(page, `users page (${language})`);
        await screenshot(page, `admin-users-${language}`);

        // Add a user through the dialog.
        await page.getByRole('button', { name: w.add }).click();
        const dialog = page.getByRole('dialog', { name: w.add });
        await dialog.waitFor();
        await dialog.getByLabel(w.email).fill(email);
        await dialog.getByLabel(w.name, { exact: true }).fill(`New ${language}`);
        await dialog.getByLabel(w.password).fill('a-long-enough-password');
        await assertAccessible(page, `add-user dialog (${language})`);
        await screenshot(page, `admin-user-create-${language}`);
        await dialog.getByRole('button', { name: w.submit, exact: true }).click();
        await dialog.waitFor({ state: 'hidden' });
        const row = page.getByRole('row').filter({ hasText: email });
        await row.getByText(w.active, { exact: true }).waitFor();

        // The same email again: refused at the email field.
        await page.getByRole('button', { name: w.add }).click();
        await dialog.waitFor();
        await dialog.getByLabel(w.email).fill(email);
        await dialog.getByRole('button', { name: w.submit, exact: true }).click();
        const emailField = dialog.locator('.field').filter({ has: page.locator('input[name="email"]') });
        await emailField.getByText(w.taken).waitFor();
        assert.equal(await dialog.getByLabel(w.email).getAttribute('aria-invalid'), 'true');
        await assertAccessible(page, `add-user dialog with a refusal (${language})`);
        await dialog.getByRole('button', { name: w.cancel }).click();
        await dialog.waitFor({ state: 'hidden' });

        // Disable, then enable, each after a confirmation.
        await row.getByRole('button', { name: new RegExp(`${w.disable}`) }).click();
        const confirm = page.getByRole('dialog');
        await confirm.waitFor();
        await assertAccessible(page, `disable dialog (${language})`);
        await confirm.getByRole('button', { name: w.disable, exact: true }).click();
        await confirm.waitFor({ state: 'hidden' });
        await row.getByText(w.disabled, { exact: true }).waitFor();
        await row.getByRole('button', { name: new RegExp(`${w.enable}`) }).click();
        await confirm.waitFor();
        await confirm.getByRole('button', { name: w.enable, exact: true }).click();
        await confirm.waitFor({ state: 'hidden' });
        await row.getByText(w.active, { exact: true }).waitFor();

        // Make them an administrator.
        await row.getByRole('button', { name: new RegExp(w.changeRole) }).click();
        await confirm.waitFor();
        await confirm.getByRole('button', { name: w.systemRole }).click();
        await page.getByRole('option', { name: w.admin }).click();
        await assertAccessible(page, `change-role dialog (${language})`);
        await confirm.getByRole('button', { name: w.save }).click();
        await confirm.waitFor({ state: 'hidden' });
        await row.getByText(w.adminCell, { exact: true }).waitFor();
        const found = await admin<{ items: { email: string; systemRole: string; active: boolean }[] }>(
          'GET',
          `/users?q=${encodeURIComponent(email)}`,
        );
        assert.deepEqual(
          found.items.map((u) => [u.email, u.systemRole, u.active]),
          [[email, 'admin', true]],
        );

        // The audit trail says all of it in words, and filters by action.
        await page.getByRole('link', { name: w.audit }).click();
        await page.waitForURL(/\/admin\/audit$/);
        const list = page.getByRole('list', { name: w.records });
        for (const action of [w.created, w.disabledAction, w.enabledAction, w.changedAction])
          await list.getByText(action, { exact: true }).first().waitFor();
        await assertAccessible(page, `audit page (${language})`);
        await screenshot(page, `admin-audit-${language}`);
        await page.getByRole('button', { name: w.actionSelect }).click();
        await page.getByRole('option', { name: w.disabledAction, exact: true }).click();
        await list.getByText(w.created, { exact: true }).first().waitFor({ state: 'detached' });
        // The old rows going does not mean the filtered ones are there yet: wait for one before reading.
        await list.getByText(w.disabledAction, { exact: true }).first().waitFor();
        const shown = await list.locator('.audit-action').allInnerTexts();
        assert.ok(shown.length >= 1);
        assert.deepEqual(new Set(shown), new Set([w.disabledAction]));
        await list.getByText(email).first().waitFor();

        assert.deepEqual(problems, []);
        await context.close();
      });
    }
  });
}
