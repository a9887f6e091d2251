import fc from 'fast-check';
import { call, type Reply } from '../../support/client.js';
import { disagreement, escalation, probeAll, probeStep, trace } from './probes.js';
import {
  ALL,
  BUNDLES,
  created,
  deactivated,
  deactivationHolds,
  GROUPS,
  isSystemAdmin,
  LEAK_REPORT,
  LEVELS,
  reportedLeaked,
  mayActivate,
  mayChangeUser,
  mayCreate,
  mayDeleteResource,
  mayEdit,
  mayManage,
  mayRemoveRole,
  mayReveal,
  mayRoll,
  maySetRole,
  mayWriteResource,
  principalName,
  RESOURCES,
  rights,
  USERS,
  type CreateSpec,
  type Expiry,
  type Group,
  type Level,
  type Model,
  type ModelToken,
  type Permission,
  type Principal,
  type ResourceName,
  type TokenShape,
  type UserName,
  TYPE,
  mayMove,
} from './reference.js';
import { count, credentials, described, expiryIso, externalId, ok, signIn, type World } from './world.js';

/** At most this many tokens per run: enough for tokens acting on tokens, few enough to probe them all after each step. */
export const MAX_TOKENS = 8;

/** Who acts, as generated: a person, or the n-th token (modulo how many there are when the step runs). */
export type ActorRef = { kind: 'session'; user: UserName } | { kind: 'token'; n: number };

function resolveActor(m: Model, a: ActorRef): Principal {
  if (a.kind === 'session') return { kind: 'session', user: a.user };
  if (m.tokens.length === 0) return { kind: 'session', user: USERS[a.n % USERS.length]! };
  return { kind: 'token', index: a.n % m.tokens.length };
}

function resolveToken(m: Model, n: number): ModelToken {
  return m.tokens[n % m.tokens.length]!;
}

function refName(a: ActorRef): string {
  return a.kind === 'session' ? a.user : `token#${a.n}`;
}

/**
 * Sends one operation and judges keygate's answer against the model's: allowed where the model
 * forbids is an escalation (the test fails at once). Refused where the model allows is keygate
 * being stricter than the README's rules require: tallied, and a failure only where `exact`.
 */
async function judged(
  w: World,
  op: string,
  label: string,
  allowed: boolean,
  send: () => Promise<Reply>,
  exact = false,
): Promise<Reply | null> {
  const reply = await send();
  const passed = ok(reply);
  w.steps.push(`${label} → ${described(reply)} (model: ${allowed ? 'allow' : 'refuse'})`);
  count(w, `${op}: model ${allowed ? 'allows' : 'refuses'}, keygate ${passed ? 'allows' : 'refuses'}`);
  if (passed && !allowed) escalation(w, label, reply);
  if (!passed && allowed) {
    if (exact) disagreement(w, label, reply);
    count(w, `${op}: keygate stricter (${described(reply)})`);
    // The step itself, so that every case of "stricter" can be checked against STRICTER_BY_DESIGN.
    count(w, `  stricter: ${label}`);
  }
  return passed ? reply : null;
}

/** The token keygate answered with must be the one the model expects: otherwise the two have drifted apart. */
function expectSame(w: World, label: string, body: any, t: ModelToken): void {
  const want = {
    ownerId: w.users[t.owner].id,
    resourceId: t.home === null ? null : w.ids[t.home],
    permissions: [...t.perms].sort(),
    apiGroups: [...t.groups].sort(),
    expiresAt: expiryIso(w, t.expiry),
    active: t.active,
    deactivatedBy:
      t.deactivatedBy === null || t.deactivatedBy === LEAK_REPORT ? t.deactivatedBy : w.users[t.deactivatedBy].id,
    impersonate: t.impersonate === null ? null : w.users[t.impersonate].id,
  };
  const got = {
    ownerId: body.ownerId,
    resourceId: body.resourceId,
    permissions: [...body.permissions].sort(),
    apiGroups: [...body.apiGroups].sort(),
    expiresAt: body.expiresAt,
    active: body.active,
    deactivatedBy: body.deactivatedBy,
    impersonate: body.impersonate?.id ?? null,
  };
  // An expiry moved into the past by the "time passes" step is not the model's -1 days to the millisecond.
  if (t.expiry !== null && t.expiry < 0) want.expiresAt = got.expiresAt;
  if (JSON.stringify(want) !== JSON.stringify(got))
    throw new Error(
      `${label}: keygate's token differs from the model's\n  keygate: ${JSON.stringify(got)}\n  model:   ${JSON.stringify(want)}`,
    );
}

