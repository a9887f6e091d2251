import { cleanup } from '@testing-library/react';
import { afterEach } from 'vitest';
import { startI18n } from '../src/i18n';

// jsdom lacks CSS.escape, which React Aria uses (rows, modals); the ids it escapes are plain.
const withCss = globalThis as { CSS?: { escape?: (s: string) => string } };
withCss.CSS ??= {};
withCss.CSS.escape ??= (s: string) => s.replace(/[^\w-]/g, (c) => `\\${c}`);
// jsdom lays nothing out, so it has no scrolling; the forms scroll a refused field into view.
Element.prototype.scrollIntoView ??= () => {};
// Node's Request takes no relative URL, and the console's calls are same-origin ('/api/…').
const NodeRequest = globalThis.Request;
globalThis.Request = class extends NodeRequest {
  constructor(input: RequestInfo | URL, init?: RequestInit) {
    super(typeof input === 'string' ? new URL(input, 'http://console.test') : input, init);
  }
} as typeof Request;

// Component tests render in English unless a test switches; the DOM is emptied after each test.
localStorage.setItem('keygate.language', 'en');
startI18n();
afterEach(() => cleanup());
