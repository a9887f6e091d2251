/** The API's published changes, newest first, so integrators can subscribe (JSON or Atom). */
export interface ChangelogEntry {
  id: string;
  date: string;
  version: string;
  title: string;
  body: string;
}

export const CHANGELOG: ChangelogEntry[] = [
  {
    id: '2026-12-07-hardening',
    date: '2026-12-07T00:00:00Z',
    version: 'v1.0',
    title: 'Hardening: clearer refusals, no echoed secrets',
    body:
      'A VALIDATION_FAILED message no longer repeats an unexpected field name that is not shaped like one of the API\'s own (it says "(unnamed)"), so a key sent as a field name is never echoed. ' +
      'A request arriving on a kept-alive connection while an instance shuts down gets 503 UNAVAILABLE in the error envelope with Connection: close. ' +
      'POST /secret-scanning/github answers 429 RATE_LIMITED after 20 badly signed reports a minute from one address. ' +
      'GET /metrics is documented as text/plain. A 404 for an id outside your reach and one for an id that does not exist now take the same work.',
  },
  {
    id: '2026-11-28-leaks-and-operations',
    date: '2026-11-28T00:00:00Z',
    version: 'v1.0',
    title: 'Leaked-key reports, readiness and metrics',
    body:
      'POST /api/v1.0/revoke {key} (public, rate-limited) switches off the token of a leaked key and always answers 202; ' +
      'POST /api/v1.0/secret-scanning/github takes GitHub secret scanning partner reports (signed, when configured). ' +
      'GET /ready (database, change channel, Redis) and GET /metrics (Prometheus) join GET /health. ' +
      'Keys from an address that keeps guessing are refused with 429 RATE_LIMITED for a while; POST /verify applies the same to the ip it is given. ' +
      'A token with limits can no longer change limits or create tokens (403 FORBIDDEN). Every operation now has an operationId.',
  },
  {
    id: '2026-11-27-token-limits',
    date: '2026-11-27T00:00:00Z',
    version: 'v1.0',
    title: 'Per-token rate limits, credits and IP allowlists',
    body:
      'Tokens carry rateLimit ({limit, window, per} | "unlimited" | null for the level default), credits ({remaining, refill} | null) and ipAllowlist (addresses and CIDR ranges | null), set on create and PATCH. ' +
      'POST /verify takes ip and cost, and may answer valid: false with RATE_LIMITED, USAGE_EXCEEDED or IP_NOT_ALLOWED; answers about tokens with limits carry ratelimit, credits and cacheable: false. ' +
      'Calls with such a key (API and gateway) may be refused with 429 RATE_LIMITED, 429 USAGE_EXCEEDED or 403 IP_NOT_ALLOWED, and carry the RateLimit-Policy and RateLimit header fields. Additive: tokens without limits answer as before.',
  },
  {
    id: '2026-11-26-events',
    date: '2026-11-26T00:00:00Z',
    version: 'v1.0',
    title: 'Live change events for verify caches',
    body:
      'GET /api/v1.0/events (a token with keys:verify) streams Server-Sent Events: ready, then {"changes": [...]} per committed batch ' +
      '(token, keys, user, resource and membership ids within your reach, never keys); Last-Event-ID replays missed events, or answers reset.',
  },
  {
    id: '2026-11-25-external-ids',
    date: '2026-11-25T00:00:00Z',
    version: 'v1.0',
    title: 'External ids; upsert resources in bulk',
    body:
      "Resources carry externalId: the platform's own id (unique per type, null when none); POST /resources accepts it. " +
      'POST /api/v1.0/resources/bulk with {"items": [{"externalId", "type", "name", "parentExternalId" or "parentId"}]} (1 to 1000) ' +
      'creates, renames or moves them by (type, externalId) in one transaction and answers {"items": [{"externalId", "type", "id", "status"}]} in the order given. ' +
      'GET /api/v1.0/resources?externalId=X (&type=T) finds the resources within your reach that carry it. Additive: other answers are unchanged.',
  },
  {
    id: '2026-11-25-bulk-deactivate',
    date: '2026-11-25T00:00:00Z',
    version: 'v1.0',
    title: 'Deactivate many tokens at once',
    body:
      'POST /api/v1.0/tokens/deactivate with {"ids": [...]} (1 to 500 token ids) deactivates each as POST /tokens/{id}/deactivate would, ' +
      'and answers {"results": [{"id", "ok", "code"}]} in the order given.',
  },
  {
    id: '2026-11-25-user-search',
    date: '2026-11-25T00:00:00Z',
    version: 'v1.0',
    title: 'Search users',
    body: 'GET /api/v1.0/users?q=text (administrators) lists the users whose email address or name contains the text, ignoring case.',
  },
  {
    id: '2026-11-25-resource-search',
    date: '2026-11-25T00:00:00Z',
    version: 'v1.0',
    title: 'Search resources; resources carry their path',
    body:
      'GET /api/v1.0/resources?q=text lists every resource you can read whose name contains the text, ignoring case, by name. ' +
      'Search results and GET /resources/{id} carry path: the ancestors you may see, top first. Additive: other answers are unchanged.',
  },
  {
    id: '2026-11-25-model',
    date: '2026-11-25T00:00:00Z',
    version: 'v1.0',
    title: 'What this keygate offers',
    body:
      'GET /api/v1.0/model tells any signed-in user or token the resource types, permissions, levels, API groups and token policy ' +
      '(the expiry presets allowed, the longest lifetime, recoverable and custom keys, logging modes).',
  },
  {
    id: '2026-11-24-v1.0',
    date: '2026-11-24T00:00:00Z',
    version: 'v1.0',
    title: 'API v1.0 released',
    body:
      'Resources, members and roles; API tokens with permission levels or fine-grained permissions, API groups, expiry, ' +
      'activation, rolling with a grace period and impersonation; key verification for other services (POST /api/v1.0/verify). ' +
      'Keys are accepted in X-API-Key, X-ApiKey, Authorization (apiToken or Bearer), the key/apiToken query parameters, ' +
      'a form field key and a JSON property API_Key.',
  },
];

function xml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** The changelog as an Atom feed, with absolute links from `base` (scheme://host). */
export function changelogAtom(base: string): string {
  const updated = CHANGELOG[0]?.date ?? new Date(0).toISOString();
  const entries = CHANGELOG.map(
    (e) => `  <entry>
    <id>urn:keygate:changelog:${xml(e.id)}</id>
    <title>${xml(`${e.version}: ${e.title}`)}</title>
    <updated>${xml(e.date)}</updated>
    <link href="${xml(`${base}/api/changelog#${e.id}`)}"/>
    <content type="text">${xml(e.body)}</content>
  </entry>`,
  ).join('\n');
  return `<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <id>urn:keygate:changelog</id>
  <title>keygate API changes</title>
  <updated>${xml(updated)}</updated>
  <link rel="self" href="${xml(`${base}/api/changelog.atom`)}"/>
  <author><name>keygate</name></author>
${entries}
</feed>
`;
}