abstract class Step implements fc.AsyncCommand<Model, World> {
  check(_m: Readonly<Model>): boolean {
    return true;
  }
  async run(m: Model, w: World): Promise<void> {
    await this.act(m, w);
    await probeStep(m, w);
  }
  protected abstract act(m: Model, w: World): Promise<void>;
  abstract toString(): string;
}

export type PermsChoice = { level: Level } | { permissions: Permission[] };

function permsOf(c: PermsChoice): ReadonlySet<Permission> {
  return new Set('level' in c ? BUNDLES[c.level] : c.permissions);
}

function permsText(c: PermsChoice): string {
  return 'level' in c ? c.level : `[${c.permissions.join(' ')}]`;
}

/**
 * How a create is generated: as drawn (mostly refused: random actors rarely hold rights where a
 * random resource is), or guided to what the actor could plausibly do — the n-th resource where it
 * holds tokens:create, a level it holds there, no expiry beyond its own — so that runs grow tokens,
 * and tokens made by tokens, to act on. Either way keygate's answer is judged against the model.
 */
export type Placement = { kind: 'drawn'; at: ResourceName | null; perms: PermsChoice } | { kind: 'guided'; n: number };

export class CreateToken extends Step {
  constructor(
    readonly actor: ActorRef,
    readonly placement: Placement,
    readonly groups: Group[] | undefined,
    readonly expiry: Expiry,
    readonly impersonate: UserName | null,
  ) {
    super();
  }
  override check(m: Readonly<Model>): boolean {
    return m.tokens.length < MAX_TOKENS;
  }
  /** Where and with what permissions, for a guided create resolved against the model now. */
  private place(m: Model, p: Principal): { at: ResourceName | null; perms: PermsChoice; expiry: Expiry } {
    const pl = this.placement;
    if (pl.kind === 'drawn') return { at: pl.at, perms: pl.perms, expiry: this.expiry };
    const places = RESOURCES.filter((r) => rights(m, p, 'tokens', r).has('tokens:create'));
    const at = places.length === 0 ? RESOURCES[pl.n % RESOURCES.length]! : places[pl.n % places.length]!;
    const held = rights(m, p, 'tokens', at);
    const fits = LEVELS.filter((l) => BUNDLES[l].every((x) => held.has(x)));
    const lvl = fits.length === 0 ? 'reader' : fits[pl.n % fits.length]!;
    const own = p.kind === 'token' ? m.tokens[p.index]!.expiry : null;
    const expiry = own !== null && (this.expiry === null || this.expiry > own) ? own : this.expiry;
    return { at, perms: { level: lvl }, expiry };
  }
  protected async act(m: Model, w: World): Promise<void> {
    const p = resolveActor(m, this.actor);
    const { at, perms, expiry } = this.place(m, p);
    const spec: CreateSpec = { at, perms: permsOf(perms), groups: this.groups, expiry, impersonate: this.impersonate };
    const body = {
      name: `t${m.tokens.length}`,
      ...perms,
      ...(this.groups ? { apiGroups: this.groups } : {}),
      expiresAt: expiryIso(w, expiry),
      ...(this.impersonate ? { impersonate: w.users[this.impersonate].id } : {}),
    };
    const url = at === null ? '/api/v1.0/tokens' : `/api/v1.0/resources/${w.ids[at]}/tokens`;
    const label = `${principalName(p)} creates ${describeToken(perms, this.groups, at, expiry, this.impersonate)}`;
    const reply = await judged(w, 'create', label, mayCreate(m, p, spec), () =>
      call(w.env.app, 'POST', url, { ...credentials(w, p), body }),
    );
    if (reply === null) return;
    const t = created(m, p, spec);
    expectSame(w, label, reply.body, t);
    m.tokens.push(t);
    w.tokens.push({ id: reply.body.id, key: reply.body.key });
    w.steps[w.steps.length - 1] += ` = t${t.index}`;
  }
  toString(): string {
    const pl = this.placement;
    const what =
      pl.kind === 'drawn'
        ? describeToken(pl.perms, this.groups, pl.at, this.expiry, this.impersonate)
        : `a token where it may (choice ${pl.n}), groups ${this.groups?.join(' ') ?? 'default'}, expiry ${this.expiry ?? 'never'}${this.impersonate ? ` impersonating ${this.impersonate}` : ''}`;
    return `${refName(this.actor)} creates ${what}`;
  }
}

