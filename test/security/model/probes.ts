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
  type Model,
  type ModelToken,
  type Principal,
} from './reference.js';
import { credentials, described, ok, type World } from './world.js';

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
 * it may not write.
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
  for (const [i, key] of w.retired.entries()) {
    const me = await call(app, 'GET', '/api/v1.0/me', { key });
    if (ok(me)) escalation(w, `retired key #${i} works (GET /me)`, me);
  }
  for (const p of principals(m)) {
    const as = credentials(w, p);
    for (const r of RESOURCES) {
      const id = w.ids[r];
      const read = await call(app, 'GET', `/api/v1.0/resources/${id}`, as);
      const may = mayReadResource(m, p, r);
      if (ok(read) && !may) escalation(w, `${principalName(p)} reads ${r}`, read);
      if (!ok(read) && may) disagreement(w, `${principalName(p)} reads ${r}`, read);
      if (!mayWriteResource(m, p, r)) {
        // Only refusals are probed: an allowed rename would write (rename commands check those).
        const write = await call(app, 'PATCH', `/api/v1.0/resources/${id}`, { ...as, body: { name: r } });
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
  for (const t of m.tokens) {
    const key = w.tokens[t.index]!.key;
    for (const r of RESOURCES) {
      for (const permission of ALL) {
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
    for (const r of RESOURCES) {
      const list = await call(app, 'GET', `/api/v1.0/resources/${w.ids[r]}/tokens?limit=500`, as);
      if (!ok(list)) continue;
      for (const item of list.body.items as { id: string }[]) {
        const t = tokenById(m, w, item.id);
        if (t === undefined || !maySeeToken(m, p, t)) escalation(w, `${who} lists ${nameOf(t, item.id)} at ${r}`, list);
      }
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

/** "My tokens": those of the user the principal acts as, and for a token only inside its subtree. */
function mayListAsMine(m: Model, p: Principal, t: ModelToken, me: string | null): boolean {
  if (t.gone) return false;
  if (p.kind === 'session') return t.owner === me && m.users[p.user].active;
  const own = m.tokens[p.index]!;
  return tokenAlive(m, own) && t.owner === (own.impersonate ?? own.owner) && inScope(own, t.home);
}

function tokenById(m: Model, w: World, id: string): ModelToken | undefined {
  const i = w.tokens.findIndex((t) => t.id === id);
  return i < 0 ? undefined : m.tokens[i];
}

function nameOf(t: ModelToken | undefined, id: string): string {
  return t ? `t${t.index}` : `a token not of this run (${id})`;
}

/** One principal against one token: seeing it, and every action the model forbids. */
async function probeTokenActions(m: Model, w: World, p: Principal, t: ModelToken): Promise<void> {
  const { app } = w.env;
  const as = credentials(w, p);
  const who = `${principalName(p)} on t${t.index}`;
  const path = `/api/v1.0/tokens/${w.tokens[t.index]!.id}`;
  const seen = await call(app, 'GET', path, as);
  if (ok(seen) && !maySeeToken(m, p, t)) escalation(w, `${who}: GET`, seen);
  if (!mayManage(m, p, t)) {
    const attempts: [string, () => Promise<Reply>][] = [
      ['PATCH', () => call(app, 'PATCH', path, { ...as, body: { description: 'probe' } })],
      ['deactivate', () => call(app, 'POST', `${path}/deactivate`, as)],
      ['DELETE', () => call(app, 'DELETE', path, as)],
    ];
    for (const [what, attempt] of attempts) {
      const reply = await attempt();
      if (ok(reply)) escalation(w, `${who}: ${what}`, reply);
    }
  }
  if (!mayActivate(m, p, t)) {
    const reply = await call(app, 'POST', `${path}/activate`, as);
    if (ok(reply)) escalation(w, `${who}: activate`, reply);
  }
  if (!mayRoll(m, p, t)) {
    const reply = await call(app, 'POST', `${path}/roll`, { ...as, body: { graceSeconds: 0 } });
    if (ok(reply)) escalation(w, `${who}: roll`, reply);
  }
  if (!mayReveal(m, p, t)) {
    const reply = await call(app, 'GET', `${path}/key`, as);
    if (ok(reply)) escalation(w, `${who}: reveal`, reply);
  }
}
