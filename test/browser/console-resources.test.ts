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

const PASSWORD = 'a-long-enough-password';

const WORDS = {
  en: {
    tree: 'Resource tree',
    search: 'Search resources',
    users: 'Users',
    reader: 'Reader',
    manager: 'Manager',
    administrator: 'Administrator',
    inherited: (name: string) => `Inherited from account ${name}`,
    addMember: 'Add member',
    email: 'Email address',
    role: 'Role',
    add: 'Add',
    save: 'Save',
    unknownUser: 'There is no such user.',
    changeFor: (name: string) => `Change role: ${name}`,
    addToken: 'Add API Token',
    none: 'You have no resources yet.',
  },
  nl: {
    tree: 'Bronnenboom',
    search: 'Bronnen zoeken',
    users: 'Gebruikers',
    reader: 'Lezer',
    manager: 'Beheerder',
    administrator: 'Administrator',
    inherited: (name: string) => `Overgenomen van account ${name}`,
    addMember: 'Lid toevoegen',
    email: 'E-mailadres',
    role: 'Rol',
    add: 'Toevoegen',
    save: 'Opslaan',
    unknownUser: 'Deze gebruiker bestaat niet.',
    changeFor: (name: string) => `Rol wijzigen: ${name}`,
    addToken: 'API Token toevoegen',
    none: 'U hebt nog geen bronnen.',
  },
} as const;

type Id = { id: string };