function describeToken(
  perms: PermsChoice,
  groups: Group[] | undefined,
  at: ResourceName | null,
  expiry: Expiry,
  impersonate: UserName | null,
): string {
  const g = groups ? ` [${groups.join(' ')}]` : '';
  const imp = impersonate ? ` impersonating ${impersonate}` : '';
  return `a token of ${permsText(perms)}${g} at ${at ?? 'system'}, expires ${expiry === null ? 'never' : `${expiry}d`}${imp}`;
}

type Edit =
  | { kind: 'perms'; perms: PermsChoice }
  | { kind: 'groups'; groups: Group[] }
  | { kind: 'expiry'; expiry: Expiry }
  | { kind: 'active'; active: boolean }
  | { kind: 'impersonate'; as: UserName | null };

function editText(e: Edit): string {
  switch (e.kind) {
    case 'perms':
      return `permissions ${permsText(e.perms)}`;
    case 'groups':
      return `apiGroups [${e.groups.join(' ')}]`;
    case 'expiry':
      return `expiry ${e.expiry === null ? 'never' : `${e.expiry}d`}`;
    case 'active':
      return `active ${e.active}`;
    case 'impersonate':
      return `impersonate ${e.as ?? 'nobody'}`;
  }
}

class EditToken extends Step {
  constructor(
    readonly actor: ActorRef,
    readonly target: number,
    readonly edit: Edit,
  ) {
    super();
  }
  override check(m: Readonly<Model>): boolean {
    return m.tokens.length > 0;
  }
  protected async act(m: Model, w: World): Promise<void> {
    const p = resolveActor(m, this.actor);
    const t = resolveToken(m, this.target);
    const e = this.edit;
    let shape: TokenShape = {};
    let edited: ModelToken = t;
    let body: Record<string, unknown>;
    let allowed: boolean;
    switch (e.kind) {
      case 'perms':
        shape = { perms: permsOf(e.perms) };
        edited = { ...t, perms: permsOf(e.perms) };
        body = { ...e.perms };
        break;
      case 'groups':
        shape = { groups: e.groups };
        edited = { ...t, groups: [...new Set(e.groups)].sort() };
        body = { apiGroups: e.groups };
        break;
      case 'expiry':
        shape = { expiry: e.expiry };
        edited = { ...t, expiry: e.expiry };
        body = { expiresAt: expiryIso(w, e.expiry) };
        break;
      case 'active':
        edited = e.active ? { ...t, active: true, deactivatedBy: null } : deactivated(m, p, t);
        body = { active: e.active };
        break;
      case 'impersonate':
        edited = { ...t, impersonate: e.as };
        body = { impersonate: e.as === null ? null : w.users[e.as].id };
        break;
    }
    allowed = mayEdit(m, p, t, shape, edited);
    // "Only system administrators create … tokens that impersonate a user"; changing whom one does is the same power.
    if (e.kind === 'impersonate' && !isSystemAdmin(m, p, 'tokens')) allowed = false;
    if (e.kind === 'active' && e.active && deactivationHolds(m, p, t)) allowed = false;
    const label = `${principalName(p)} edits t${t.index}: ${editText(e)}`;
    const reply = await judged(w, `edit ${e.kind}`, label, allowed, () =>
      call(w.env.app, 'PATCH', `/api/v1.0/tokens/${w.tokens[t.index]!.id}`, { ...credentials(w, p), body }),
    );
    if (reply === null) return;
    expectSame(w, label, reply.body, edited);
    m.tokens[t.index] = edited;
  }
  toString(): string {
    return `${refName(this.actor)} edits token#${this.target}: ${editText(this.edit)}`;
  }
}

