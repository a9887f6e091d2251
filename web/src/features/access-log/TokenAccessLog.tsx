/** A token's access log: filterable table, a record's request and response, requests and errors per day. (Placeholder.) */
export function TokenAccessLog({ tokenId }: { tokenId: string }) {
  return <p>{tokenId}</p>;
}
