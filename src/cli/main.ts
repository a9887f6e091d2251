#!/usr/bin/env node
import { Command, InvalidArgumentError } from 'commander';
import { ConfigError, loadConfig, type Config } from '../config.js';
import { KeygateError } from '../domain/errors.js';
import { createKeygate, type Keygate } from '../keygate.js';
import { startServer } from '../server.js';
import type { Principal } from '../services/principal.js';
import { migrateToLatest, openDatabase } from '../store/database.js';
import { tokenJson } from '../http/views.js';

/**
 * The command line: serve, migrate, bootstrap an administrator, and manage tokens by script.
 * Token commands act as a named user (--as), with exactly that user's rights.
 */
const program = new Command()
  .name('keygate')
  .description('Self-hosted, resource-scoped API tokens.')
  .showHelpAfterError();

async function withKeygate<T>(fn: (kg: Keygate, config: Config) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const kg = await createKeygate(config);
  try {
    return await fn(kg, config);
  } finally {
    await kg.close();
  }
}

async function actAs(kg: Keygate, email: string): Promise<Principal> {
  const row = await kg.users.find(email);
  const user = row ? await kg.cache.user(row.id) : null;
  if (!user?.active) throw new KeygateError('UNKNOWN_USER', `There is no active user ${email}.`);
  return { kind: 'user', user };
}

function print(value: unknown, json: boolean, line: () => string): void {
  console.log(json ? JSON.stringify(value, null, 2) : line());
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('must be a whole number ≥ 0');
  return n;
}

program
  .command('serve', { isDefault: true })
  .description('Start the server (PORT, HOST, KEYGATE_DATA_DIR, KEYGATE_DATABASE_URL …)')
  .action(async () => {
    const server = await startServer(loadConfig());
    const shutdown = (signal: string) => {
      server.app.log.info({ signal }, 'shutting down');
      void server.stop().then(() => process.exit(0));
    };
    process.once('SIGTERM', () => shutdown('SIGTERM'));
    process.once('SIGINT', () => shutdown('SIGINT'));
  });

program
  .command('migrate')
  .description('Bring the database schema up to date, and exit')
  .action(async () => {
    const config = loadConfig();
    const opened = await openDatabase({ url: config.databaseUrl, dataDir: config.dataDir });
    try {
      const ran = await migrateToLatest(opened.db);
      console.log(ran.length ? `ran ${ran.join(', ')}` : 'already up to date');
    } finally {
      await opened.close();
    }
  });

const admin = program.command('admin').description('Administrators');
admin
  .command('create')
  .description('Create an administrator (password from --password or KEYGATE_ADMIN_PASSWORD)')
  .requiredOption('--email <email>', 'email address to sign in with')
  .option('--password <password>', 'at least 12 characters (prefer the environment variable: arguments show up in ps)')
  .option('--name <name>', 'display name')
  .action(async (opts: { email: string; password?: string; name?: string }) => {
    const password = opts.password ?? process.env.KEYGATE_ADMIN_PASSWORD;
    if (!password)
      throw new KeygateError('VALIDATION_FAILED', 'Give --password or set KEYGATE_ADMIN_PASSWORD.', 'password');
    await withKeygate(async (kg) => {
      const user = await kg.users.create(
        { email: opts.email, password, name: opts.name, systemRole: 'admin' },
        'system',
      );
      console.log(`created administrator ${user.email} (${user.id})`);
    });
  });

const resource = program.command('resource').description('Resources');
resource
  .command('create')
  .description('Create a resource')
  .requiredOption('--as <email>', 'act as this user')
  .requiredOption('--type <type>', 'resource type (account, folder, building, database, …)')
  .requiredOption('--name <name>', 'name')
  .option('--parent <id>', 'parent resource id')
  .option('--json', 'print JSON')
  .action(async (opts: { as: string; type: string; name: string; parent?: string; json?: boolean }) => {
    await withKeygate(async (kg) => {
      const row = await kg.resources.create(
        await actAs(kg, opts.as),
        { type: opts.type, name: opts.name, parentId: opts.parent ?? null },
        null,
      );
      print(row, !!opts.json, () => row.id);
    });
  });

