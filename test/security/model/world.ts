import assert from 'node:assert/strict';
import { randomBase62 } from '../../../src/domain/keys.js';
import type { TestEnv } from '../../support/harness.js';
import { call, PASSWORD, userWithSession, type Reply } from '../../support/client.js';
import {
  initialModel,
  PARENT,
  RESOURCES,
  TYPE,
  USERS,
  type Level,
  type Model,
  type Principal,
  type ResourceName,
  type UserName,
} from './reference.js';

export const DAY_MS = 86_400_000;

/** The real side of one run: a fresh tree and fresh people inside the suite's keygate, and the keys minted so far. */
export interface World {
  env: TestEnv;
  ids: Record<ResourceName, string>;
  users: Record<UserName, { id: string; email: string; cookie: string }>;
  /** By the model's token index: the token's id and its current key (never printed). */
  tokens: { id: string; key: string }[];
  /** Keys that must never work again: rolled out without a grace period. */
  retired: string[];
  /** Keys rolled out with an hour's grace: they work exactly while their token does. */
  graced: { index: number; key: string }[];
  /** A system administrator's system token outside the run, holding keys:verify everywhere. */
  verifier: string;
  /** The start of the run: token expiries are days from it. */
  t0: number;
  /** Tallies for the suite's diagnostics: operation → outcome → count. */
  tally: Map<string, number>;
  /** What this run did so far, resolved (who on what), for failure messages. */
  steps: string[];
  /** Every resource of the run is named `<tag> <name>`, so a search finds this run's resources only. */
  tag: string;
  /** Turns the probes that are spread over runs (one of several equivalent requests each time). */
  turn: number;
}

/** Roles held when a run starts, one optional role per plain user. */
export type InitialRoles = Partial<Record<Exclude<UserName, 'admin'>, { at: ResourceName; role: Level }>>;

/** The credentials a principal presents. */
export function credentials(w: World, p: Principal): { key: string } | { cookie: string } {
  if (p.kind === 'session') return { cookie: w.users[p.user].cookie };
  const t = w.tokens[p.index];
  assert.ok(t, `no token t${p.index} in the world`);
  return { key: t.key };
}

/** A reply as a failure message may show it: status and error code, never a key. */
export function described(reply: Reply): string {
  const code = reply.body?.error?.code;
  return code ? `${reply.status} ${code}` : `${reply.status}`;
}

/** A run's resources carry external ids, so that a bulk upsert can move them. */
export function externalId(tag: string, r: ResourceName): string {
  return `${tag}-${r}`;
}

export function ok(reply: Reply): boolean {
  return reply.status >= 200 && reply.status < 300;
}

export function expiryIso(w: World, days: number | null): string | null {
  return days === null ? null : new Date(w.t0 + days * DAY_MS).toISOString();
}

/** Counts one outcome for the suite's diagnostics. */
export function count(w: World, what: string): void {
  w.tally.set(what, (w.tally.get(what) ?? 0) + 1);
}

/** Signs a (re-enabled) user in again: disabling them ended their sessions. */
export async function signIn(w: World, u: UserName): Promise<void> {
  const res = await w.env.app.inject({
    method: 'POST',
    url: '/api/v1.0/session',
    payload: { email: w.users[u].email, password: PASSWORD },
  });
  assert.equal(res.statusCode, 200, `sign-in of ${u}: ${res.statusCode}`);
  const cookie = res.cookies.find((c) => c.name === 'keygate_session');
  assert.ok(cookie);
  w.users[u].cookie = cookie.value;
}

/**
 * Builds a run's world through the API, as the suite's root administrator (who is no principal of
 * the run and is never demoted, so "the last administrator" never gets in the way).
 */
export async function setUpRun(
  env: TestEnv,
  root: { cookie: string; verifier: string },
  roles: InitialRoles,
  tally: Map<string, number>,
): Promise<{ model: Model; world: World }> {
  const { app, kg } = env;
  const ids = {} as Record<ResourceName, string>;
  const tag = `run${randomBase62(8)}`;
  for (const r of RESOURCES) {
    const parent = PARENT[r];
    const res = await call(app, 'POST', '/api/v1.0/resources', {
      cookie: root.cookie,
      body: {
        type: TYPE[r],
        name: `${tag} ${r}`,
        externalId: externalId(tag, r),
        ...(parent ? { parentId: ids[parent] } : {}),
      },
    });
    assert.equal(res.status, 201, described(res));
    ids[r] = res.body.id;
  }
  const users = {} as World['users'];
  for (const u of USERS) users[u] = await userWithSession(app, kg, u === 'admin' ? 'admin' : 'user');
  const model = initialModel();
  for (const [u, grant] of Object.entries(roles) as [Exclude<UserName, 'admin'>, { at: ResourceName; role: Level }][]) {
    const put = await call(app, 'PUT', `/api/v1.0/resources/${ids[grant.at]}/members/${users[u].id}`, {
      cookie: root.cookie,
      body: { role: grant.role },
    });
    assert.equal(put.status, 200, described(put));
    model.users[u].roles.set(grant.at, grant.role);
  }
  const world: World = {
    env,
    ids,
    users,
    tokens: [],
    retired: [],
    graced: [],
    verifier: root.verifier,
    t0: Date.now(),
    tally,
    tag,
    turn: 0,
    steps: [
      `start: ${
        Object.entries(roles)
          .map(([u, g]) => `${u} ${g.role} on ${g.at}`)
          .join(', ') || 'no roles'
      }`,
    ],
  };
  return { model, world };
}

/** The suite's root administrator and its verifier token, made once per dialect. */
export async function setUpRoot(env: TestEnv): Promise<{ cookie: string; verifier: string }> {
  const root = await userWithSession(env.app, env.kg, 'admin');
  const res = await call(env.app, 'POST', '/api/v1.0/tokens', {
    cookie: root.cookie,
    body: { name: 'root verifier', level: 'administrator', apiGroups: ['verify'] },
  });
  assert.equal(res.status, 201, described(res));
  return { cookie: root.cookie, verifier: res.body.key };
}
