import { createHash } from 'node:crypto';
import argon2 from 'argon2';
import { fail } from '../domain/errors.js';
import { validate } from '../domain/validate.js';
import { UserCreate, UserListQuery, UserPatch } from '../schemas.js';
import { newId } from '../domain/ids.js';
import { randomBase62 } from '../domain/keys.js';
import type { Stores } from '../store/index.js';
import type { UserRow } from '../store/users.js';
import { fieldChanges, type AuditTrail, type Origin } from './audit.js';
import { actingUser, isSystemAdmin, type Principal } from './principal.js';
import { normalizeEmail } from '../domain/email.js';

export const MIN_PASSWORD_LENGTH = 12;

export interface PasswordHashing {
  memoryCost: number;
  timeCost: number;
}

export interface NewUser {
  email: string;
  name?: string | undefined;
  password?: string | undefined;
  systemRole?: 'admin' | 'user' | undefined;
}

/** Users, passwords (argon2id) and console sessions. */
export class UserService {
  private dummyHash: Promise<string> | undefined;

  constructor(
    private readonly stores: Stores,
    private readonly audit: AuditTrail,
    private readonly hashing: PasswordHashing,
    private readonly sessionTtlMs: number,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  private hashPassword(password: string): Promise<string> {
    if (password.length < MIN_PASSWORD_LENGTH)
      fail('VALIDATION_FAILED', `A password needs at least ${MIN_PASSWORD_LENGTH} characters.`, 'password');
    return argon2.hash(password, {
      type: argon2.argon2id,
      memoryCost: this.hashing.memoryCost,
      timeCost: this.hashing.timeCost,
      parallelism: 1,
    });
  }

  /** Creates a user (administrators, or the system itself); the email must be new. */
  async create(input: NewUser, actor: Principal | 'system', origin: Origin = null): Promise<UserRow> {
    if (actor !== 'system' && !isSystemAdmin(actor)) fail('FORBIDDEN', 'Only administrators create users.');
    validate(UserCreate, input);
    const email = normalizeEmail(input.email);
    if (await this.stores.users.findByEmail(email)) fail('EMAIL_TAKEN', undefined, 'email');
    const now = this.clock().toISOString();
    const row: UserRow = {
      id: newId('usr'),
      email,
      name: input.name?.trim() || email,
      password_hash: input.password === undefined ? null : await this.hashPassword(input.password),
      system_role: input.systemRole ?? 'user',
      active: 1,
      created_at: now,
      updated_at: now,
    };
    try {
      await this.stores.transaction(async (tx) => {
        await tx.users.insert(row);
        tx.changes.push({ kind: 'user', id: row.id });
        await this.audit.record(
          actor,
          {
            action: 'user.create',
            targetType: 'user',
            targetId: row.id,
            details: { email, after: userSnapshot(row), passwordSet: row.password_hash !== null },
            origin,
          },
          tx.audit,
        );
      });
    } catch (err) {
      // Two creates of one email racing: the unique index decides, the loser hears it clearly.
      if (await this.stores.users.findByEmail(email)) fail('EMAIL_TAKEN', undefined, 'email');
      throw err;
    }
    return row;
  }

  /**
   * Makes sure the bootstrap administrator exists. A later start with the same email leaves the
   * existing user exactly as it is (its password is not reset). Returns whether it was created.
   */
  async ensureAdmin(email: string, password: string): Promise<boolean> {
    if (await this.stores.users.findByEmail(email)) return false;
    await this.create({ email, password, systemRole: 'admin', name: 'Administrator' }, 'system');
    return true;
  }

  async get(id: string): Promise<UserRow> {
    return (await this.stores.users.findById(id)) ?? fail('NOT_FOUND', 'There is no such user.');
  }

  /** Finds a user by id or, when the text has an @, by email. */
  async find(idOrEmail: string): Promise<UserRow | undefined> {
    return idOrEmail.includes('@') ? this.stores.users.findByEmail(idOrEmail) : this.stores.users.findById(idOrEmail);
  }

  /** Lists users (administrators only); with `q`, those whose email or name contains it, ignoring case. */
  async list(actor: Principal, limit: number, cursor?: string, q?: string): Promise<UserRow[]> {
    // Only q: the CLI pages with limits of its own.
    validate(UserListQuery, { q });
    if (!isSystemAdmin(actor)) fail('FORBIDDEN', 'Only administrators list users.');
    return this.stores.users.list(limit, cursor, q);
  }

  /** Shows a user to an actor: oneself, or anyone for administrators; others do not exist for the actor. */
  async show(actor: Principal, id: string): Promise<UserRow> {
    if (!isSystemAdmin(actor) && !isSelf(actor, id)) fail('NOT_FOUND', 'There is no such user.');
    return this.get(id);
  }

  /**
   * Changes a user; deactivating one ends their sessions, and their tokens stop at once here (within
   * the cache TTL on other servers).
   * Administrators change anyone; people change only their own name and password. Whoever changes
   * their own password gives the current one, so a borrowed session or token cannot take the
   * account over; an administrator resetting someone else's does not.
   */
  async update(
    id: string,
    patch: {
      name?: string | undefined;
      password?: string | undefined;
      currentPassword?: string | undefined;
      active?: boolean | undefined;
      systemRole?: 'admin' | 'user' | undefined;
    },
    actor: Principal,
    origin: Origin = null,
  ): Promise<UserRow> {
    if (!isSystemAdmin(actor)) {
      if (!isSelf(actor, id)) fail('NOT_FOUND', 'There is no such user.');
      if (patch.active !== undefined || patch.systemRole !== undefined)
        fail('FORBIDDEN', 'Only administrators change activity and roles.');
    }
    validate(UserPatch, patch);
    const user = await this.get(id);
    if (patch.password !== undefined && actingUser(actor).id === id) await this.requireCurrentPassword(user, patch);
    const set: Partial<UserRow> = { updated_at: this.clock().toISOString() };
    if (patch.name !== undefined) set.name = patch.name.trim();
    if (patch.password !== undefined) set.password_hash = await this.hashPassword(patch.password);
    if (patch.active !== undefined) set.active = patch.active ? 1 : 0;
    if (patch.systemRole !== undefined) set.system_role = patch.systemRole;
    const demotesAdmin =
      user.system_role === 'admin' && user.active === 1 && (patch.active === false || patch.systemRole === 'user');
    const given = Object.keys(patch).filter(
      (k) => k !== 'currentPassword' && (patch as Record<string, unknown>)[k] !== undefined,
    );
    // Switching a user on or off alone has its own action, as a token's does.
    const action =
      given.length === 1 && given[0] === 'active' ? (patch.active ? 'user.enable' : 'user.disable') : 'user.update';
    await this.stores.transaction(async (tx) => {
      if (demotesAdmin && (await tx.users.countAdmins()) <= 1)
        fail('CONFLICT', 'This is the last administrator; make another one first.');
      await tx.users.update(id, set);
      tx.changes.push({ kind: 'user', id });
      if (patch.active === false || patch.password !== undefined) await tx.sessions.deleteForUser(id);
      await this.audit.record(
        actor,
        {
          action,
          targetType: 'user',
          targetId: id,
          details: {
            email: user.email,
            changes: fieldChanges(userSnapshot(user), userSnapshot({ ...user, ...set })),
            // That it changed, never what to: no password or hash is ever in the audit trail.
            ...(patch.password !== undefined ? { passwordChanged: true } : {}),
          },
          origin,
        },
        tx.audit,
      );
    });
    return this.get(id);
  }

  private async requireCurrentPassword(user: UserRow, patch: { currentPassword?: string | undefined }): Promise<void> {
    if (patch.currentPassword === undefined)
      fail('CURRENT_PASSWORD_INVALID', 'Give your current password (currentPassword) to change it.', 'currentPassword');
    const ok = user.password_hash
      ? await argon2.verify(user.password_hash, patch.currentPassword).catch(() => false)
      : false;
    if (!ok) fail('CURRENT_PASSWORD_INVALID', undefined, 'currentPassword');
  }

  /**
   * Checks an email and password. An unknown email costs the same hash as a known one, so the
   * answer's timing does not tell which emails exist.
   */
  async checkPassword(email: string, password: string): Promise<UserRow> {
    const { user, failure } = await this.passwordCheck(email, password);
    if (failure !== null) fail('INVALID_CREDENTIALS');
    return user!;
  }

  /** The user an email names (if any) and why the password does not sign them in (null: it does). */
  private async passwordCheck(
    email: string,
    password: string,
  ): Promise<{ user: UserRow | undefined; failure: SignInFailure | null }> {
    const user = await this.stores.users.findByEmail(email);
    if (!user?.password_hash || user.active !== 1) {
      this.dummyHash ??= this.hashPassword(randomBase62(24));
      await argon2.verify(await this.dummyHash, password).catch(() => false);
      return { user, failure: !user ? 'unknown-user' : user.active !== 1 ? 'user-disabled' : 'no-password' };
    }
    const ok = await argon2.verify(user.password_hash, password).catch(() => false);
    return { user, failure: ok ? null : 'wrong-password' };
  }

  /**
   * Signs in: returns the session cookie value (stored only as its hash) and its expiry. Success
   * and failure are both audited, each with one write, so neither the answer nor the work done
   * tells a known address from an unknown one.
   */
  async signIn(
    email: string,
    password: string,
    origin: Origin = null,
  ): Promise<{ user: UserRow; cookie: string; expiresAt: Date }> {
    const { user, failure } = await this.passwordCheck(email, password);
    if (failure !== null || user === undefined) {
      const attempted = normalizeEmail(email);
      await this.audit.record('anonymous', {
        action: 'session.fail',
        targetType: 'user',
        // An address nobody has is not a user: it is named only in the details.
        targetId: user?.id ?? 'unknown',
        details: {
          // Someone who typed their password into the email field must not find it here.
          email: EMAIL_SHAPE.test(attempted) ? attempted : null,
          reason: failure ?? 'unknown-user',
        },
        origin,
      });
      fail('INVALID_CREDENTIALS');
    }
    const cookie = randomBase62(43);
    const now = this.clock();
    const expiresAt = new Date(now.getTime() + this.sessionTtlMs);
    await this.stores.transaction(async (tx) => {
      await tx.sessions.insert({
        id_hash: sessionHash(cookie),
        user_id: user.id,
        created_at: now.toISOString(),
        expires_at: expiresAt.toISOString(),
      });
      await this.audit.record(
        { kind: 'user', user: { id: user.id } },
        {
          action: 'session.create',
          targetType: 'user',
          targetId: user.id,
          details: { email: user.email, expiresAt: expiresAt.toISOString() },
          origin,
        },
        tx.audit,
      );
    });
    return { user, cookie, expiresAt };
  }

  /** Ends a session; ending one that is unknown or already gone does nothing (and records nothing). */
  async signOut(cookie: string, origin: Origin = null): Promise<void> {
    const idHash = sessionHash(cookie);
    const session = await this.stores.sessions.find(idHash);
    if (!session) return;
    await this.stores.transaction(async (tx) => {
      await tx.sessions.delete(idHash);
      await this.audit.record(
        { kind: 'user', user: { id: session.user_id } },
        { action: 'session.delete', targetType: 'user', targetId: session.user_id, origin },
        tx.audit,
      );
    });
  }

  /** The user id behind a session cookie, or null when it is unknown or expired. */
  async sessionUserId(cookie: string): Promise<string | null> {
    if (!/^[0-9A-Za-z]{43}$/.test(cookie)) return null;
    const row = await this.stores.sessions.find(sessionHash(cookie));
    if (!row) return null;
    if (row.expires_at <= this.clock().toISOString()) {
      await this.stores.sessions.delete(row.id_hash);
      return null;
    }
    return row.user_id;
  }
}

/** Why a sign-in failed, as the audit trail records it (never told to the caller). */
export type SignInFailure = 'unknown-user' | 'user-disabled' | 'no-password' | 'wrong-password';

/** Plainly an address (one @, no spaces): anything else typed into the email field is not recorded. */
const EMAIL_SHAPE = /^[^\s@]{1,64}@[^\s@]{1,255}$/;

/** A user's settings as the audit trail shows them before and after a change; never a password or hash. */
function userSnapshot(row: UserRow): Record<string, unknown> {
  return { email: row.email, name: row.name, systemRole: row.system_role, active: row.active === 1 };
}

/** Whether the actor is a person acting as themselves (a token never counts as its owner here). */
function isSelf(actor: Principal, id: string): boolean {
  return actor.kind === 'user' && actor.user.id === id;
}

function sessionHash(cookie: string): string {
  return createHash('sha256').update(cookie).digest('base64url');
}
