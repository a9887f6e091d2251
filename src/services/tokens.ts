import { KeygateError, fail, type ErrorCode } from '../domain/errors.js';
import { validate } from '../domain/validate.js';
import {
  ExpiringQuery,
  TokenCreate,
  TokenIds,
  TokenListQuery,
  TokenPatch as TokenPatchSchema,
  TokenRoll,
} from '../schemas.js';
import { resolveExpiry } from '../domain/expiry.js';
import { newId } from '../domain/ids.js';
import { NATIVE_API_GROUP, levelPermissions, type AccessModel } from '../domain/model.js';
import {
  apiGroupAllows,
  deactivatedByOther,
  deactivationHolds,
  escalation,
  strongerThanActor,
  type Ancestry,
  type TokenFacts,
} from '../domain/policy.js';
import type { Stores, TransactionStores } from '../store/index.js';
import type { TokenFilter, TokenRow } from '../store/tokens.js';
import type { Access } from './access.js';
import { tokenFacts } from './access-cache.js';
import { fieldChanges, type Actor, type AuditTrail, type Origin } from './audit.js';
import type { KeyRing } from './key-ring.js';
import { actingUser, isSystemAdmin, ownerId, type Principal } from './principal.js';
import type { UserService } from './users.js';
import { invalidAllowlistEntries } from '../domain/ip-allowlist.js';
import { formatWindow, parseWindow } from '../domain/token-limits.js';
import { parseDuration } from '../domain/expiry.js';
import { rateLimitSetting } from './token-limits.js';

type LimitColumns = Pick<
  TokenRow,
  | 'rate_limit'
  | 'rate_window_ms'
  | 'rate_per'
  | 'credits_remaining'
  | 'credits_refill_amount'
  | 'credits_refill_interval_ms'
  | 'credits_refilled_at'
  | 'ip_allowlist'
>;

/** The columns a token's limit settings are stored in; only the fields given are returned (a PATCH leaves the others). */
export function limitColumns(
  input: Pick<TokenInput, 'rateLimit' | 'credits' | 'ipAllowlist'>,
  nowMs: number,
): Partial<LimitColumns> {
  const set: Partial<LimitColumns> = {};
  if (input.rateLimit !== undefined) {
    const r = input.rateLimit;
    if (r === null || r === 'unlimited') {
      set.rate_limit = r === null ? null : 0;
      set.rate_window_ms = r === null ? null : 0;
      set.rate_per = null;
    } else {
      const windowMs =
        parseWindow(r.window) ??
        fail(
          'VALIDATION_FAILED',
          'rateLimit.window must be whole seconds from 1s to 1d, such as 1m.',
          'rateLimit.window',
        );
      set.rate_limit = r.limit;
      set.rate_window_ms = windowMs;
      set.rate_per = r.per ?? 'token';
    }
  }
  if (input.credits !== undefined) {
    const c = input.credits;
    const refill = c?.refill ?? null;
    const intervalMs =
      refill === null
        ? null
        : (() => {
            const ms = parseDuration(refill.interval);
            return ms !== null && ms >= 1000
              ? ms
              : fail(
                  'VALIDATION_FAILED',
                  'credits.refill.interval must be a duration such as 1h, 1d or 30d.',
                  'credits.refill.interval',
                );
          })();
    set.credits_remaining = c === null ? null : c.remaining;
    set.credits_refill_amount = refill?.amount ?? null;
    set.credits_refill_interval_ms = intervalMs;
    set.credits_refilled_at = c === null ? null : nowMs;
  }
  if (input.ipAllowlist !== undefined) {
    const list = input.ipAllowlist;
    if (list !== null) {
      const bad = invalidAllowlistEntries(list);
      if (bad.length > 0)
        fail(
          'VALIDATION_FAILED',
          `ipAllowlist must hold IP addresses and CIDR ranges; not: ${bad.map((b) => JSON.stringify(b)).join(', ')}.`,
          'ipAllowlist',
        );
    }
    set.ip_allowlist = list === null ? null : JSON.stringify([...new Set(list.map((e) => e.trim()))]);
  }
  return set;
}

