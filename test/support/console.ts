import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { loadConfig } from '../../src/config.js';
import { CONSOLE_DIR } from '../../src/http/console.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { assertNoSecretsAtRest, noteSecret, noteSecretsIn } from './secret-scan.js';

/**
 * What the console's browser tests share: a real keygate server with the built console, Debian's
 * Chromium, signing in, an accessibility check with axe-core, and screenshots under test-output/.
 */

export const CHROMIUM = '/usr/bin/chromium';

/**
 * Whether the browser suites run here. CI installs Chromium and sets KEYGATE_TEST_REQUIRE_BROWSER=1,
 * so there a missing browser or an unbuilt console fails the run instead of leaving the suite out.
 */
export function browserPresent(): boolean {
  const missing = !existsSync(CHROMIUM)
    ? `${CHROMIUM} is missing (apt-get install chromium)`
    : !existsSync(join(CONSOLE_DIR, 'index.html'))
      ? 'the console is not built (npm run build)'
      : null;
  if (missing && process.env.KEYGATE_TEST_REQUIRE_BROWSER === '1')
    throw new Error(`KEYGATE_TEST_REQUIRE_BROWSER=1 but ${missing}`);
  if (missing) console.log(`# console browser tests left out: ${missing}`);
  return missing === null;
}

export const ADMIN = { email: 'admin@example.com', password: 'correct-horse-battery-staple' };
noteSecret(ADMIN.password);

export interface ConsoleRig {
  server: RunningServer;
  browser: Browser;
  url: string;
  close(): Promise<void>;
}

/** Starts a keygate with an administrator and the built console, and a headless Chromium. */
export async function startConsoleRig(env: Record<string, string> = {}): Promise<ConsoleRig> {
  const dataDir = mkdtempSync(join(tmpdir(), 'keygate-console-'));
  const server = await startServer(
    loadConfig({
      KEYGATE_DATA_DIR: dataDir,
      PORT: '0',
      HOST: '127.0.0.1',
      KEYGATE_LOG_LEVEL: 'warn',
      KEYGATE_ADMIN_EMAIL: ADMIN.email,
      KEYGATE_ADMIN_PASSWORD: ADMIN.password,
      KEYGATE_ACCESS_LOG_FLUSH_MS: '60000',
      ...env,
    }),
  );
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
  return {
    server,
    browser,
    url: server.url,
    async close() {
      await browser.close();
      await server.app.close();
      // Whatever the browser did, the database, its WAL and the data directory hold no key or password.
      await assertNoSecretsAtRest(server.keygate, dataDir);
      await server.keygate.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export type Language = 'en' | 'nl';

export interface ConsolePage {
  page: Page;
  context: BrowserContext;
  /** Page errors, console errors and Content-Security-Policy violations seen so far. */
  problems: string[];
}

/**
 * A fresh browser context (no cookies, no storage) whose browser speaks `language`, with clipboard
 * access granted; it records page errors, console errors and CSP violations in `problems`.
 */
export async function openConsole(
  rig: ConsoleRig,
  language: Language,
  options: { width?: number; height?: number; colorScheme?: 'light' | 'dark' } = {},
): Promise<ConsolePage> {
  const context = await rig.browser.newContext({
    locale: language === 'nl' ? 'nl-NL' : 'en-US',
    viewport: { width: options.width ?? 1280, height: options.height ?? 900 },
    colorScheme: options.colorScheme ?? 'light',
    baseURL: rig.url,
  });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: rig.url });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    // A refused API call shows up as a failed resource load; the console shows it to the user itself.
    if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  return { page, context, problems };
}

/** Signs in through the sign-in page (whatever language it is shown in) and waits for the app. */
export async function signIn(page: Page, email = ADMIN.email, password = ADMIN.password): Promise<void> {
  await page.goto('/sign-in');
  await page.locator('input[name="email"]').fill(email);
  await page.locator('input[name="password"]').fill(password);
  await page.locator('form button[type="submit"]').click();
  await page.locator('header nav').waitFor();
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/**
 * Runs axe-core in the page (evaluated through the DevTools protocol, which the page's CSP does not
 * govern) and fails on any serious or critical violation, naming the rule and the elements.
 */
export async function assertAccessible(page: Page, what: string): Promise<void> {
  await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run: (ctx: Document, o: object) => Promise<AxeResults> } }).axe;
    // React Aria's live announcer (a visually hidden region) briefly labels an announcement by an
    // element that may already be gone; it is the library's, not a page's, and screen readers cope.
    const result = await axe.run({ exclude: [['[data-live-announcer]']] } as unknown as Document, {
      resultTypes: ['violations'],
    });
    return result.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  });
  assert.deepEqual(violations, [], `accessibility of ${what}`);
}

interface AxeResults {
  violations: { id: string; impact: string | null; help: string; nodes: { target: string[] }[] }[];
}

export const SCREENSHOT_DIR = join(process.cwd(), 'test-output', 'screenshots');

/**
 * Saves a full-page screenshot as test-output/screenshots/<name>.png, for people to look at. A key on
 * screen (`.key-box code`, or anything marked `data-secret`) is masked: no key in a test artifact.
 */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({
    path: join(SCREENSHOT_DIR, `${name}.png`),
    fullPage: true,
    mask: [page.locator('.key-box code, [data-secret]')],
  });
}

/** A session on the API for setting up a test's data: cookie, CSRF token and same-origin header. */
export async function apiSession(rig: ConsoleRig, email = ADMIN.email, password = ADMIN.password) {
  const signIn = await fetch(`${rig.url}/api/v1.0/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  assert.equal(signIn.status, 200, `sign in as ${email}`);
  const cookie = signIn.headers.get('set-cookie')!.split(';', 1)[0]!;
  const { csrfToken } = (await signIn.json()) as { csrfToken: string };
  /** Calls the API as that user; fails the test on an unexpected status. */
  return async function call<T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
    expectStatus?: number,
  ): Promise<T> {
    const res = await fetch(`${rig.url}/api/v1.0${path}`, {
      method,
      headers: {
        cookie,
        'x-csrf-token': csrfToken,
        origin: rig.url,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    noteSecretsIn(body);
    if (text.startsWith('{')) noteSecretsIn(JSON.parse(text));
    if (expectStatus !== undefined) assert.equal(res.status, expectStatus, `${method} ${path}: ${text}`);
    else assert.ok(res.ok, `${method} ${path}: ${res.status} ${text}`);
    return (text ? JSON.parse(text) : undefined) as T;
  };
}