type Action = 'activate' | 'deactivate' | 'delete' | 'roll' | 'roll with grace' | 'reveal';

class TokenAction extends Step {
  constructor(
    readonly actor: ActorRef,
    readonly target: number,
    readonly action: Action,
  ) {
    super();
  }
  override check(m: Readonly<Model>): boolean {
    return m.tokens.length > 0;
  }
  protected async act(m: Model, w: World): Promise<void> {
    const p = resolveActor(m, this.actor);
    const t = resolveToken(m, this.target);
    const real = w.tokens[t.index]!;
    const path = `/api/v1.0/tokens/${real.id}`;
    const as = credentials(w, p);
    const app = w.env.app;
    const label = `${principalName(p)} ${this.action.replace(/^(\w+)/, '$1s')} t${t.index}`;
    switch (this.action) {
      case 'activate':
      case 'deactivate': {
        const on = this.action === 'activate';
        const allowed = on ? mayActivate(m, p, t) : mayManage(m, p, t);
        const edited = on ? { ...t, active: true, deactivatedBy: null } : deactivated(m, p, t);
        const reply = await judged(w, this.action, label, allowed, () =>
          call(app, 'POST', `${path}/${this.action}`, as),
        );
        if (reply === null) return;
        expectSame(w, label, reply.body, edited);
        m.tokens[t.index] = edited;
        return;
      }
      case 'delete': {
        const reply = await judged(w, 'delete', label, mayManage(m, p, t), () => call(app, 'DELETE', path, as));
        if (reply !== null) m.tokens[t.index] = { ...t, gone: true };
        return;
      }
      case 'roll':
      case 'roll with grace': {
        const graceSeconds = this.action === 'roll' ? 0 : 3600;
        const reply = await judged(w, 'roll', label, mayRoll(m, p, t), () =>
          call(app, 'POST', `${path}/roll`, { ...as, body: { graceSeconds } }),
        );
        if (reply === null) return;
        expectSame(w, label, reply.body, t);
        if (graceSeconds > 0) w.graced.push({ index: t.index, key: real.key });
        else {
          // Without a grace period every older key of the token stops, those still in a grace period too.
          w.retired.push(real.key, ...w.graced.filter((g) => g.index === t.index).map((g) => g.key));
          w.graced = w.graced.filter((g) => g.index !== t.index);
        }
        real.key = reply.body.key;
        return;
      }
      case 'reveal': {
        const reply = await judged(w, 'reveal', label, mayReveal(m, p, t), () => call(app, 'GET', `${path}/key`, as));
        if (reply !== null && reply.body.key !== real.key)
          throw new Error(`${label}: the key revealed is not t${t.index}'s current key`);
        return;
      }
    }
  }
  toString(): string {
    return `${refName(this.actor)} ${this.action.replace(/^(\w+)/, '$1s')} token#${this.target}`;
  }
}

class SetRole extends Step {
  constructor(
    readonly actor: ActorRef,
    readonly at: ResourceName,
    readonly user: UserName,
    readonly role: Level | null,
  ) {
    super();
  }
  protected async act(m: Model, w: World): Promise<void> {
    const p = resolveActor(m, this.actor);
    const url = `/api/v1.0/resources/${w.ids[this.at]}/members/${w.users[this.user].id}`;
    const as = credentials(w, p);
    const label = `${principalName(p)} ${this.describe()}`;
    if (this.role === null) {
      const reply = await judged(w, 'remove role', label, mayRemoveRole(m, p, this.at, this.user), () =>
        call(w.env.app, 'DELETE', url, as),
      );
      if (reply !== null) m.users[this.user].roles.delete(this.at);
      return;
    }
    const role = this.role;
    const reply = await judged(w, 'set role', label, maySetRole(m, p, this.at, role), () =>
      call(w.env.app, 'PUT', url, { ...as, body: { role } }),
    );
    if (reply !== null) m.users[this.user].roles.set(this.at, role);
  }
  private describe(): string {
    return this.role === null
      ? `removes ${this.user}'s role on ${this.at}`
      : `makes ${this.user} ${this.role} on ${this.at}`;
  }
  toString(): string {
    return `${refName(this.actor)} ${this.describe()}`;
  }
}

