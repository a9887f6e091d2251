import { call, type Reply } from '../../support/client.js';
import {
  ALL,
  mayActivate,
  mayManage,
  mayReadResource,
  mayReveal,
  mayRoll,
  maySeeToken,
  mayWriteResource,
  principalName,
  RESOURCES,
  tokenAlive,
  USERS,
  verifyValid,
  inScope,
  rights,
  actingUser,
  ancestry,
  groupAllows,
  userPerms,
  type Model,
  type ModelToken,
  type Principal,
  type ResourceName,
} from './reference.js';
import { count, credentials, described, ok, type World } from './world.js';

/** Every principal of the run: each person signed in, and every token's key (dead ones too: they must do nothing). */
export function principals(m: Model): Principal[] {
  return [
    ...USERS.map((user): Principal => ({ kind: 'session', user })),
    ...m.tokens.map((t): Principal => ({ kind: 'token', index: t.index })),
  ];
}

/** Thrown when keygate allows what the model forbids: the finding this suite exists for. */
export class Escalation extends Error {
  override name = 'Escalation';
}

/** Fails with what happened, the run's steps so far, and never a key. */
export function escalation(w: World, what: string, reply: Reply): never {
  throw new Escalation(`${what}: keygate answered ${described(reply)}; the model forbids it.\n${trace(w)}`);
}

/** Fails where the model is exact and keygate refused what it allows (a model that refuses all would prove nothing). */
export function disagreement(w: World, what: string, reply: Reply): never {
  throw new Error(`${what}: keygate answered ${described(reply)}; the model allows it.\n${trace(w)}`);
}

export function trace(w: World): string {
  return `steps of this run:\n${w.steps.map((s, i) => `  ${i + 1}. ${s}`).join('\n')}`;
}

/**
 * After every step: every key works exactly while the model says it is alive, every retired key is
 * refused, and every principal reads exactly the resources the model lets it read and writes none
 * it may not write (two resources in turn; all of them in the full probe).
 */
export async function probeStep(m: Model, w: World): Promise<void> {
  const { app } = w.env;
  for (const t of m.tokens) {
    const real = w.tokens[t.index]!;
    const me = await call(app, 'GET', '/api/v1.0/me', { key: real.key });
    if (ok(me) !== tokenAlive(m, t)) {
      if (ok(me)) escalation(w, `t${t.index}'s key works (GET /me)`, me);
      disagreement(w, `t${t.index}'s key is refused (GET /me)`, me);
    }
  }
  for (const g of w.graced) {
    const me = await call(app, 'GET', '/api/v1.0/me', { key: g.key });
    if (ok(me) !== tokenAlive(m, m.tokens[g.index]!)) {
      if (ok(me)) escalation(w, `a key t${g.index} rolled out with grace works (GET /me)`, me);
      disagreement(w, `a key t${g.index} rolled out with grace is refused (GET /me)`, me);
    }
  }
  for (const [i, key] of w.retired.entries()) {
    const me = await call(app, 'GET', '/api/v1.0/me', { key });
    if (ok(me)) escalation(w, `retired key #${i} works (GET /me)`, me);
  }
  // Two of the five resources after each step, in turn; all five in the full probe.
  w.turn += 1;
  await probeResources(m, w, [RESOURCES[w.turn % 5]!, RESOURCES[(w.turn + 2) % 5]!]);
}

/** Every principal reads exactly the resources the model lets it read, and writes none it may not write. */
async function probeResources(m: Model, w: World, resources: readonly ResourceName[]): Promise<void> {
  const { app } = w.env;
  for (const p of principals(m)) {
    const as = credentials(w, p);
    for (const r of resources) {
      const id = w.ids[r];
      const read = await call(app, 'GET', `/api/v1.0/resources/${id}`, as);
      const may = mayReadResource(m, p, r);
      if (ok(read) && !may) escalation(w, `${principalName(p)} reads ${r}`, read);
      if (!ok(read) && may) disagreement(w, `${principalName(p)} reads ${r}`, read);
      if (!mayWriteResource(m, p, r)) {
        // Only refusals are probed: an allowed rename would write (rename commands check those).
        const write = await call(app, 'PATCH', `/api/v1.0/resources/${id}`, { ...as, body: { name: `${w.tag} ${r}` } });
        if (ok(write)) escalation(w, `${principalName(p)} renames ${r}`, write);
      }
    }
  }
}

/**
 * The whole matrix, at the end of every run (and wherever fast-check puts a probe command): what
 * verifiers are told about every key on every resource for every permission; which tokens each
 * principal sees, alone and in lists; and every token action the model forbids, each of which
 * must be refused (allowed ones are left alone: they would change the state).
 */
