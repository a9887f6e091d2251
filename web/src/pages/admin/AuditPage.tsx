/** Placeholder until this page is built. */
export default function AuditPage() {
  return <h2>AuditPage</h2>;
}
