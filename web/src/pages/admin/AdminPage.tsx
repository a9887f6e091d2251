import { lazy, Suspense } from 'react';
import { useTranslation } from 'react-i18next';
import { Navigate, NavLink, Route, Routes } from 'react-router';
import { Loading } from '../../components/ui';
import { useMe } from '../../session';

const AdminTokensPage = lazy(() => import('./AdminTokensPage'));
const UsersPage = lazy(() => import('./UsersPage'));
const AuditPage = lazy(() => import('./AuditPage'));

/** Administration: every user's tokens, the users, and the audit trail (system administrators only). */
export default function AdminPage() {
  const { t } = useTranslation();
  const me = useMe().data;
  if (me?.systemRole !== 'admin') return <Navigate to="/" replace />;
  const link = ({ isActive }: { isActive: boolean }) => (isActive ? 'subnav-link active' : 'subnav-link');
  return (
    <>
      <h1>{t('app.administration')}</h1>
      <nav aria-label={t('app.administration')} className="subnav">
        <NavLink to="/admin/tokens" className={link}>
          {t('app.adminTokens')}
        </NavLink>
        <NavLink to="/admin/users" className={link}>
          {t('app.adminUsers')}
        </NavLink>
        <NavLink to="/admin/audit" className={link}>
          {t('app.adminAudit')}
        </NavLink>
      </nav>
      <Suspense fallback={<Loading />}>
        <Routes>
          <Route index element={<Navigate to="tokens" replace />} />
          <Route path="tokens" element={<AdminTokensPage />} />
          <Route path="users" element={<UsersPage />} />
          <Route path="audit" element={<AuditPage />} />
        </Routes>
      </Suspense>
    </>
  );
}
