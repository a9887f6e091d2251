import { fail } from '../domain/errors.js';
import type { AccessModel } from '../domain/model.js';
import type { VerifyAnswer } from '../schemas.js';
import type { Access, KeyQuestion, KeyVerdict } from './access.js';
import type { Principal } from './principal.js';
import { parseClientAddress } from '../domain/ip-allowlist.js';
import type { RefusedKeyThrottle } from './refused-key-throttle.js';
import type { LimitReport, TokenLimits } from './token-limits.js';

/** Answers that mean a guess (no such key, or not a key): counted against the client address the verifier names. */
const KEY_REFUSALS: ReadonlySet<string> = new Set(['MALFORMED', 'NOT_FOUND']);

/** One way of giving an answer: as an object, or as JSON text. */
interface AnswerForm<T> {
  /** The answer about a verdict with no limits to check. */
  plain(caller: Principal, verdict: KeyVerdict): T;
  /** The answer about a token with limits: its verdict, and the report of checking a valid key (null when not valid). */
  limited(verdict: Judged, report: LimitReport | null): T;
  of(answer: VerifyAnswer): T;
  code(answer: T): string;
}

/** The answer about a token with limits, as an object: never cacheable, with what the check found. */
function limitedAnswer(verdict: Judged, report: LimitReport | null): VerifyAnswer {
  const answer: VerifyAnswer = { ...shape(verdict), cacheable: false };
  if (report === null) return answer;
  if (report.refusal) {
    answer.valid = false;
    answer.code = report.refusal;
  }
  if (report.ratelimit) answer.ratelimit = report.ratelimit;
  if (report.credits) answer.credits = report.credits;
  return answer;
}

export type { VerifyAnswer };

/** What a verifier asks: a key and, optionally, its right to a permission on a resource through an API group. */
export interface VerifyQuestion extends KeyQuestion {
  key: string;
  /** The address of the client that presented the key (needed by tokens with an IP allowlist). */
  ip?: string | undefined;
  /** Credits this use takes from a token with credits (default 1). */
  cost?: number | undefined;
}

/** A verdict about an existing token (every code but MALFORMED and NOT_FOUND). */
type Judged = Extract<KeyVerdict, { token: unknown }>;

const MALFORMED: VerifyAnswer = Object.freeze({ valid: false, code: 'MALFORMED' });
const NOT_FOUND: VerifyAnswer = Object.freeze({ valid: false, code: 'NOT_FOUND' });
const MALFORMED_JSON = JSON.stringify(MALFORMED);
const NOT_FOUND_JSON = JSON.stringify(NOT_FOUND);

/**
 * Key verification for other services, shared by the HTTP route, the CLI, the console and the
 * gateway: who may verify, which tokens a verifier may see, and what the answer says.
 *
 * A verifier is a token holding keys:verify at its own resource, and it sees only tokens on
 * resources where it holds keys:verify itself; every other token is answered NOT_FOUND, exactly as
 * a key that was never issued, so a verifier learns nothing about tokens outside its reach.
 */
export class VerifyService {
  /**
   * The JSON answer per verdict. Access hands out the very same verdict object while nothing it
   * was decided on has changed, so a warm verify serialises nothing; the answer of a verdict
   * depends on the verdict alone (visibility is checked before, per caller).
   */
  private readonly json = new WeakMap<KeyVerdict, string>();

  constructor(
    private readonly model: AccessModel,
    private readonly access: Access,
    private readonly limits: TokenLimits,
    private readonly refusedKeys?: RefusedKeyThrottle,
  ) {}

  /** An answer as an object, for callers that read it. */
  private readonly asObject: AnswerForm<VerifyAnswer> = {
    plain: (caller, v) => this.answer(caller, v),
    limited: limitedAnswer,
    of: (a) => a,
    code: (a) => a.code,
  };

