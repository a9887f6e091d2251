/** Placeholder until this page is built. */
export default function UsersPage() {
  return <h2>UsersPage</h2>;
}
