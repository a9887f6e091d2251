/** Placeholder until this page is built. */
export default function MyTokensPage() {
  return <h1>MyTokensPage</h1>;
}