  /** An answer as JSON text (remembered per verdict when no limit applies), for callers that send it on. */
  private readonly asJson: AnswerForm<string> = {
    plain: (caller, v) => this.answerJson(caller, v),
    // Every use of a limited key gets a fresh answer: the token part is the text remembered per
    // verdict, and only what the check found is written per request.
    limited: (v, report) => {
      if (report?.refusal) return JSON.stringify(limitedAnswer(v, report));
      const rate = report?.ratelimit;
      const credits = report?.credits;
      return `${this.shapeJson(v).slice(0, -1)},"cacheable":false${
        rate ? `,"ratelimit":{"limit":${rate.limit},"remaining":${rate.remaining},"resetMs":${rate.resetMs}}` : ''
      }${credits ? `,"credits":{"remaining":${credits.remaining}}` : ''}}`;
    },
    of: (a) => JSON.stringify(a),
    // Only with an address: the code is read back from the text the answer is anyway.
    code: (text) => (JSON.parse(text) as VerifyAnswer).code,
  };

  /**
   * Judges a key for a verifier; answers synchronously when everything it needs is cached and the
   * token has no limits. A valid key of a token with limits is checked against them (and counted);
   * `headers` receives the RateLimit header fields of that check.
   */
  verify(
    caller: Principal,
    q: VerifyQuestion,
    headers: Record<string, string> = {},
  ): VerifyAnswer | Promise<VerifyAnswer> {
    return this.decide(caller, q, headers, this.asObject);
  }

  /** The same answer as `verify`, as JSON text, for callers that send it on. */
  verifyJson(caller: Principal, q: VerifyQuestion, headers: Record<string, string> = {}): string | Promise<string> {
    return this.decide(caller, q, headers, this.asJson);
  }

  /**
   * The answer in the given form. With the client's address (`ip`), the refused-key block applies
   * as at the API and the gateway: a blocked address is answered RATE_LIMITED (with Retry-After)
   * before its key is looked up, and a key refused as no good counts against it.
   */
  private decide<T>(
    caller: Principal,
    q: VerifyQuestion,
    headers: Record<string, string>,
    form: AnswerForm<T>,
  ): T | Promise<T> {
    const judged = (): T | Promise<T> => {
      const verdict = this.judge(caller, q);
      const answer = (v: KeyVerdict) =>
        this.isLimited(caller, v)
          ? this.checkLimits(v, q, headers).then((report) => form.limited(v, report))
          : form.plain(caller, v);
      return verdict instanceof Promise ? verdict.then(answer) : answer(verdict);
    };
    const ip = q.ip;
    const throttle = this.refusedKeys;
    if (ip === undefined || !throttle) return judged();
    this.requireVerifier(caller);
    if (parseClientAddress(ip) === null) fail('VALIDATION_FAILED', 'ip must be an IPv4 or IPv6 address.', 'ip');
    return (async () => {
      const wait = await throttle.check(ip);
      if (wait > 0) {
        headers['retry-after'] = String(wait);
        return form.of({ valid: false, code: 'RATE_LIMITED', cacheable: false });
      }
      const result = await judged();
      if (KEY_REFUSALS.has(form.code(result))) await throttle.refused(ip).catch(() => {});
      return result;
    })();
  }

  /** Whether the answer is about a token the verifier sees that has limits: answered fresh, never cached. */
  private isLimited(caller: Principal, verdict: KeyVerdict): verdict is Judged {
    return (
      verdict.code !== 'MALFORMED' &&
      'token' in verdict &&
      this.limits.applies(verdict.token) &&
      this.sees(caller, verdict)
    );
  }

  /** Checks a valid key of a token with limits (and counts it); null for any other verdict. */
  private async checkLimits(
    verdict: Judged,
    q: VerifyQuestion,
    headers: Record<string, string>,
  ): Promise<LimitReport | null> {
    if (verdict.code !== 'VALID') return null;
    const report = await this.limits.check(verdict.token, { ip: q.ip, cost: q.cost });
    Object.assign(headers, report.headers);
    return report;
  }