export async function probeAll(m: Model, w: World): Promise<void> {
  const { app } = w.env;
  await probeResources(m, w, RESOURCES);
  for (const t of m.tokens) {
    const key = w.tokens[t.index]!.key;
    for (const r of RESOURCES) {
      // Three of the ten permissions per token and resource, a different three each time.
      w.turn += 1;
      for (const permission of [0, 1, 2].map((k) => ALL[(w.turn * 3 + k) % ALL.length]!)) {
        const v = await call(app, 'POST', '/api/v1.0/verify', {
          key: w.verifier,
          body: { key, resourceId: w.ids[r], permission },
        });
        const valid = v.status === 200 && v.body.valid === true;
        const may = verifyValid(m, t, r, permission);
        if (valid && !may) escalation(w, `verify says t${t.index} may ${permission} on ${r}`, v);
        if (!valid && may)
          disagreement(w, `verify refuses t${t.index} ${permission} on ${r} (${v.body?.code ?? v.status})`, v);
      }
    }
  }
  for (const p of principals(m)) {
    const as = credentials(w, p);
    const who = principalName(p);
    for (const t of m.tokens) await probeTokenActions(m, w, p, t);
    // Bulk deactivation judges each token as its own deactivate does: none the model forbids may go off.
    const forbidden = m.tokens.filter((t) => !mayManage(m, p, t));
    if (forbidden.length > 0) {
      const bulk = await call(app, 'POST', '/api/v1.0/tokens/deactivate', {
        ...as,
        body: { ids: forbidden.map((t) => w.tokens[t.index]!.id) },
      });
      if (ok(bulk))
        for (const [i, result] of (bulk.body.results as { ok: boolean }[]).entries())
          if (result.ok) escalation(w, `${who}: bulk deactivate of t${forbidden[i]!.index}`, bulk);
    }
    if (p.kind === 'token') {
      // As a verifier: any answer but NOT_FOUND about a token tells something about it.
      for (const t of m.tokens) {
        const v = await call(app, 'POST', '/api/v1.0/verify', { ...as, body: { key: w.tokens[t.index]!.key } });
        if (v.status === 200 && v.body.code !== 'NOT_FOUND' && !mayVerifierSee(m, p, t))
          escalation(w, `${who} as a verifier is told ${v.body.code} about t${t.index}`, v);
      }
    }
    for (const r of RESOURCES) {
      const members = await call(app, 'GET', `/api/v1.0/resources/${w.ids[r]}/members`, as);
      if (ok(members) && !rights(m, p, 'resources', r).has('members:read'))
        escalation(w, `${who} lists ${r}'s members`, members);
    }
    const found = await call(app, 'GET', `/api/v1.0/resources?q=${w.tag}&limit=500`, as);
    if (ok(found))
      for (const item of found.body.items as { id: string }[]) {
        const r = RESOURCES.find((x) => w.ids[x] === item.id);
        if (r === undefined || !mayReadResource(m, p, r))
          escalation(w, `${who} finds ${r ?? `a resource not of this run (${item.id})`} by searching`, found);
      }
    for (const r of RESOURCES) {
      const list = await call(app, 'GET', `/api/v1.0/resources/${w.ids[r]}/tokens?limit=500`, as);
      if (!ok(list)) continue;
      for (const item of list.body.items as { id: string }[]) {
        const t = tokenById(m, w, item.id);
        if (t === undefined || !maySeeToken(m, p, t)) escalation(w, `${who} lists ${nameOf(t, item.id)} at ${r}`, list);
      }
    }
    const audit = await call(app, 'GET', '/api/v1.0/logs/audit?limit=500', as);
    if (ok(audit))
      for (const record of audit.body.items as AuditItem[]) {
        if (m.users[actingUser(m, p)].systemRole !== 'admin') count(w, 'audit records read by non-administrators');
        if (!maySeeAuditRecord(m, w, p, record))
          escalation(
            w,
            `${who} reads the audit record ${record.action} on ${record.targetType} (${describeRecord(w, record)})`,
            audit,
          );
      }
    const mine = await call(app, 'GET', '/api/v1.0/tokens?limit=500', as);
    if (ok(mine)) {
      const me = p.kind === 'session' ? p.user : null;
      for (const item of mine.body.items as { id: string }[]) {
        const t = tokenById(m, w, item.id);
        if (t === undefined || !mayListAsMine(m, p, t, me))
          escalation(w, `${who} lists ${nameOf(t, item.id)} as mine`, mine);
      }
    }
  }
}

/**
 * "A verifier sees only tokens on resources where it holds keys:verify itself", and a verifier is a
 * token holding keys:verify at its own resource.
 */
function mayVerifierSee(m: Model, p: Principal & { kind: 'token' }, t: ModelToken): boolean {
  const own = m.tokens[p.index]!;
  return (
    !t.gone && rights(m, p, 'verify', own.home).has('keys:verify') && rights(m, p, 'verify', t.home).has('keys:verify')
  );
}

interface AuditItem {
  action: string;
  actorType: string;
  actorId: string | null;
  targetType: string;
  targetId: string;
  resourceId: string | null;
}

