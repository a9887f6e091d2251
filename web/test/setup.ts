import { cleanup } from '@testing-library/react';
import { afterEach } from 'vitest';
import { startI18n } from '../src/i18n';

// Component tests render in English unless a test switches; the DOM is emptied after each test.
localStorage.setItem('keygate.language', 'en');
startI18n();
afterEach(() => cleanup());