/** A token's limit settings as the API and the audit trail show them. */
export function limitSettings(row: TokenRow) {
  const rate = rateLimitSetting(row);
  return {
    rateLimit:
      rate === null || rate === 'unlimited'
        ? rate
        : { limit: rate.limit, window: formatWindow(rate.windowMs), per: rate.per },
    credits:
      row.credits_remaining === null
        ? null
        : {
            remaining: Number(row.credits_remaining),
            refill:
              row.credits_refill_amount === null || row.credits_refill_interval_ms === null
                ? null
                : {
                    amount: Number(row.credits_refill_amount),
                    interval: formatWindow(Number(row.credits_refill_interval_ms)),
                  },
            refilledAt:
              row.credits_refilled_at === null ? null : new Date(Number(row.credits_refilled_at)).toISOString(),
          },
    ipAllowlist: row.ip_allowlist === null ? null : (JSON.parse(row.ip_allowlist) as string[]),
  };
}

export type LoggingMode = 'none' | 'request' | 'request+response';

export interface TokenInput {
  name: string;
  description?: string | undefined;
  level?: string | undefined;
  permissions?: string[] | undefined;
  apiGroups?: string[] | undefined;
  expiresIn?: string | undefined;
  expiresAt?: string | null | undefined;
  logging?: LoggingMode | undefined;
  impersonate?: string | null | undefined;
  /** A chosen key value (administrators only). */
  key?: string | undefined;
  rateLimit?: RateLimitInputValue | 'unlimited' | null | undefined;
  credits?: CreditsInputValue | null | undefined;
  ipAllowlist?: string[] | null | undefined;
}

export interface RateLimitInputValue {
  limit: number;
  window: string;
  per?: 'token' | 'owner' | undefined;
}

export interface CreditsInputValue {
  remaining: number;
  refill?: { amount: number; interval: string } | null | undefined;
}

/** A new token checked and built, not yet written: its row, its key and the key's hash. */
interface PreparedToken {
  row: TokenRow;
  key: string;
  keyHash: string;
}

export type TokenPatch = Partial<Omit<TokenInput, 'key'>> & { active?: boolean | undefined };

export interface TokenPolicy {
  maxLifetimeMs: number | null;
  customKeys: { allowed: boolean };
  /** Whether a token has a rate limit, credits or an IP allowlist (its own, or its level's default). */
  limited?: (tokenId: string) => Promise<boolean>;
}

/** A token as the API shows it, with the impersonated user's email resolved. */
export interface TokenView {
  row: TokenRow;
  permissions: readonly string[];
  apiGroups: readonly string[];
  impersonate: { id: string; email: string } | null;
  recoverable: boolean;
}

