// Another service asks keygate whether a presented key may do something. Its own key needs keys:verify.
const url = process.env.KEYGATE_URL ?? 'http://localhost:8080';
const serviceKey = process.env.KEYGATE_KEY;
const [presented, resourceId, permission] = process.argv.slice(2);
if (!serviceKey || !presented) {
  console.error('usage: KEYGATE_KEY=<service key> npx tsx verify.ts <presented key> [resourceId] [permission]');
  process.exit(2);
}

const res = await fetch(`${url}/api/v1.0/verify`, {
  method: 'POST',
  headers: { 'content-type': 'application/json', 'x-api-key': serviceKey },
  body: JSON.stringify({ key: presented, resourceId, permission }),
});
const answer = (await res.json()) as {
  valid?: boolean;
  code?: string;
  token?: { id: string; ownerId: string; permissions: string[] };
  error?: { code: string; message: string };
};
if (!res.ok) {
  console.error(`${res.status} ${answer.error?.code}: ${answer.error?.message}`);
  process.exit(1);
}
console.log(answer.valid ? `allowed (${answer.token?.id}, owner ${answer.token?.ownerId})` : `refused: ${answer.code}`);
