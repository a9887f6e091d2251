/** A key shown once, with a copy button and the warning that it will not be shown again. (Placeholder.) */
export function KeyReveal({ keyValue }: { keyValue: string }) {
  return <code>{keyValue}</code>;
}