type UserChange = { systemRole: 'admin' | 'user' } | { active: boolean };

class ChangeUser extends Step {
  constructor(
    readonly actor: ActorRef,
    readonly user: UserName,
    readonly change: UserChange,
  ) {
    super();
  }
  protected async act(m: Model, w: World): Promise<void> {
    const p = resolveActor(m, this.actor);
    const label = `${principalName(p)} sets ${this.user} ${JSON.stringify(this.change)}`;
    const reply = await judged(w, 'change user', label, mayChangeUser(m, p), () =>
      call(w.env.app, 'PATCH', `/api/v1.0/users/${w.users[this.user].id}`, {
        ...credentials(w, p),
        body: this.change,
      }),
    );
    if (reply === null) return;
    const u = m.users[this.user];
    if ('systemRole' in this.change) u.systemRole = this.change.systemRole;
    else {
      const wasActive = u.active;
      u.active = this.change.active;
      // Switching someone off ended their sessions; back on, they sign in again.
      if (u.active && !wasActive) await signIn(w, this.user);
    }
  }
  toString(): string {
    return `${refName(this.actor)} sets ${this.user} ${JSON.stringify(this.change)}`;
  }
}

class DeleteResource extends Step {
  constructor(
    readonly actor: ActorRef,
    readonly at: ResourceName,
  ) {
    super();
  }
  protected async act(m: Model, w: World): Promise<void> {
    const p = resolveActor(m, this.actor);
    const label = `${principalName(p)} deletes ${this.at}`;
    const reply = await judged(w, 'delete resource', label, mayDeleteResource(m, p, this.at), () =>
      call(w.env.app, 'DELETE', `/api/v1.0/resources/${w.ids[this.at]}`, credentials(w, p)),
    );
    if (reply === null) return;
    // Its memberships and tokens go with it.
    m.resources.delete(this.at);
    for (const u of USERS) m.users[u].roles.delete(this.at);
    m.tokens = m.tokens.map((t) => (t.home === this.at ? { ...t, gone: true } : t));
  }
  toString(): string {
    return `${refName(this.actor)} deletes ${this.at}`;
  }
}

/** A folder or building moves under another resource, by a bulk upsert naming its external id. */
class MoveResource extends Step {
  constructor(
    readonly actor: ActorRef,
    readonly at: 'F' | 'B' | 'G',
    readonly to: ResourceName,
  ) {
    super();
  }
  protected async act(m: Model, w: World): Promise<void> {
    const p = resolveActor(m, this.actor);
    const item = {
      externalId: externalId(w.tag, this.at),
      type: TYPE[this.at],
      name: `${w.tag} ${this.at}`,
      parentId: w.ids[this.to],
    };
    const reply = await judged(
      w,
      'move resource',
      `${principalName(p)} moves ${this.at} under ${this.to}`,
      mayMove(m, p, this.at, this.to),
      () => call(w.env.app, 'POST', '/api/v1.0/resources/bulk', { ...credentials(w, p), body: { items: [item] } }),
    );
    if (reply !== null) m.parent[this.at] = this.to;
  }
  toString(): string {
    return `${refName(this.actor)} moves ${this.at} under ${this.to}`;
  }
}

/** Renaming is judged exactly: resources:write where it is, nothing more and nothing less. */
class RenameResource extends Step {
  constructor(
    readonly actor: ActorRef,
    readonly at: ResourceName,
  ) {
    super();
  }
  protected async act(m: Model, w: World): Promise<void> {
    const p = resolveActor(m, this.actor);
    await judged(
      w,
      'rename resource',
      `${principalName(p)} renames ${this.at}`,
      mayWriteResource(m, p, this.at),
      () =>
        call(w.env.app, 'PATCH', `/api/v1.0/resources/${w.ids[this.at]}`, {
          ...credentials(w, p),
          body: { name: `${w.tag} ${this.at}` },
        }),
      true,
    );
  }
  toString(): string {
    return `${refName(this.actor)} renames ${this.at}`;
  }
}

