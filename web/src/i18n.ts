import i18next from 'i18next';
import LanguageDetector from 'i18next-browser-languagedetector';
import { initReactI18next } from 'react-i18next';

/**
 * Every language is one file in ./locales, named by its BCP 47 code: adding a language is adding a
 * file. English is the fallback for a key a translation lacks.
 */
const files = import.meta.glob<{ default: Record<string, unknown> }>('./locales/*.json', { eager: true });

export const resources = Object.fromEntries(
  Object.entries(files).map(([path, module]) => [/([^/]+)\.json$/.exec(path)![1]!, { translation: module.default }]),
);

/** The languages offered, each with its name in its own language (from its file's `language.name`). */
export const languages = Object.entries(resources).map(([code, { translation }]) => ({
  code,
  name: (translation.language as { name: string }).name,
}));

/** Where the chosen language is remembered: not a secret, and only this. */
export const LANGUAGE_STORAGE_KEY = 'keygate.language';

/** Starts i18next: the remembered choice, else the browser's languages, else English. */
export function startI18n(): typeof i18next {
  void i18next
    .use(LanguageDetector)
    .use(initReactI18next)
    .init({
      resources,
      fallbackLng: 'en',
      supportedLngs: Object.keys(resources),
      nonExplicitSupportedLngs: true,
      load: 'languageOnly',
      interpolation: { escapeValue: false }, // React escapes.
      detection: {
        order: ['localStorage', 'navigator'],
        lookupLocalStorage: LANGUAGE_STORAGE_KEY,
        caches: ['localStorage'],
      },
      returnNull: false,
    });
  const sync = (lng: string) => {
    document.documentElement.lang = lng;
  };
  sync(i18next.resolvedLanguage ?? 'en');
  i18next.on('languageChanged', () => sync(i18next.resolvedLanguage ?? 'en'));
  return i18next;
}
