import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { before, it } from 'node:test';
import fc from 'fast-check';
import { DEFAULT_MODEL } from '../../src/domain/model.js';
import { forEachDialect } from '../support/harness.js';
import { COMMANDS, CreateToken, SEED_TOKENS } from './model/commands.js';
import { Escalation, probeAll, probeStep } from './model/probes.js';
import { ALL, BUNDLES, GROUPS, LEVELS, RESOURCES, type Model } from './model/reference.js';
import { setUpRoot, setUpRun, type InitialRoles, type World } from './model/world.js';

/**
 * "No escalation, ever", model-based: fast-check generates sequences of operations — create, edit
 * (permissions, API groups, expiry, on/off, impersonation), activate, deactivate, delete, roll (with
 * and without a grace period) and reveal tokens; report a key as leaked; give, change and take
 * roles; demote or promote system administrators, switch people off and on; move and delete
 * resources; let a token expire — each by a random principal (a person signed in, or any token's
 * key, dead ones included, tokens acting on tokens too) on a fresh tree with fresh people, against
 * the real app (app.inject) and the reference model in test/security/model, written from the README
 * alone. After every step every key, every rolled-out key and every principal is probed; a full
 * matrix (verify answers; what each principal sees of tokens, lists, search, members and the audit
 * trail; what a verifier is told; forbidden token actions, bulk deactivation) runs at the end of each
 * run and wherever fast-check places it.
 *
 * The rule: keygate is never more permissive than the model. Where the model is exact (a key works;
 * reading and renaming resources; what /verify answers), stricter fails too. Elsewhere keygate may be
 * stricter (tallied and printed as diagnostics; reasons in STRICTER_BY_DESIGN). Not covered here:
 * creating resources, webhooks, the access log, token limits and the gateway.
 *
 * Budget: 20 runs of up to 14 steps (after up to 4 seed tokens) per dialect, well under a minute
 * each on a loaded 2-core machine. More: KEYGATE_ESCALATION_RUNS=250 KEYGATE_ESCALATION_STEPS=24.
 * Replay a failure: KEYGATE_ESCALATION_SEED and KEYGATE_ESCALATION_PATH from fast-check's report.
 */
const NUM_RUNS = Number(process.env.KEYGATE_ESCALATION_RUNS ?? 20);
const MAX_COMMANDS = Number(process.env.KEYGATE_ESCALATION_STEPS ?? 14);
const replay = process.env.KEYGATE_ESCALATION_SEED
  ? {
      seed: Number(process.env.KEYGATE_ESCALATION_SEED),
      ...(process.env.KEYGATE_ESCALATION_PATH ? { path: process.env.KEYGATE_ESCALATION_PATH } : {}),
    }
  : {};

const grant = fc.record({ at: fc.constantFrom(...RESOURCES), role: fc.constantFrom(...LEVELS) });
/** U1 and U2 start with a role somewhere; U3 may start with none at all. */
const initialRoles: fc.Arbitrary<InitialRoles> = fc.record(
  { U1: grant, U2: grant, U3: grant },
  { requiredKeys: ['U1', 'U2'] },
);

forEachDialect(
  'no escalation: random operations by random principals against a reference model',
  (env, dialect) => {
    let root: { cookie: string; verifier: string };
    before(async () => {
      root = await setUpRoot(env());
    });

    it("the model's bundles and API groups are the default model's", () => {
      for (const level of LEVELS)
        assert.deepEqual([...BUNDLES[level]].sort(), [...DEFAULT_MODEL.levels[level]!].sort(), level);
      assert.deepEqual([...ALL].sort(), Object.keys(DEFAULT_MODEL.permissions).sort());
      assert.deepEqual([...GROUPS].sort(), Object.keys(DEFAULT_MODEL.apiGroups).sort());
    });

    it('the probes catch a principal doing more than the model allows', async () => {
      // U1 reads A for real; a model that says U1 holds nothing must see that as an escalation.
      const { model, world } = await setUpRun(env(), root, { U1: { at: 'A', role: 'reader' } }, new Map());
      model.users.U1.roles.clear();
      await assert.rejects(probeStep(model, world), (err: Error) => {
        assert.ok(err instanceof Escalation, String(err));
        assert.match(err.message, /U1 \(signed in\) reads [AFBG]\b/);
        return true;
      });
    });

    it('an operation keygate allows and the model forbids fails the run', async () => {
      // admin may create an administrator token on A for real; a model that has admin demoted may not.
      const { model, world } = await setUpRun(env(), root, {}, new Map());
      model.users.admin.systemRole = 'user';
      const create = new CreateToken(
        { kind: 'session', user: 'admin' },
        { kind: 'drawn', at: 'A', perms: { level: 'administrator' } },
        undefined,
        30,
        null,
      );
      await assert.rejects(create.run(model, world), (err: Error) => {
        assert.ok(err instanceof Escalation, String(err));
        assert.match(err.message, /admin \(signed in\) creates a token of administrator at A/);
        return true;
      });
    });

    it('no principal ever does what the model forbids', async (t) => {
      const tally = new Map<string, number>();
      let runs = 0;
      await fc.assert(
        fc.asyncProperty(
          initialRoles,
          SEED_TOKENS,
          fc.commands(COMMANDS, { maxCommands: MAX_COMMANDS, size: 'max' }),
          async (roles, seeds, cmds) => {
            runs += 1;
            let state: { model: Model; world: World } | undefined;
            await fc.asyncModelRun(async () => {
              state = await setUpRun(env(), root, roles, tally);
              for (const seed of seeds) if (seed.check(state.model)) await seed.run(state.model, state.world);
              return { model: state.model, real: state.world };
            }, cmds);
            assert.ok(state);
            state.world.steps.push('full probe (end of run)');
            await probeAll(state.model, state.world);
          },
        ),
        { numRuns: NUM_RUNS, ...replay },
      );
      t.diagnostic(`${dialect}: ${runs} runs of up to ${MAX_COMMANDS} steps`);
      for (const [what, n] of [...tally].sort()) t.diagnostic(`${what}: ${n}`);
    });
  },
  { KEYGATE_RECOVERABLE_KEYS: 'true', KEYGATE_ENCRYPTION_KEY: randomBytes(32).toString('hex') },
);