/** Issuing, listing, editing, rolling, revealing and deleting tokens, with the policy applied to each. */
export class TokenService {
  constructor(
    private readonly model: AccessModel,
    private readonly stores: Stores,
    private readonly access: Access,
    private readonly keys: KeyRing,
    private readonly users: UserService,
    private readonly audit: AuditTrail,
    private readonly policy: TokenPolicy,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** Resolves level/permissions and API groups, refusing anything the model does not define. */
  private permissionSet(input: { level?: string | undefined; permissions?: string[] | undefined }): {
    level: string | null;
    permissions: string[];
  } {
    if (input.level !== undefined && input.permissions !== undefined)
      fail('VALIDATION_FAILED', 'Give a level or a list of permissions, not both.', 'permissions');
    if (input.permissions !== undefined) {
      const unknown = input.permissions.filter((p) => !Object.hasOwn(this.model.permissions, p));
      if (unknown.length > 0) fail('UNKNOWN_PERMISSION', `Unknown permission ${unknown.join(', ')}.`, 'permissions');
      return { level: null, permissions: [...new Set(input.permissions)].sort() };
    }
    const level = input.level ?? 'reader';
    if (!Object.hasOwn(this.model.levels, level))
      fail('UNKNOWN_LEVEL', `Unknown level ${level}; known: ${Object.keys(this.model.levels).join(', ')}.`, 'level');
    return { level, permissions: [] };
  }

  /**
   * Resolves the API groups of a new or edited token. A token creating or editing one cannot give
   * it a group it may not call itself; left out, the groups are its own.
   */
  private apiGroups(p: Principal, groups: string[] | undefined): string[] {
    const list = groups ?? (p.kind === 'token' ? [...p.token.apiGroups] : [NATIVE_API_GROUP]);
    if (list.length === 0) fail('VALIDATION_FAILED', 'A token needs at least one API group.', 'apiGroups');
    const unknown = list.filter((g) => !Object.hasOwn(this.model.apiGroups, g));
    if (unknown.length > 0) fail('UNKNOWN_API_GROUP', `Unknown API group ${unknown.join(', ')}.`, 'apiGroups');
    if (p.kind === 'token') {
      const wider = list.filter((g) => !apiGroupAllows(p.token.apiGroups, g));
      if (wider.length > 0)
        fail(
          'PERMISSION_ESCALATION',
          `The token would call API group ${wider.join(', ')}, which the token asking may not.`,
          'apiGroups',
        );
    }
    return [...new Set(list)].sort();
  }

  /** Refuses permissions beyond what the grantor may do now on the token's resource. */
  private checkEscalation(
    p: Principal,
    home: Ancestry,
    resolved: { level: string | null; permissions: string[] },
  ): void {
    const wanted = resolved.level !== null ? levelPermissions(this.model, resolved.level) : resolved.permissions;
    const excess = escalation(wanted, this.access.permissionsAt(p, home));
    if (excess.length > 0)
      fail(
        'PERMISSION_ESCALATION',
        `The token would hold ${excess.join(', ')}, which you do not hold here.`,
        resolved.level !== null ? 'level' : 'permissions',
      );
  }

  /** A token cannot give another token a longer life than its own. */
  private withinCreator(p: Principal, expiresAt: Date | null): Date | null {
    if (p.kind !== 'token' || p.token.expiresAt === null) return expiresAt;
    if (expiresAt === null || expiresAt.getTime() > Date.parse(p.token.expiresAt)) {
      fail(
        'EXPIRY_TOO_LONG',
        `A token cannot outlive the token that sets it up; expire it by ${p.token.expiresAt}.`,
        'expiresAt',
      );
    }
    return expiresAt;
  }

  private async impersonation(p: Principal, ref: string | null | undefined): Promise<string | null> {
    // A token made by an impersonating token is owned by the impersonated user, so it acts as them plainly.
    if (ref === undefined || ref === null) return null;
    if (!isSystemAdmin(p))
      fail('FORBIDDEN', 'Only administrators may create tokens that impersonate a user.', 'impersonate');
    const user =
      (await this.users.find(ref)) ??
      fail('UNKNOWN_USER', `There is no user ${ref}; the name must match exactly.`, 'impersonate');
    return user.id;
  }

  /**
   * Adds a token to a resource (or, for administrators, a system token with `resourceId` null).
   * Returns the key: this is the only time it is ever given out, unless keys are recoverable.
   */
  async create(
    p: Principal,
    resourceId: string | null,
    input: TokenInput,
    origin: Origin,
  ): Promise<{ view: TokenView; key: string }> {
    const made = await this.prepare(p, resourceId, input, this.clock());
    try {
      await this.stores.transaction((tx) => this.insertAll(p, [made], origin, tx));
    } catch (err) {
      // Two creates of one chosen key racing (or, never in practice, a generated key already
      // taken): the primary key decides, the loser hears it clearly.
      if (await this.stores.tokens.keyExists(made.keyHash)) fail('KEY_TAKEN', undefined, 'key');
      throw err;
    }
    return { view: await this.view(made.row), key: made.key };
  }

  /**
   * Creates many tokens at once (the CLI's bulk import): each item is checked exactly as
   * create() checks it, and the accepted ones are written in ONE transaction, with one
   * `token.create` audit record each and their changes published together after the commit.
   * An item refused by the checks does not stop the others; its error is in its result. When
   * the batch's transaction fails (a resource deleted meanwhile, a chosen key taken by a racing
   * create), the items are written one by one, so each failure is told to its own item.
   * `atomic`: all or nothing — one item refused and none is written (`written` is false), and a
   * failed transaction is thrown rather than retried item by item.
   */
  async createMany(
    p: Principal,
    items: readonly { resourceId: string | null; input: TokenInput }[],
    origin: Origin,
    options: { atomic?: boolean } = {},
  ): Promise<{
    results: ({ ok: true; id: string; key: string } | { ok: false; error: KeygateError })[];
    written: boolean;
  }> {
    const now = this.clock();
    const results: ({ ok: true; id: string; key: string } | { ok: false; error: KeygateError })[] = [];
    const made: { index: number; token: PreparedToken }[] = [];
    const chosen = new Set<string>();
    for (const [index, item] of items.entries()) {
      try {
        const token = await this.prepare(p, item.resourceId, item.input, now);
        // Two items choosing one key: the first is taken, the second refused as the API would.
        if (item.input.key !== undefined) {
          if (chosen.has(token.keyHash)) fail('KEY_TAKEN', undefined, 'key');
          chosen.add(token.keyHash);
        }
        made.push({ index, token });
        results.push({ ok: true, id: token.row.id, key: token.key });
      } catch (err) {
        if (!(err instanceof KeygateError)) throw err;
        results.push({ ok: false, error: err });
      }
    }
    if (made.length === 0 || (options.atomic && made.length < items.length)) return { results, written: false };
    try {
      await this.stores.transaction((tx) =>
        this.insertAll(
          p,
          made.map((m) => m.token),
          origin,
          tx,
        ),
      );
    } catch (err) {
      if (options.atomic) throw err;
      if (!(err instanceof KeygateError) && !(await this.anyKeyTaken(made.map((m) => m.token)))) throw err;
      for (const { index, token } of made) {
        try {
          await this.stores.transaction((tx) => this.insertAll(p, [token], origin, tx));
        } catch (one) {
          const error =
            one instanceof KeygateError
              ? one
              : (await this.stores.tokens.keyExists(token.keyHash))
                ? new KeygateError('KEY_TAKEN', undefined, 'key')
                : null;
          if (error === null) throw one;
          results[index] = { ok: false, error };
        }
      }
    }
    return { results, written: true };
  }

  private async anyKeyTaken(tokens: readonly PreparedToken[]): Promise<boolean> {
    for (const t of tokens) if (await this.stores.tokens.keyExists(t.keyHash)) return true;
    return false;
  }

  /** Checks a new token as create() does and builds its row and key; writes nothing. */
  private async prepare(p: Principal, resourceId: string | null, input: TokenInput, now: Date): Promise<PreparedToken> {
    validate(TokenCreate, input);
    await this.refuseLimitedToken(p, 'create tokens: a new token would escape its limits');
    let home: Ancestry = [];
    if (resourceId !== null) home = (await this.access.require(p, resourceId, 'tokens:create')).ancestry;
    else if (!isSystemAdmin(p) || (p.kind === 'token' && p.token.resourceId !== null))
      fail('FORBIDDEN', 'Only administrators create tokens that are not attached to a resource.');
    const resolved = this.permissionSet(input);
    const apiGroups = this.apiGroups(p, input.apiGroups);
    this.checkEscalation(p, home, resolved);
    const expiresAt = this.withinCreator(
      p,
      resolveExpiry({ expiresIn: input.expiresIn, expiresAt: input.expiresAt }, now, this.policy.maxLifetimeMs),
    );
    const impersonateUserId = await this.impersonation(p, input.impersonate);

    let key: string;
    if (input.key !== undefined) {
      if (!this.policy.customKeys.allowed || !isSystemAdmin(p))
        fail(
          'CUSTOM_KEY_NOT_ALLOWED',
          'Only administrators may choose a key value, and only where the server allows it.',
          'key',
        );
      if (!this.keys.isAcceptableCustomKey(input.key)) fail('CUSTOM_KEY_INVALID', undefined, 'key');
      key = input.key;
    } else {
      // 160 random bits: a generated key is never taken in practice, and if it were the insert's
      // primary key would refuse it (create() then answers KEY_TAKEN); no look-up per token.
      key = this.keys.generate();
    }
    const keyHash = this.keys.hash(key);
    if (input.key !== undefined && (await this.stores.tokens.keyExists(keyHash))) fail('KEY_TAKEN', undefined, 'key');

    const id = newId('tok');
    const row: TokenRow = {
      id,
      name: input.name.trim(),
      description: input.description?.trim() ?? '',
      owner_id: ownerId(p),
      resource_id: resourceId,
      level: resolved.level,
      permissions: JSON.stringify(resolved.permissions),
      api_groups: JSON.stringify(apiGroups),
      expires_at: expiresAt?.toISOString() ?? null,
      active: 1,
      deactivated_by: null,
      impersonate_user_id: impersonateUserId,
      logging: input.logging ?? 'none',
      key_prefix: this.keys.displayPrefix(key),
      encrypted_key: this.keys.recoverable ? this.keys.seal(key, id) : null,
      created_by: p.kind === 'user' ? p.user.id : p.token.id,
      created_at: now.toISOString(),
      updated_at: now.toISOString(),
      last_used_at: null,
      last_used_ip: null,
      rate_limit: null,
      rate_window_ms: null,
      rate_per: null,
      credits_remaining: null,
      credits_refill_amount: null,
      credits_refill_interval_ms: null,
      credits_refilled_at: null,
      ip_allowlist: null,
      ...limitColumns(input, now.getTime()),
    };
    return { row, keyHash, key };
  }

  /** Writes prepared tokens, their key hashes and a `token.create` audit record each, in `tx`. */
  private async insertAll(
    p: Principal,
    tokens: readonly PreparedToken[],
    origin: Origin,
    tx: TransactionStores,
  ): Promise<void> {
    await tx.tokens.insertMany(tokens.map((t) => ({ row: t.row, keyHash: t.keyHash })));
    // A look-up of the new key may have been cached as "no such key" before it existed.
    for (const { row } of tokens) tx.changes.push({ kind: 'token', id: row.id }, { kind: 'keys', tokenId: row.id });
    const events = tokens.map(({ row }) => ({
      action: 'token.create',
      targetType: 'token' as const,
      targetId: row.id,
      resourceId: row.resource_id,
      details: { after: { ...tokenSnapshot(row), keyPrefix: row.key_prefix } },
      origin,
    }));
    // One token (create): one record, written as every other change writes its own.
    if (events.length === 1) await this.audit.record(p, events[0]!, tx.audit);
    else await this.audit.recordMany(p, events, tx.audit);
  }

  /** The API's picture of a token. Never the key or its hash. */
  async view(row: TokenRow): Promise<TokenView> {
    const facts = tokenFacts(this.model, row);
    let impersonate: TokenView['impersonate'] = null;
    if (row.impersonate_user_id) {
      const u = await this.stores.users.findById(row.impersonate_user_id);
      impersonate = { id: row.impersonate_user_id, email: u?.email ?? '' };
    }
    return {
      row,
      permissions: facts.permissions,
      apiGroups: facts.apiGroups,
      impersonate,
      recoverable: row.encrypted_key !== null,
    };
  }

  /**
   * May the principal see or manage this token? Its owner may (as a person, or through another
   * of its tokens holding tokens:create there — an impersonating token being the impersonated user,
   * never its owner); so may whoever holds tokens:read / tokens:manage on the token's resource.
   * Anyone else is told it does not exist. Managing (or revealing the key of) a token further needs
   * it to be no stronger than the principal in every dimension: otherwise a weak token could roll,
   * reactivate or reveal a stronger one and so escalate.
   */
  private async authorizeOn(
    p: Principal,
    row: TokenRow,
    need: 'read' | 'manage' | 'reveal',
  ): Promise<{ home: Ancestry; held: ReadonlySet<string> }> {
    const home = row.resource_id === null ? [] : await this.access.ancestryOf(row.resource_id);
    const held = this.access.permissionsAt(p, home);
    const owns = ownerId(p) === row.owner_id && (p.kind === 'user' || held.has('tokens:create'));
    const allowed = owns || held.has('tokens:manage') || (need !== 'manage' && held.has('tokens:read'));
    if (!allowed) {
      if (held.has('tokens:read'))
        fail('INSUFFICIENT_PERMISSIONS', "Managing other people's tokens needs tokens:manage on the resource.");
      fail('NOT_FOUND', 'There is no such token, or it is outside your reach.');
    }
    if (need !== 'read') this.refuseStronger(p, tokenFacts(this.model, row), home, held);
    return { home, held };
  }

  /** Refuses to act on a token that is stronger than the principal in any dimension. */
  private refuseStronger(p: Principal, target: TokenFacts, home: Ancestry, held: ReadonlySet<string>): void {
    const actor = {
      user: actingUser(p),
      token: p.kind === 'token' ? p.token : null,
      systemAdmin: isSystemAdmin(p),
      held,
    };
    const stronger = strongerThanActor(target, home, actor);
    if (stronger.length > 0)
      fail(
        'PERMISSION_ESCALATION',
        `That token reaches further than you do (${stronger.join(', ')}); you may act only on tokens no stronger than you.`,
      );
  }

  private async load(id: string): Promise<TokenRow> {
    return (
      (await this.stores.tokens.findById(id)) ??
      fail('NOT_FOUND', 'There is no such token, or it is outside your reach.')
    );
  }

  async get(p: Principal, id: string): Promise<TokenView> {
    const row = await this.load(id);
    await this.authorizeOn(p, row, 'read');
    return this.view(row);
  }

  /**
   * Lists tokens. Without `owner` it is the caller's own; administrators may name any owner or
   * `*` for every token. A token listing tokens sees only those inside its own subtree.
   */
  async list(
    p: Principal,
    q: Omit<TokenFilter, 'now' | 'ownerId'> & { owner?: string | undefined },
  ): Promise<{ views: TokenView[]; nextCursor: string | null }> {
    validate(TokenListQuery, q);
    let owner: string | undefined = ownerId(p);
    if (q.owner !== undefined && q.owner !== owner) {
      if (!isSystemAdmin(p))
        fail(
          'FORBIDDEN',
          "Only administrators list other people's tokens; use a resource's token list instead.",
          'owner',
        );
      owner = q.owner === '*' ? undefined : q.owner;
    }
    const filter = { ...q, ownerId: owner, now: this.clock().toISOString() };
    const scope = p.kind === 'token' ? p.token.resourceId : null;
    const visible: TokenRow[] = [];
    let cursor = q.cursor;
    let exhausted = false;
    // A token attached to a resource sees only tokens inside its subtree. Filtering one page could
    // leave it short and end the caller's paging early, so read on until the page is full.
    while (visible.length < q.limit && !exhausted) {
      const rows = await this.stores.tokens.list({ ...filter, cursor });
      exhausted = rows.length < q.limit;
      for (const row of rows) {
        cursor = row.id;
        if (scope !== null) {
          const home = row.resource_id === null ? [] : await this.access.ancestryOf(row.resource_id);
          if (!home.includes(scope)) continue;
        }
        visible.push(row);
        if (visible.length === q.limit) {
          exhausted = exhausted && row === rows[rows.length - 1];
          break;
        }
      }
    }
    return {
      views: await Promise.all(visible.map((r) => this.view(r))),
      nextCursor: exhausted ? null : (cursor ?? null),
    };
  }

  /**
   * The caller's own active tokens that expire within `withinDays` days (at most 500), soonest
   * first: "my tokens", with the same reach as listing them.
   */
  async expiring(p: Principal, withinDays: number): Promise<TokenView[]> {
    validate(ExpiringQuery, { withinDays });
    const before = new Date(this.clock().getTime() + withinDays * 86_400_000).toISOString();
    const { views } = await this.list(p, { state: 'active', expiresBefore: before, limit: 500 });
    return views.sort(
      (a, b) => (a.row.expires_at ?? '').localeCompare(b.row.expires_at ?? '') || a.row.id.localeCompare(b.row.id),
    );
  }

  /** Tokens attached to a resource: all of them with tokens:read, else just the caller's own. */
  async listForResource(
    p: Principal,
    resourceId: string,
    q: Omit<TokenFilter, 'now' | 'ownerId' | 'resourceId'>,
  ): Promise<TokenView[]> {
    validate(TokenListQuery, q);
    const { held } = await this.access.reach(p, resourceId);
    const all = held.has('tokens:read') || held.has('tokens:manage');
    const rows = await this.stores.tokens.list({
      ...q,
      resourceId,
      ownerId: all ? undefined : ownerId(p),
      now: this.clock().toISOString(),
    });
    return Promise.all(rows.map((r) => this.view(r)));
  }

  /**
   * A token held to a rate limit, credits or an IP allowlist may not get round them: it cannot
   * create tokens (they would be free of its limits) nor change any token's limits (its own
   * included). People and unlimited tokens can.
   */
  private async refuseLimitedToken(p: Principal, what: string): Promise<void> {
    if (p.kind === 'token' && (await this.policy.limited?.(p.token.id)))
      fail(
        'FORBIDDEN',
        `A token with a rate limit, credits or an IP allowlist cannot ${what}. Sign in, or use a token without limits.`,
      );
  }

  /** Edits a token; its new rights are held to the editor's own, like a new token's. */
  async update(p: Principal, id: string, patch: TokenPatch, origin: Origin): Promise<TokenView> {
    validate(TokenPatchSchema, patch);
    const row = await this.load(id);
    const { home, held } = await this.authorizeOn(p, row, 'manage');
    const set: Partial<TokenRow> = {};
    if (patch.name !== undefined) set.name = patch.name.trim();
    if (patch.description !== undefined) set.description = patch.description.trim();
    if (patch.level !== undefined || patch.permissions !== undefined) {
      const resolved = this.permissionSet(patch);
      this.checkEscalation(p, home, resolved);
      set.level = resolved.level;
      set.permissions = JSON.stringify(resolved.permissions);
    }
    if (patch.apiGroups !== undefined) set.api_groups = JSON.stringify(this.apiGroups(p, patch.apiGroups));
    if (patch.expiresIn !== undefined || patch.expiresAt !== undefined) {
      set.expires_at =
        this.withinCreator(
          p,
          resolveExpiry(
            { expiresIn: patch.expiresIn, expiresAt: patch.expiresAt },
            this.clock(),
            this.policy.maxLifetimeMs,
          ),
        )?.toISOString() ?? null;
    }
    if (patch.logging !== undefined) set.logging = patch.logging;
    if (patch.rateLimit !== undefined || patch.credits !== undefined || patch.ipAllowlist !== undefined)
      await this.refuseLimitedToken(p, 'change limits: it could lift its own');
    Object.assign(set, limitColumns(patch, this.clock().getTime()));
    if (patch.impersonate !== undefined) {
      if (!isSystemAdmin(p)) fail('FORBIDDEN', 'Only administrators may change impersonation.', 'impersonate');
      set.impersonate_user_id = patch.impersonate === null ? null : await this.impersonation(p, patch.impersonate);
    }
    if (patch.active !== undefined) {
      if (patch.active && row.active === 0 && deactivationHolds(row.owner_id, row.deactivated_by, held))
        fail(
          'FORBIDDEN',
          'Someone other than its owner deactivated this token; only someone with tokens:manage on its resource may activate it again.',
        );
      set.active = patch.active ? 1 : 0;
      // A hold by someone other than the owner survives the owner switching the token off again.
      const othersHold = row.active === 0 && deactivatedByOther(row.owner_id, row.deactivated_by);
      set.deactivated_by = patch.active ? null : othersHold ? row.deactivated_by : actingUser(p).id;
    }
    // The token as edited must still be no stronger than whoever edited it.
    this.refuseStronger(p, tokenFacts(this.model, { ...row, ...set }), home, held);
    return this.save(
      p,
      row,
      set,
      patch.active !== undefined && Object.keys(set).every((k) => k === 'active' || k === 'deactivated_by')
        ? patch.active
          ? 'token.activate'
          : 'token.deactivate'
        : 'token.update',
      origin,
    );
  }

  private async save(
    p: Principal,
    row: TokenRow,
    set: Partial<TokenRow>,
    action: string,
    origin: Origin,
  ): Promise<TokenView> {
    set.updated_at = this.clock().toISOString();
    const after = await this.writeAudited(
      p,
      row,
      async (tx) => {
        await tx.tokens.update(row.id, set);
        return true;
      },
      action,
      {},
      origin,
    );
    return this.view(after ?? fail('NOT_FOUND', 'There is no such token, or it is outside your reach.'));
  }

  /**
   * One audited change of a token, in one transaction: `write` changes the row (false: it changed
   * nothing, and nothing is recorded), then the change is published and the audit record holds the
   * fields that changed, plus `details`. The new row, or null when `write` declined.
   */
  private async writeAudited(
    actor: Actor,
    row: TokenRow,
    write: (tx: TransactionStores) => Promise<boolean>,
    action: string,
    details: Record<string, unknown>,
    origin: Origin,
  ): Promise<TokenRow | null> {
    return this.stores.transaction(async (tx) => {
      if (!(await write(tx))) return null;
      tx.changes.push({ kind: 'token', id: row.id });
      const updated = await tx.tokens.findById(row.id);
      if (!updated) return null;
      await this.audit.record(
        actor,
        {
          action,
          targetType: 'token',
          targetId: row.id,
          resourceId: row.resource_id,
          details: {
            name: updated.name,
            ownerId: updated.owner_id,
            ...details,
            changes: fieldChanges(tokenSnapshot(row), tokenSnapshot(updated)),
          },
          origin,
        },
        tx.audit,
      );
      return updated;
    });
  }

  /**
   * Switches a token off as keygate itself (a leaked key), held like an administrator's deactivation:
   * `deactivated_by` is `by`, so the owner alone cannot switch it back on. Audited as the ordinary
   * `token.deactivate` (the owner hears `token.deactivated`) with `details`. Conditional: false, with
   * nothing written, when the token is not active and unexpired — so of two reports at once, one acts.
   */
  async deactivateAsSystem(id: string, by: string, details: Record<string, unknown>, origin: Origin): Promise<boolean> {
    const row = await this.stores.tokens.findById(id);
    if (!row) return false;
    const now = this.clock().toISOString();
    const updated = await this.writeAudited(
      'system',
      row,
      (tx) => tx.tokens.deactivateIfLive(id, { deactivated_by: by, updated_at: now }, now),
      'token.deactivate',
      { ...details, keyPrefix: row.key_prefix },
      origin,
    );
    return updated !== null;
  }

  setActive(p: Principal, id: string, active: boolean, origin: Origin): Promise<TokenView> {
    return this.update(p, id, { active }, origin);
  }

  /**
   * Deactivates each token as setActive() does (the same checks, one audit record each), in the
   * order given; one refused (out of reach: NOT_FOUND, as alone) does not stop the others. An
   * error that is not the caller's (the database failing) is thrown: what was done stays done,
   * and deactivating again is harmless.
   */
  async deactivateMany(
    p: Principal,
    ids: readonly string[],
    origin: Origin,
  ): Promise<{ id: string; ok: boolean; code?: ErrorCode }[]> {
    validate(TokenIds, { ids });
    const results: { id: string; ok: boolean; code?: ErrorCode }[] = [];
    for (const id of ids) {
      try {
        await this.setActive(p, id, false, origin);
        results.push({ id, ok: true });
      } catch (err) {
        if (!(err instanceof KeygateError)) throw err;
        results.push({ id, ok: false, code: err.code });
      }
    }
    return results;
  }

  /** Gives the token a new key; the old one keeps working for `graceSeconds` (0: stops at once). */
  async roll(
    p: Principal,
    id: string,
    graceSeconds: number,
    origin: Origin,
  ): Promise<{ view: TokenView; key: string }> {
    validate(TokenRoll, { graceSeconds });
    const row = await this.load(id);
    await this.authorizeOn(p, row, 'manage');
    // The new key acts as the owner, so only the owner may receive it; others deactivate or delete.
    if (ownerId(p) !== row.owner_id)
      fail('FORBIDDEN', "Only the token's owner may roll it; deactivate or delete it instead.");
    const key = this.keys.generate();
    const now = this.clock();
    const until = graceSeconds > 0 ? new Date(now.getTime() + graceSeconds * 1000).toISOString() : null;
    const patch: Partial<TokenRow> = {
      key_prefix: this.keys.displayPrefix(key),
      encrypted_key: this.keys.recoverable ? this.keys.seal(key, id) : null,
      updated_at: now.toISOString(),
    };
    await this.stores.transaction(async (tx) => {
      await tx.tokens.roll(id, this.keys.hash(key), patch, until, now.toISOString());
      tx.changes.push({ kind: 'token', id }, { kind: 'keys', tokenId: id });
      await this.audit.record(
        p,
        {
          action: 'token.roll',
          targetType: 'token',
          targetId: id,
          resourceId: row.resource_id,
          details: {
            name: row.name,
            ownerId: row.owner_id,
            graceSeconds,
            oldKeyValidUntil: until,
            changes: { keyPrefix: { from: row.key_prefix, to: patch.key_prefix } },
          },
          origin,
        },
        tx.audit,
      );
    });
    return { view: await this.view(await this.load(id)), key };
  }

  async delete(p: Principal, id: string, origin: Origin): Promise<void> {
    const row = await this.load(id);
    await this.authorizeOn(p, row, 'manage');
    await this.stores.transaction(async (tx) => {
      await tx.tokens.delete(id);
      tx.changes.push({ kind: 'token', id }, { kind: 'keys', tokenId: id });
      await this.audit.record(
        p,
        {
          action: 'token.delete',
          targetType: 'token',
          targetId: id,
          resourceId: row.resource_id,
          details: { name: row.name, ownerId: row.owner_id, before: tokenSnapshot(row) },
          origin,
        },
        tx.audit,
      );
    });
  }

  /** Shows a recoverable key again, to its owner only; every reveal is audited. */
  async reveal(p: Principal, id: string, origin: Origin): Promise<string> {
    const row = await this.load(id);
    await this.authorizeOn(p, row, 'reveal');
    if (ownerId(p) !== row.owner_id) fail('FORBIDDEN', "Only the token's owner may see its key.");
    if (row.encrypted_key === null || !this.keys.recoverable) fail('KEY_NOT_RECOVERABLE');
    let key: string;
    try {
      key = this.keys.open(row.encrypted_key, id);
    } catch {
      fail(
        'KEY_NOT_RECOVERABLE',
        "The stored key cannot be decrypted with this server's encryption key; roll the token for a new key.",
      );
    }
    await this.audit.record(p, {
      action: 'token.reveal',
      targetType: 'token',
      targetId: id,
      resourceId: row.resource_id,
      details: { name: row.name, ownerId: row.owner_id },
      origin,
    });
    return key;
  }
}

/**
 * A token's settings as the audit trail shows them (before and after a change): never its key,
 * hash or encrypted key. The key prefix is left out too: only creating and rolling change it.
 */
export function tokenSnapshot(row: TokenRow): Record<string, unknown> {
  return {
    name: row.name,
    description: row.description,
    ownerId: row.owner_id,
    resourceId: row.resource_id,
    level: row.level,
    permissions: JSON.parse(row.permissions) as string[],
    apiGroups: JSON.parse(row.api_groups) as string[],
    expiresAt: row.expires_at,
    active: row.active === 1,
    deactivatedBy: row.deactivated_by,
    impersonateUserId: row.impersonate_user_id,
    logging: row.logging,
    ...limitSettings(row),
  };
}