if (browserPresent()) {
  describe('the console: resource tree, search and the Users tab [chromium]', () => {
    let rig: ConsoleRig;
    before(async () => {
      rig = await startConsoleRig();
    });
    after(async () => {
      await rig?.close();
    });

    /** An account > folder > building, an account beside it, a reader on the account, a token on the building. */
    async function seed(tag: string) {
      const admin = await apiSession(rig);
      const account = await admin<Id>('POST', '/resources', { type: 'account', name: `Acme ${tag}` });
      const folder = await admin<Id>('POST', '/resources', {
        type: 'folder',
        name: `Projects ${tag}`,
        parentId: account.id,
      });
      const building = await admin<Id>('POST', '/resources', {
        type: 'building',
        name: `Tower ${tag}`,
        parentId: folder.id,
      });
      await admin('POST', '/resources', { type: 'account', name: `Elsewhere ${tag}` });
      const bob = { email: `bob-${tag}@example.com`, name: `Bob ${tag}`, password: PASSWORD };
      await admin('POST', '/users', bob);
      await admin('POST', '/users', { email: `carol-${tag}@example.com`, name: `Carol ${tag}`, password: PASSWORD });
      await admin('PUT', `/resources/${account.id}/members/${encodeURIComponent(bob.email)}`, { role: 'reader' });
      await admin('POST', `/resources/${building.id}/tokens`, { name: `Sensor feed ${tag}`, level: 'manager' });
      return { account, folder, building, bob };
    }

    for (const language of ['en', 'nl'] as const) {
      const w = WORDS[language];
      it(`browses, searches, lists people and tokens, and manages members (${language})`, async () => {
        const { building, bob } = await seed(language);
        const { page, context, problems } = await openConsole(rig, language);
        await signIn(page);
        await page.goto('/resources');
        const tree = page.getByRole('treegrid', { name: w.tree });
        const row = (text: string) => tree.getByRole('row').filter({ hasText: text });
        await row(`Acme ${language}`).waitFor();
        await assertAccessible(page, `resource tree (${language})`);

        // The keyboard opens each level (its children load then) and Enter opens the building's page.
        await row(`Acme ${language}`).focus();
        await page.keyboard.press('ArrowRight');
        await row(`Projects ${language}`).waitFor();
        await page.keyboard.press('ArrowDown');
        await page.keyboard.press('ArrowRight');
        await row(`Tower ${language}`).waitFor();
        await screenshot(page, `resources-tree-${language}`);
        await page.keyboard.press('ArrowDown');
        assert.equal(await row(`Tower ${language}`).evaluate((el) => el === document.activeElement), true);
        await page.keyboard.press('Enter');
        await page.waitForURL(`**/resources/${building.id}`);

        // Search finds the building and shows the path to it.
        await page.goto('/resources');
        await page.getByRole('searchbox', { name: w.search }).fill(`Tower ${language}`);
        const result = page.locator('.search-result').filter({ hasText: `Tower ${language}` });
        await result.waitFor();
        assert.deepEqual(await result.locator('.breadcrumbs li').allInnerTexts(), [
          `Acme ${language}`,
          `Projects ${language}`,
        ]);
        await assertAccessible(page, `resource search (${language})`);
        await result.getByRole('link', { name: `Tower ${language}` }).click();
        await page.waitForURL(`**/resources/${building.id}`);

        // The Users tab comes first: the reader inherited from the account, and the token with its level.
        await page.getByRole('heading', { level: 1, name: new RegExp(`Tower ${language}`) }).waitFor();
        assert.equal(await page.getByRole('tab', { selected: true }).innerText(), w.users);
        await page.getByRole('button', { name: w.addToken }).waitFor();
        const members = page.getByRole('grid');
        const bobRow = members.getByRole('row').filter({ hasText: bob.name });
        await bobRow.waitFor();
        assert.match(await bobRow.innerText(), new RegExp(w.reader));
        assert.match(await bobRow.innerText(), new RegExp(w.inherited(`Acme ${language}`)));
        const tokenRow = members.getByRole('row').filter({ hasText: `Sensor feed ${language}` });
        assert.match(await tokenRow.innerText(), new RegExp(w.manager));
        assert.match(
          (await tokenRow.getByRole('link', { name: `Sensor feed ${language}` }).getAttribute('href')) ?? '',
          /^\/tokens\/tok_/,
        );
        await assertAccessible(page, `resource Users tab (${language})`);
        await screenshot(page, `resource-users-${language}`);

        // Adding someone unknown is refused at the email field; a known address is added.
        await page.getByRole('button', { name: w.addMember }).click();
        const dialog = page.getByRole('dialog');
        await dialog.getByRole('textbox', { name: w.email }).fill(`nobody-${language}@example.com`);
        await dialog.getByRole('button', { name: w.add, exact: true }).click();
        const emailField = dialog.locator('.field').filter({ has: page.getByRole('textbox', { name: w.email }) });
        await emailField.getByText(w.unknownUser).waitFor();
        assert.equal(await dialog.getByRole('textbox', { name: w.email }).getAttribute('aria-invalid'), 'true');
        await assertAccessible(page, `add member dialog with a refusal (${language})`);
        await screenshot(page, `add-member-${language}`);
        await dialog.getByRole('textbox', { name: w.email }).fill(`carol-${language}@example.com`);
        await dialog.getByRole('button', { name: new RegExp(`${w.role}$`) }).click();
        await page.getByRole('option', { name: w.manager }).click();
        await dialog.getByRole('button', { name: w.add, exact: true }).click();
        await dialog.waitFor({ state: 'detached' });
        const carolRow = members.getByRole('row').filter({ hasText: `Carol ${language}` });
        await carolRow.waitFor();
        assert.match(await carolRow.innerText(), new RegExp(w.manager));

        // And her role is changed.
        await carolRow.getByRole('button', { name: w.changeFor(`Carol ${language}`) }).click();
        await dialog.getByRole('button', { name: new RegExp(`${w.role}$`) }).click();
        await page.getByRole('option', { name: w.administrator }).click();
        await assertAccessible(page, `change role dialog (${language})`);
        await dialog.getByRole('button', { name: w.save }).click();
        await dialog.waitFor({ state: 'detached' });
        await carolRow.filter({ hasText: w.administrator }).waitFor();

        assert.deepEqual(problems, []);
        await context.close();
      });
    }

    it('fits 375 px wide on the resource page', async () => {
      const { building } = await seed('narrow');
      const { page, context, problems } = await openConsole(rig, 'nl', { width: 375, height: 740 });
      await signIn(page);
      await page.goto(`/resources/${building.id}`);
      await page.getByRole('grid').getByRole('row').filter({ hasText: 'Sensor feed narrow' }).waitFor();
      const scrollWidth = await page.evaluate(() => document.documentElement.scrollWidth);
      assert.ok(scrollWidth <= 375, `no sideways scrolling at 375 px (page is ${scrollWidth} px wide)`);
      await assertAccessible(page, 'resource page at 375 px');
      await screenshot(page, 'resource-users-nl-375');
      assert.deepEqual(problems, []);
      await context.close();
    });

    it('shows someone who is not an administrator only their part of the tree', async () => {
      const { bob } = await seed('reach');
      const { page, context, problems } = await openConsole(rig, 'en');
      await signIn(page, bob.email, bob.password);
      await page.goto('/resources');
      const tree = page.getByRole('treegrid', { name: WORDS.en.tree });
      await tree.getByRole('row').filter({ hasText: 'Acme reach' }).waitFor();
      const names = await tree.locator('.tree-name').allInnerTexts();
      assert.deepEqual(names, ['Acme reach']);
      // Nor does a search reach past it.
      await page.getByRole('searchbox', { name: WORDS.en.search }).fill('Elsewhere');
      await page.getByRole('status').filter({ hasText: '0 resources found.' }).waitFor();
      await page.getByRole('searchbox', { name: WORDS.en.search }).fill('reach');
      await page.locator('.search-result').first().waitFor();
      const found = await page.locator('.search-result-name').allInnerTexts();
      assert.deepEqual(found.sort(), ['Acme reach', 'Projects reach', 'Tower reach']);
      assert.equal(await page.getByRole('button', { name: 'New resource' }).count(), 0);
      await assertAccessible(page, 'resource tree of a reader');
      assert.deepEqual(problems, []);
      await context.close();
    });
  });
}
