/** Placeholder until this page is built. */
export default function TokenPage() {
  return <h1>TokenPage</h1>;
}