/**
 * Time passes for one token: its expiry moves into the past. Written to the store (and the cache
 * told), as the fixed authorization table does: the API rightly refuses an expiry in the past.
 */
class Expire extends Step {
  constructor(readonly target: number) {
    super();
  }
  override check(m: Readonly<Model>): boolean {
    return m.tokens.length > 0;
  }
  protected async act(m: Model, w: World): Promise<void> {
    const t = resolveToken(m, this.target);
    w.steps.push(`t${t.index} expires`);
    if (t.gone) return;
    const id = w.tokens[t.index]!.id;
    await w.env.kg.stores.tokens.update(id, { expires_at: new Date(Date.now() - 60_000).toISOString() });
    w.env.kg.cache.invalidateToken(id);
    m.tokens[t.index] = { ...t, expiry: -1 };
  }
  toString(): string {
    return `token#${this.target} expires`;
  }
}

type LeakedKey = 'current' | 'graced' | 'retired';

/**
 * Someone reports a key of a token as leaked (POST /revoke, no credentials): its current key, one
 * rolled out with grace, or one rolled out for good (which must switch nothing off). Each report
 * comes from its own address, as the endpoint allows ten a minute per address.
 */
class LeakReport extends Step {
  constructor(
    readonly target: number,
    readonly which: LeakedKey,
  ) {
    super();
  }
  override check(m: Readonly<Model>): boolean {
    return m.tokens.length > 0;
  }
  protected async act(m: Model, w: World): Promise<void> {
    const t = resolveToken(m, this.target);
    const graced = w.graced.find((g) => g.index === t.index)?.key;
    const retired = w.retired[this.target % Math.max(1, w.retired.length)];
    const key = this.which === 'graced' ? graced : this.which === 'retired' ? retired : w.tokens[t.index]!.key;
    if (key === undefined) {
      w.steps.push(`no ${this.which} key of t${t.index} to report`);
      return;
    }
    const res = await w.env.app.inject({
      method: 'POST',
      url: '/api/v1.0/revoke',
      payload: { key },
      remoteAddress: `10.${this.target}.${w.turn % 250}.${(w.steps.length % 250) + 1}`,
    });
    w.turn += 1;
    const whose = this.which === 'retired' ? 'a rolled-out' : `t${t.index}'s ${this.which}`;
    w.steps.push(`someone reports ${whose} key as leaked → ${res.statusCode}`);
    if (res.statusCode !== 202) throw new Error(`POST /revoke answered ${res.statusCode}\n${trace(w)}`);
    if (this.which !== 'retired') m.tokens[t.index] = reportedLeaked(t);
  }
  toString(): string {
    return `someone reports token#${this.target}'s ${this.which} key as leaked`;
  }
}

/** The whole probe matrix, wherever fast-check puts it (it also runs at the end of every run). */
class ProbeAll implements fc.AsyncCommand<Model, World> {
  check(): boolean {
    return true;
  }
  async run(m: Model, w: World): Promise<void> {
    w.steps.push('full probe');
    await probeAll(m, w);
  }
  toString(): string {
    return 'full probe';
  }
}

// --- arbitraries ------------------------------------------------------------------------------

const user = fc.constantFrom(...USERS);
const resource = fc.constantFrom(...RESOURCES);
const level = fc.constantFrom(...LEVELS);
const tokenRef = fc.nat({ max: 31 });
const actor: fc.Arbitrary<ActorRef> = fc.oneof(
  user.map((u): ActorRef => ({ kind: 'session', user: u })),
  tokenRef.map((n): ActorRef => ({ kind: 'token', n })),
);
const perms: fc.Arbitrary<PermsChoice> = fc.oneof(
  { weight: 3, arbitrary: level.map((l) => ({ level: l })) },
  {
    weight: 1,
    arbitrary: fc.subarray([...ALL], { minLength: 1, maxLength: 4 }).map((p) => ({ permissions: p })),
  },
);
const groups = fc.subarray([...GROUPS], { minLength: 1, maxLength: 2 });
const expiry: fc.Arbitrary<Expiry> = fc.constantFrom(null, 10, 20, 30);
/** Mostly null, now and then a value (fc.option makes null the rare one). */
const rarely = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | null> =>
  fc.oneof({ weight: 6, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: arb });

