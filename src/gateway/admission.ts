import type { CredentialResult } from '../domain/credentials.js';
import { fail } from '../domain/errors.js';
import { KEY_REFUSALS, type RequestAuth } from '../http/authenticate.js';
import type { Keygate } from '../keygate.js';
import type { KeyVerdict } from '../services/access.js';
import { TokenLimits } from '../services/token-limits.js';
import type { Identity } from './identity.js';
import type { TargetResolver } from './targets.js';
import type { GatewayRoute } from './types.js';

const OUT_OF_REACH = 'There is no such resource, or it is outside your reach.';

/** What the gateway decided for an admitted request: who it is, judged where. */
export interface Admission {
  verdict: Extract<KeyVerdict, { token: unknown }>;
  /** The keygate id of the resource the request was judged on ('' for a token with no resource). */
  resourceId: string;
}

/** The parts of a request's `auth` the judgement fills in, for the access log (also on refusal). */
export type AuthNotes = Pick<RequestAuth, 'outcome' | 'token' | 'source' | 'principal'>;

/** What a request presents to be judged. */
export interface Presented {
  credential: CredentialResult;
  route: GatewayRoute;
  params: Record<string, string>;
  query: unknown;
  body: unknown;
}

/**
 * Judges a request against its route with the same services as the API: the key, then the target
 * the route names (a keygate id or the upstream's own id), then the token's rights there. Throws
 * the refusal the core would answer; an out-of-reach target reads exactly as a missing one.
 */
export async function admit(kg: Keygate, targets: TargetResolver, p: Presented, notes: AuthNotes): Promise<Admission> {
  const { credential, route } = p;
  if (credential.kind === 'error') {
    notes.outcome = credential.code;
    fail(credential.code);
  }
  if (credential.kind === 'none') fail('UNAUTHENTICATED', 'Present an API key.');
  notes.source = credential.sources[0]!;
  const ref = targetValue(route, p.params, p.query, p.body);
  const resourceId =
    ref === null ? null : await targets.lookup(ref, route.target.in === 'token' ? undefined : route.target.type);
  const verdict = await kg.access.evaluateKey(credential.key, {
    resourceId: resourceId ?? undefined,
    permission: route.permission,
    apiGroup: route.apiGroup,
  });
  notes.outcome = verdict.code;
  kg.metrics.decided('gateway', verdict.code);
  if (verdict.code === 'MALFORMED' || verdict.code === 'NOT_FOUND') return fail(KEY_REFUSALS[verdict.code]!);
  notes.token = verdict.token;
  const refusal = KEY_REFUSALS[verdict.code];
  if (refusal) fail(refusal);
  if (ref !== null && resourceId === null) fail('NOT_FOUND', OUT_OF_REACH);
  if (
    verdict.code === 'OUT_OF_SCOPE' ||
    (verdict.code === 'INSUFFICIENT_PERMISSIONS' && verdict.permissions.length === 0)
  )
    fail('NOT_FOUND', OUT_OF_REACH);
  if (verdict.code !== 'VALID')
    fail('INSUFFICIENT_PERMISSIONS', `This needs the ${route.permission} permission on the resource.`);
  notes.principal = verdict.principal;
  return { verdict, resourceId: resourceId ?? verdict.token.facts.resourceId ?? '' };
}

/**
 * Checks an admitted request against its token's limits (IP allowlist, rate limit, credits): the
 * same check as /verify and the API. Returns the RateLimit header fields for the client (empty for
 * a token without limits); throws the refusal, after `onHeaders` has been given the fields.
 */
export async function admitLimits(
  kg: Keygate,
  admission: Admission,
  ip: string | undefined,
  notes: Pick<AuthNotes, 'outcome'>,
  onHeaders: (headers: Record<string, string>) => void = () => {},
): Promise<Record<string, string>> {
  const token = admission.verdict.token;
  if (!kg.limits.applies(token)) return {};
  const report = await kg.limits.check(token, { ip });
  onHeaders(report.headers);
  if (report.refusal) {
    notes.outcome = report.refusal;
    throw TokenLimits.error(report);
  }
  return report.headers;
}

/** The identity an admitted request carries upstream. */
export function identityOf(admission: Admission, requestId: string): Identity {
  const facts = admission.verdict.token.facts;
  return {
    tokenId: facts.id,
    ownerId: facts.ownerId,
    userId: facts.impersonateUserId ?? facts.ownerId,
    resourceId: admission.resourceId,
    scopeId: facts.resourceId ?? '',
    permissions: admission.verdict.permissions,
    requestId,
  };
}

/**
 * The value that names a route's target resource, or null for the token's own resource: routes
 * that act on it, and list endpoints whose optional filter (`?folderId=`) was left out — the
 * upstream then filters by the identity's scope. A path parameter is always there.
 */
export function targetValue(
  route: GatewayRoute,
  params: Record<string, string>,
  query: unknown,
  body: unknown,
): string | null {
  const t = route.target;
  if (t.in === 'token') return null;
  const where = t.in === 'path' ? 'path parameter' : t.in === 'query' ? 'query parameter' : 'body field';
  const from = t.in === 'path' ? params : t.in === 'query' ? query : body;
  if (from === null || typeof from !== 'object') return null;
  // Names are matched ignoring case, and two spellings are refused: many upstreams (ASP.NET's
  // binders, for one) read `folderid` as `folderId`, and must not act on one the gateway did not judge.
  const lower = t.name.toLowerCase();
  const names = Object.keys(from).filter((k) => k.toLowerCase() === lower);
  if (names.length > 1) fail('VALIDATION_FAILED', `The ${where} ${t.name} is given more than once.`, t.name);
  const value = names.length === 1 ? (from as Record<string, unknown>)[names[0]!] : undefined;
  if (value === undefined || value === null) return null;
  if ((typeof value === 'string' && value !== '') || (typeof value === 'number' && Number.isFinite(value)))
    return String(value);
  return fail('VALIDATION_FAILED', `The ${where} ${t.name} must name one resource.`, t.name);
}