  /** Refuses a caller that is not a verifier: a token holding keys:verify at its own resource. */
  requireVerifier(caller: Principal): void {
    if (caller.kind !== 'token' || !this.access.permissionsAt(caller, caller.home).has('keys:verify')) {
      fail('INSUFFICIENT_PERMISSIONS', 'Verifying keys needs a token with the keys:verify permission.');
    }
  }

  /**
   * The verifier a key stands for now (through the verify API group), or null when it no longer
   * is one: the event stream asks again before every batch, so a deactivated verifier stops hearing.
   */
  async verifierNow(key: string): Promise<Principal | null> {
    const verdict = await this.access.evaluateKey(key, { apiGroup: 'verify' });
    if (verdict.code !== 'VALID') return null;
    const caller = verdict.principal;
    return caller.kind === 'token' && this.access.permissionsAt(caller, caller.home).has('keys:verify') ? caller : null;
  }

  /** Checks the caller and the question, then asks Access about the key. */
  private judge(caller: Principal, q: VerifyQuestion): KeyVerdict | Promise<KeyVerdict> {
    this.requireVerifier(caller);
    const { key, resourceId, permission, apiGroup, ip } = q;
    if (ip !== undefined && parseClientAddress(ip) === null)
      fail('VALIDATION_FAILED', 'ip must be an IPv4 or IPv6 address.', 'ip');
    if (permission !== undefined && !Object.hasOwn(this.model.permissions, permission))
      fail('UNKNOWN_PERMISSION', `Unknown permission ${permission}.`, 'permission');
    if (apiGroup !== undefined && !Object.hasOwn(this.model.apiGroups, apiGroup))
      fail('UNKNOWN_API_GROUP', `Unknown API group ${apiGroup}.`, 'apiGroup');
    return this.access.evaluateKey(key, { resourceId, permission, apiGroup });
  }

  /** Whether the verifier may see the judged token: keys:verify at the token's own resource. */
  private sees(caller: Principal, verdict: KeyVerdict): verdict is Judged {
    if (!('token' in verdict)) return false;
    const home = verdict.principal.kind === 'token' ? verdict.principal.home : [];
    return this.access.permissionsAt(caller, home).has('keys:verify');
  }

  private answer(caller: Principal, verdict: KeyVerdict): VerifyAnswer {
    if (verdict.code === 'MALFORMED') return MALFORMED;
    if (!this.sees(caller, verdict)) return NOT_FOUND;
    return shape(verdict);
  }

  private answerJson(caller: Principal, verdict: KeyVerdict): string {
    if (verdict.code === 'MALFORMED') return MALFORMED_JSON;
    if (!this.sees(caller, verdict)) return NOT_FOUND_JSON;
    return this.shapeJson(verdict);
  }

  /** The answer about a token the verifier sees, as JSON text, serialised once per verdict. */
  private shapeJson(verdict: Judged): string {
    let json = this.json.get(verdict);
    if (json === undefined) {
      json = JSON.stringify(shape(verdict));
      this.json.set(verdict, json);
    }
    return json;
  }
}

/** The contract's answer for a token the verifier may see: never the key or its hash. */
function shape(verdict: Judged): VerifyAnswer {
  const t = verdict.token;
  // Fields in the order of the contract's schema, so the JSON reads the same as a serialised answer.
  return {
    valid: verdict.code === 'VALID',
    code: verdict.code,
    token: {
      id: t.facts.id,
      name: t.row.name,
      ownerId: t.facts.ownerId,
      resourceId: t.facts.resourceId,
      permissions: [...verdict.permissions],
      apiGroups: [...t.facts.apiGroups],
      expiresAt: t.facts.expiresAt,
      impersonateUserId: t.facts.impersonateUserId,
      logging: t.row.logging,
    },
  };
}