const create = fc
  .tuple(
    actor,
    fc.oneof(
      {
        weight: 1,
        arbitrary: fc
          .tuple(fc.option(resource, { nil: null, freq: 6 }), perms)
          .map(([at, p]): Placement => ({ kind: 'drawn', at, perms: p })),
      },
      { weight: 2, arbitrary: fc.nat({ max: 11 }).map((n): Placement => ({ kind: 'guided', n })) },
    ),
    fc.option(groups, { nil: undefined, freq: 2 }),
    expiry,
    rarely(user),
  )
  .map(([a, pl, g, e, imp]) => new CreateToken(a, pl, g, e, imp));

/**
 * The tokens a run starts with: made by people (and then by those tokens) where they may, so that
 * every run has tokens to act with and on from its first step. Each is a judged create like any other.
 */
export const SEED_TOKENS: fc.Arbitrary<fc.AsyncCommand<Model, World>[]> = fc.array(
  fc
    .tuple(
      fc.oneof(
        { weight: 2, arbitrary: user.map((u): ActorRef => ({ kind: 'session', user: u })) },
        { weight: 1, arbitrary: tokenRef.map((n): ActorRef => ({ kind: 'token', n })) },
      ),
      fc.nat({ max: 11 }),
      fc.option(groups, { nil: undefined, freq: 3 }),
      expiry,
      rarely(user),
    )
    .map(([a, n, g, e, imp]) => new CreateToken(a, { kind: 'guided', n }, g, e, imp)),
  { minLength: 1, maxLength: 4 },
);

/** The operations; making tokens is listed twice, as there is little to act on without them. */
export const COMMANDS: fc.Arbitrary<fc.AsyncCommand<Model, World>>[] = [
  create,
  create,
  fc
    .tuple(
      actor,
      tokenRef,
      fc.oneof(
        perms.map((p): Edit => ({ kind: 'perms', perms: p })),
        groups.map((g): Edit => ({ kind: 'groups', groups: g })),
        expiry.map((e): Edit => ({ kind: 'expiry', expiry: e })),
        fc.boolean().map((b): Edit => ({ kind: 'active', active: b })),
        fc.option(user, { nil: null }).map((u): Edit => ({ kind: 'impersonate', as: u })),
      ),
    )
    .map(([a, t, e]) => new EditToken(a, t, e)),
  fc
    .tuple(
      actor,
      tokenRef,
      fc.constantFrom<Action>('activate', 'deactivate', 'delete', 'roll', 'roll with grace', 'reveal'),
    )
    .map(([a, t, x]) => new TokenAction(a, t, x)),
  fc
    .tuple(actor, resource, user, fc.option(level, { nil: null, freq: 3 }))
    .map(([a, at, u, r]) => new SetRole(a, at, u, r)),
  fc
    .tuple(
      actor,
      user,
      fc.oneof(
        fc.constantFrom<'admin' | 'user'>('admin', 'user').map((r): UserChange => ({ systemRole: r })),
        fc.boolean().map((b): UserChange => ({ active: b })),
      ),
    )
    .map(([a, u, c]) => new ChangeUser(a, u, c)),
  fc.tuple(actor, resource).map(([a, at]) => new DeleteResource(a, at)),
  fc.tuple(actor, resource).map(([a, at]) => new RenameResource(a, at)),
  fc
    .tuple(actor, fc.constantFrom<'F' | 'B' | 'G'>('F', 'B', 'G'), resource)
    .map(([a, at, to]) => new MoveResource(a, at, to)),
  tokenRef.map((t) => new Expire(t)),
  fc
    .tuple(tokenRef, fc.constantFrom<LeakedKey>('current', 'current', 'graced', 'retired'))
    .map(([t, k]) => new LeakReport(t, k)),
  fc.constant(null).map(() => new ProbeAll()),
];
