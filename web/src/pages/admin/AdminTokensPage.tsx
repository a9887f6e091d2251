/** Placeholder until this page is built. */
export default function AdminTokensPage() {
  return <h2>AdminTokensPage</h2>;
}
