import { useState } from 'react';
import { Form } from 'react-aria-components';
import { useTranslation } from 'react-i18next';
import { Navigate, useSearchParams } from 'react-router';
import { formErrors } from '../api/errors';
import { Button, ErrorMessage, TextField } from '../components/ui';
import { Preferences } from '../layout/Shell';
import { useMe, useSignIn } from '../session';

/** Where the console starts after signing in, unless the user was sent here from a deeper page. */
function safeNext(next: string | null): string {
  // Only a path on this site: "//evil.example" or "https://…" would be an open redirect.
  return next?.startsWith('/') && !next.startsWith('//') ? next : '/';
}

/** Sign in with email and password. */
export function SignIn() {
  const { t } = useTranslation();
  const [params] = useSearchParams();
  const me = useMe();
  const signIn = useSignIn();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  if (me.data) return <Navigate to={safeNext(params.get('next'))} replace />;
  const { validationErrors, formError } = formErrors(t, signIn.error, ['email', 'password']);
  return (
    <main id="main" className="sign-in">
      <div className="sign-in-card">
        <h1>{t('auth.title')}</h1>
        {params.get('signedOut') && !signIn.isPending && (
          <p role="status" className="alert alert-info">
            {t('auth.signedOut')}
          </p>
        )}
        <Form
          validationErrors={validationErrors}
          onSubmit={(e) => {
            e.preventDefault();
            signIn.mutate({ email, password });
          }}
        >
          <TextField
            label={t('auth.email')}
            name="email"
            type="email"
            autoComplete="username"
            isRequired
            value={email}
            onChange={setEmail}
            autoFocus
          />
          <TextField
            label={t('auth.password')}
            name="password"
            type="password"
            autoComplete="current-password"
            isRequired
            value={password}
            onChange={setPassword}
          />
          <ErrorMessage text={formError} />
          <Button type="submit" variant="primary" isPending={signIn.isPending}>
            {signIn.isPending ? t('auth.signingIn') : t('auth.signIn')}
          </Button>
        </Form>
        <Preferences />
      </div>
    </main>
  );
}
