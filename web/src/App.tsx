import { lazy, Suspense, type ReactNode } from 'react';
import { RouterProvider } from 'react-aria-components';
import { useTranslation } from 'react-i18next';
import { BrowserRouter, Navigate, Route, Routes, useHref, useLocation, useNavigate } from 'react-router';
import { ErrorMessage, Loading } from './components/ui';
import { Shell } from './layout/Shell';
import { SignIn } from './pages/SignIn';
import { useMe } from './session';

// Pages are loaded when first visited: the first load stays small (the budget is in vite.config.ts).
const ResourcesPage = lazy(() => import('./pages/resources/ResourcesPage'));
const ResourcePage = lazy(() => import('./pages/resources/ResourcePage'));
const MyTokensPage = lazy(() => import('./pages/tokens/MyTokensPage'));
const TokenPage = lazy(() => import('./pages/tokens/TokenPage'));
const AdminPage = lazy(() => import('./pages/admin/AdminPage'));

/** Pages for signed-in users; anyone else is sent to sign in, and back here afterwards. */
function SignedIn({ children }: { children: ReactNode }) {
  const me = useMe();
  const location = useLocation();
  if (me.isPending) return <Loading />;
  if (me.isError) return <ErrorMessage error={me.error} />;
  if (!me.data)
    return <Navigate to={`/sign-in?next=${encodeURIComponent(location.pathname + location.search)}`} replace />;
  return (
    <Shell>
      <Suspense fallback={<Loading />}>{children}</Suspense>
    </Shell>
  );
}

function NotFound() {
  const { t } = useTranslation();
  return (
    <section>
      <h1>{t('app.notFound')}</h1>
      <a href="/">{t('app.backHome')}</a>
    </section>
  );
}

/** React Aria's links and rows navigate through React Router, without reloading the page. */
function AriaRouting({ children }: { children: ReactNode }) {
  const navigate = useNavigate();
  return (
    <RouterProvider navigate={(to) => void navigate(to)} useHref={useHref}>
      {children}
    </RouterProvider>
  );
}

/** The console's routes; the server answers every one of these paths with the app, so deep links reload. */
export function App() {
  return (
    <BrowserRouter>
      <AriaRouting>
        <Routes>
          <Route path="/sign-in" element={<SignIn />} />
          <Route path="/" element={<Navigate to="/resources" replace />} />
          <Route
            path="/resources"
            element={
              <SignedIn>
                <ResourcesPage />
              </SignedIn>
            }
          />
          <Route
            path="/resources/:id"
            element={
              <SignedIn>
                <ResourcePage />
              </SignedIn>
            }
          />
          <Route
            path="/tokens"
            element={
              <SignedIn>
                <MyTokensPage />
              </SignedIn>
            }
          />
          <Route
            path="/tokens/:id"
            element={
              <SignedIn>
                <TokenPage />
              </SignedIn>
            }
          />
          <Route
            path="/admin/*"
            element={
              <SignedIn>
                <AdminPage />
              </SignedIn>
            }
          />
          <Route
            path="*"
            element={
              <SignedIn>
                <NotFound />
              </SignedIn>
            }
          />
        </Routes>
      </AriaRouting>
    </BrowserRouter>
  );
}
