import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { NavLink, useNavigate } from 'react-router';
import { useMe, useSignOut } from '../session';
import { languages } from '../i18n';
import { useTheme, type ThemeChoice } from '../theme';
import { Button, SelectField } from '../components/ui';

/** The frame of every signed-in page: skip link, header with navigation and preferences, and the main landmark. */
export function Shell({ children }: { children: ReactNode }) {
  const { t } = useTranslation();
  const me = useMe().data;
  const signOut = useSignOut();
  const navigate = useNavigate();
  const link = ({ isActive }: { isActive: boolean }) => (isActive ? 'nav-link active' : 'nav-link');
  return (
    <>
      <a className="skip-link" href="#main">
        {t('app.skipToContent')}
      </a>
      <header className="app-header">
        <NavLink to="/" className="brand">
          {t('app.name')}
        </NavLink>
        <nav aria-label={t('app.mainNav')} className="main-nav">
          <NavLink to="/resources" className={link}>
            {t('app.resources')}
          </NavLink>
          <NavLink to="/tokens" className={link}>
            {t('app.myTokens')}
          </NavLink>
          {me?.systemRole === 'admin' && (
            <NavLink to="/admin" className={link}>
              {t('app.administration')}
            </NavLink>
          )}
        </nav>
        <div className="header-tools">
          <Preferences />
          {me && (
            <Button
              variant="quiet"
              onPress={() => signOut.mutate(undefined, { onSettled: () => navigate('/sign-in?signedOut=1') })}
              aria-label={`${t('app.signOut')} (${t('app.signedInAs', { name: me.name || me.email })})`}
            >
              {t('app.signOut')}
            </Button>
          )}
        </div>
      </header>
      <main id="main" tabIndex={-1} className="app-main">
        {children}
      </main>
    </>
  );
}

/** Language and theme: shown signed in and out alike. */
export function Preferences() {
  const { t, i18n } = useTranslation();
  const [theme, setTheme] = useTheme();
  return (
    <div className="preferences">
      <SelectField
        label={t('language.label')}
        choices={languages.map((l) => ({ id: l.code, label: l.name }))}
        value={i18n.resolvedLanguage ?? 'en'}
        onChange={(code) => void i18n.changeLanguage(code)}
      />
      <SelectField
        label={t('app.theme')}
        choices={(['system', 'light', 'dark'] as const).map((c) => ({
          id: c,
          label: t(`app.theme${c[0]!.toUpperCase()}${c.slice(1)}`),
        }))}
        value={theme}
        onChange={(c) => setTheme(c as ThemeChoice)}
      />
    </div>
  );
}