const token = program.command('token').description('API tokens');
token
  .command('create')
  .description('Create a token; prints its key once (first line), or JSON with --json')
  .requiredOption('--as <email>', 'act as (and be owned by) this user')
  .requiredOption('--name <name>', 'a name that says what the token is for')
  .option('--resource <id>', 'attach to this resource (omit for a system token: administrators)')
  .option('--level <level>', 'permission level (reader, manager, administrator)')
  .option('--permission <permission...>', 'explicit fine-grained permissions instead of a level')
  .option('--api-group <group...>', 'API groups it may call (default native: all)')
  .option('--expires-in <preset>', '30d, 90d, 1y, 2y or never')
  .option('--expires-at <time>', 'ISO 8601 time')
  .option('--description <text>', 'description')
  .option('--logging <mode>', 'none, request or request+response')
  .option('--json', 'print JSON')
  .action(
    async (opts: {
      as: string;
      name: string;
      resource?: string;
      level?: string;
      permission?: string[];
      apiGroup?: string[];
      expiresIn?: string;
      expiresAt?: string;
      description?: string;
      logging?: string;
      json?: boolean;
    }) => {
      await withKeygate(async (kg) => {
        const { view, key } = await kg.tokens.create(
          await actAs(kg, opts.as),
          opts.resource ?? null,
          {
            name: opts.name,
            description: opts.description,
            level: opts.level,
            permissions: opts.permission,
            apiGroups: opts.apiGroup,
            expiresIn: opts.expiresIn,
            expiresAt: opts.expiresAt,
            logging: opts.logging as 'none' | 'request' | 'request+response' | undefined,
          },
          null,
        );
        print({ ...tokenJson(view), key }, !!opts.json, () => `${key}\n${view.row.id}`);
      });
    },
  );

token
  .command('list')
  .description('List tokens: your own, or --owner <id>, or --all (administrators)')
  .requiredOption('--as <email>', 'act as this user')
  .option('--owner <id>', 'owner user id')
  .option('--all', 'every token of every user')
  .option('--resource <id>', 'only tokens on this resource')
  .option('--state <state>', 'active, inactive or expired')
  .option('--limit <n>', 'at most this many', positiveInt, 100)
  .option('--json', 'print JSON')
  .action(
    async (opts: {
      as: string;
      owner?: string;
      all?: boolean;
      resource?: string;
      state?: 'active' | 'inactive' | 'expired';
      limit: number;
      json?: boolean;
    }) => {
      await withKeygate(async (kg) => {
        const { views } = await kg.tokens.list(await actAs(kg, opts.as), {
          owner: opts.all ? '*' : opts.owner,
          resourceId: opts.resource,
          state: opts.state,
          limit: opts.limit,
        });
        const rows = views.map((v) => tokenJson(v));
        print(rows, !!opts.json, () =>
          rows
            .map((t) =>
              [t.id, `${t.keyPrefix}…`, t.state, t.expiresAt ?? 'never', t.resourceId ?? '(system)', t.name].join('\t'),
            )
            .join('\n'),
        );
      });
    },
  );

for (const [name, description] of [
  ['revoke', 'Delete a token: its key stops working within KEYGATE_CACHE_TTL_MS on running servers'],
  ['deactivate', 'Switch a token off (it can be activated again)'],
  ['activate', 'Switch a token on'],
] as const) {
  token
    .command(`${name} <id>`)
    .description(description)
    .requiredOption('--as <email>', 'act as this user')
    .action(async (id: string, opts: { as: string }) => {
      await withKeygate(async (kg) => {
        const p = await actAs(kg, opts.as);
        if (name === 'revoke') await kg.tokens.delete(p, id, null);
        else await kg.tokens.setActive(p, id, name === 'activate', null);
        console.log(`${name}d ${id}`);
      });
    });
}

program.parseAsync().catch((err: unknown) => {
  if (err instanceof KeygateError)
    console.error(`keygate: ${err.code}: ${err.message}${err.field ? ` (${err.field})` : ''}`);
  else if (err instanceof ConfigError) console.error(`keygate: configuration: ${err.message}`);
  else console.error(`keygate: ${(err as Error).message ?? String(err)}`);
  process.exit(1);
});