function resourceNamed(w: World, id: string | null): ResourceName | undefined {
  return id === null ? undefined : RESOURCES.find((r) => w.ids[r] === id);
}

function describeRecord(w: World, r: AuditItem): string {
  const at = resourceNamed(w, r.resourceId) ?? (r.resourceId === null ? 'no resource' : 'a resource not of this run');
  return `at ${at}`;
}

/**
 * The README's "Reading logs", for the audit trail: a token's owner sees its records; logs:read or
 * members:manage on a resource opens those there and below; everyone sees their own acts and what
 * was done to their tokens; system administrators see everything. A token needs logs:read and the
 * logs group, and sees no more than the user it acts as, within its own subtree.
 */
function maySeeAuditRecord(m: Model, w: World, p: Principal, record: AuditItem): boolean {
  const u = p.kind === 'session' ? p.user : (m.tokens[p.index]!.impersonate ?? m.tokens[p.index]!.owner);
  const r = resourceNamed(w, record.resourceId);
  if (p.kind === 'token') {
    const t = m.tokens[p.index]!;
    if (!tokenAlive(m, t) || !t.perms.has('logs:read') || !groupAllows(t.groups, 'logs')) return false;
    const within =
      t.home === null || (r !== undefined && (r === t.home || (m.resources.has(r) && ancestry(m, r).includes(t.home))));
    if (!within) return false;
  } else if (!m.users[u].active) return false;
  const user = m.users[u];
  if (user.systemRole === 'admin') return true;
  if (r !== undefined && m.resources.has(r)) {
    const held = userPerms(m, u, r);
    if (held.has('logs:read') || held.has('members:manage')) return true;
  }
  const mine = (id: string | null) => {
    const i = w.tokens.findIndex((x) => x.id === id);
    return i >= 0 && !m.tokens[i]!.gone && m.tokens[i]!.owner === u;
  };
  if (record.actorType === 'user' && record.actorId === w.users[u].id) return true;
  if (record.actorType === 'token' && mine(record.actorId)) return true;
  return record.targetType === 'token' && mine(record.targetId);
}

/** "My tokens": those of the user the principal acts as, and for a token only inside its subtree. */
function mayListAsMine(m: Model, p: Principal, t: ModelToken, me: string | null): boolean {
  if (t.gone) return false;
  if (p.kind === 'session') return t.owner === me && m.users[p.user].active;
  const own = m.tokens[p.index]!;
  return tokenAlive(m, own) && t.owner === (own.impersonate ?? own.owner) && inScope(m, own, t.home);
}

function tokenById(m: Model, w: World, id: string): ModelToken | undefined {
  const i = w.tokens.findIndex((t) => t.id === id);
  return i < 0 ? undefined : m.tokens[i];
}

function nameOf(t: ModelToken | undefined, id: string): string {
  return t ? `t${t.index}` : `a token not of this run (${id})`;
}

/**
 * One principal against one token: seeing it, and one of the actions the model forbids (in turn:
 * over a run's probes every forbidden action comes up; an allowed one is never tried here, as it
 * would change the state).
 */
async function probeTokenActions(m: Model, w: World, p: Principal, t: ModelToken): Promise<void> {
  const { app } = w.env;
  const as = credentials(w, p);
  const who = `${principalName(p)} on t${t.index}`;
  const path = `/api/v1.0/tokens/${w.tokens[t.index]!.id}`;
  // The token, or its usage (whoever may see it), in turn.
  w.turn += 1;
  const usage = w.turn % 2 === 1;
  const seen = await call(app, 'GET', usage ? `${path}/usage` : path, as);
  if (ok(seen) && !maySeeToken(m, p, t)) escalation(w, `${who}: GET${usage ? ' usage' : ''}`, seen);
  const manage = !mayManage(m, p, t);
  const forbidden: [string, boolean, () => Promise<Reply>][] = [
    ['PATCH', manage, () => call(app, 'PATCH', path, { ...as, body: { description: 'probe' } })],
    ['deactivate', manage, () => call(app, 'POST', `${path}/deactivate`, as)],
    ['DELETE', manage, () => call(app, 'DELETE', path, as)],
    ['activate', !mayActivate(m, p, t), () => call(app, 'POST', `${path}/activate`, as)],
    ['roll', !mayRoll(m, p, t), () => call(app, 'POST', `${path}/roll`, { ...as, body: { graceSeconds: 0 } })],
    ['reveal', !mayReveal(m, p, t), () => call(app, 'GET', `${path}/key`, as)],
  ];
  const candidates = forbidden.filter(([, refused]) => refused);
  if (candidates.length === 0) return;
  w.turn += 1;
  const [what, , attempt] = candidates[w.turn % candidates.length]!;
  const reply = await attempt();
  if (ok(reply)) escalation(w, `${who}: ${what}`, reply);
}
