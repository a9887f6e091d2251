import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { ConfigError, loadConfig, type Config } from '../config.js';
import { KeygateError, fail } from '../domain/errors.js';
import { createKeygate, type Keygate } from '../keygate.js';
import { startServer, type RunningServer } from '../server.js';
import { deriveRoutes, formatRoutes, loadOpenApi } from '../gateway/openapi.js';
import { buildApp } from '../http/app.js';
import { API_VERSIONS } from '../http/versions.js';
import type { Principal } from '../services/principal.js';
import { migrateToLatest, openDatabase } from '../store/database.js';
import type { UserRow } from '../store/users.js';
import { resourceJson, tokenJson, userJson } from '../http/views.js';
import { formatFind, scanPaths, scanStaged } from './scan.js';
import { importTokens, summaryLine } from './import.js';

/** Where a run of the CLI reads its settings and writes its output (the process's, or a test's). */
export interface Io {
  env: Record<string, string | undefined>;
  out(text: string): void;
  err(text: string): void;
  /** Raw writes to stderr, for a progress bar redrawn in place (only when stderr is a terminal). */
  progress?: ((text: string) => void) | undefined;
  isTTY?: boolean | undefined;
}

const processIo: Io = {
  env: process.env,
  out: (text) => console.log(text),
  err: (text) => console.error(text),
  progress: (text) => process.stderr.write(text),
  isTTY: process.stderr.isTTY === true,
};

/** `--rate-limit 100/1m`: a limit per window; `unlimited` opts out of the level's default. */
function rateLimitArg(value: string): { limit: number; window: string } | 'unlimited' {
  if (value === 'unlimited') return value;
  const m = /^(\d+)\/(\d+[smhd])$/.exec(value.trim());
  if (!m) throw new InvalidArgumentError('must be requests/window, such as 100/1m, or unlimited');
  return { limit: Number(m[1]), window: m[2]! };
}

/**
 * Drains and exits on SIGTERM or SIGINT: 0 once everything is written and closed, 1 if closing
 * failed. A second signal while draining exits at once (an operator's Ctrl-C twice).
 */
function exitOnSignal(server: RunningServer): void {
  const shutdown = (signal: string) => {
    server.app.log.info({ signal }, 'shutting down');
    process.once(signal, () => process.exit(1));
    server.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        server.app.log.error({ err: (err as Error).message }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('must be a whole number ≥ 0');
  return n;
}

/**
 * The command line: serve, migrate, bootstrap an administrator, and manage users, memberships,
 * resources and tokens by script. Those commands act as a named user (--as), with exactly that
 * user's rights, through the same services (and the same input checks) as the HTTP API.
 *
 * A fresh program per run: commander keeps parsed option values on its command objects.
 */
export function buildProgram(io: Io): Command {
  const program = new Command()
    .name('keygate')
    .description('Self-hosted, resource-scoped API tokens.')
    .showHelpAfterError()
    // Before any subcommand is added: they copy these settings when created. Positional options
    // let `gateway routes --openapi F` mean the subcommand's --openapi, not the gateway's own.
    .enablePositionalOptions()
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.out(text.replace(/\n$/, '')),
      writeErr: (text) => io.err(text.replace(/\n$/, '')),
    });

  async function withKeygate<T>(fn: (kg: Keygate, config: Config) => Promise<T>): Promise<T> {
    const config = loadConfig(io.env);
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

  async function findUser(kg: Keygate, ref: string): Promise<UserRow> {
    return (await kg.users.find(ref)) ?? fail('UNKNOWN_USER', `There is no user ${ref}.`);
  }

  /** Prints the API's camelCase JSON with --json, else a line meant for people and shell scripts. */
  function print(value: unknown, json: boolean, line: () => string): void {
    io.out(json ? JSON.stringify(value, null, 2) : line());
  }

  program
    .command('serve', { isDefault: true })
    .description('Start the server (PORT, HOST, KEYGATE_DATA_DIR, KEYGATE_DATABASE_URL …)')
    .action(async () => {
      const server = await startServer(loadConfig(io.env));
      exitOnSignal(server);
    });

  const gateway = program
    .command('gateway')
    .description('Start the server with the gateway in front of an upstream API (KEYGATE_GATEWAY_* settings)')
    .option('--upstream <url>', 'the API to protect (KEYGATE_GATEWAY_UPSTREAM)')
    .option('--openapi <file-or-url>', "the upstream's OpenAPI 3.0/3.1 document (KEYGATE_GATEWAY_OPENAPI)")
    .option('--port <port>', "the gateway's port (KEYGATE_GATEWAY_PORT, default 8081)")
    .action(async (opts: { upstream?: string; openapi?: string; port?: string }) => {
      const env = { ...io.env };
      if (opts.upstream !== undefined) env.KEYGATE_GATEWAY_UPSTREAM = opts.upstream;
      if (opts.openapi !== undefined) env.KEYGATE_GATEWAY_OPENAPI = opts.openapi;
      if (opts.port !== undefined) env.KEYGATE_GATEWAY_PORT = opts.port;
      const config = loadConfig(env);
      if (!config.gateway) throw new ConfigError('keygate gateway needs --upstream URL (or KEYGATE_GATEWAY_UPSTREAM).');
      const server = await startServer(config);
      io.out(`keygate API on ${server.url}; gateway on ${server.gateway!.url}`);
      exitOnSignal(server);
    });
  gateway
    .command('routes')
    .description('Print the route table the gateway derives from an OpenAPI document, and exit')
    .requiredOption('--openapi <file-or-url>', "the upstream's OpenAPI 3.0/3.1 document")
    .option('--json', 'print the table as JSON')
    .action(async (opts: { openapi: string; json?: boolean }) => {
      const config = loadConfig(io.env);
      const derived = deriveRoutes(await loadOpenApi(opts.openapi), config.model);
      if (opts.json) return io.out(JSON.stringify(derived, null, 2));
      io.out(formatRoutes(derived.routes));
      for (const warning of derived.warnings) io.err(`warning: ${warning}`);
    });

  program
    .command('openapi')
    .description("Print the API's OpenAPI 3.1 document (for generating clients), and exit")
    .action(async () => {
      // The document depends on the configuration (levels, groups), never on stored data: it is
      // built over a throwaway database so that printing it touches nothing of the operator's.
      const scratch = mkdtempSync(join(tmpdir(), 'keygate-openapi-'));
      try {
        const config = { ...loadConfig(io.env), dataDir: scratch, databaseUrl: undefined };
        const kg = await createKeygate(config);
        try {
          const app = await buildApp(kg);
          const answer = await app.inject(`/api/${API_VERSIONS[0]!.version}/openapi.json`);
          await app.close();
          io.out(JSON.stringify(answer.json(), null, 2));
        } finally {
          await kg.close();
        }
      } finally {
        rmSync(scratch, { recursive: true, force: true });
      }
    });

  program
    .command('migrate')
    .description('Bring the database schema up to date, and exit')
    .action(async () => {
      const config = loadConfig(io.env);
      const opened = await openDatabase({
        url: config.databaseUrl,
        dataDir: config.dataDir,
        pgSchema: config.databaseSchema,
      });
      try {
        const ran = await migrateToLatest(opened.db);
        io.out(ran.length ? `ran ${ran.join(', ')}` : 'already up to date');
      } finally {
        await opened.close();
      }
    });

  const admin = program.command('admin').description('Administrators');
  admin
    .command('create')
    .description('Create an administrator (password from --password or KEYGATE_ADMIN_PASSWORD)')
    .requiredOption('--email <email>', 'email address to sign in with')
    .option(
      '--password <password>',
      'at least 12 characters (prefer the environment variable: arguments show up in ps)',
    )
    .option('--name <name>', 'display name')
    .action(async (opts: { email: string; password?: string; name?: string }) => {
      const password = opts.password ?? io.env.KEYGATE_ADMIN_PASSWORD;
      if (!password)
        throw new KeygateError('VALIDATION_FAILED', 'Give --password or set KEYGATE_ADMIN_PASSWORD.', 'password');
      await withKeygate(async (kg) => {
        const user = await kg.users.create(
          { email: opts.email, password, name: opts.name, systemRole: 'admin' },
          'system',
        );
        io.out(`created administrator ${user.email} (${user.id})`);
      });
    });

  const user = program.command('user').description('People (administrators manage them)');
  user
    .command('create')
    .description('Create a user (password from KEYGATE_USER_PASSWORD; without one they cannot sign in)')
    .requiredOption('--as <email>', 'act as this administrator')
    .requiredOption('--email <email>', 'email address to sign in with')
    .option('--name <name>', 'display name')
    .option('--admin', 'make them a system administrator')
    .option('--json', 'print JSON')
    .action(async (opts: { as: string; email: string; name?: string; admin?: boolean; json?: boolean }) => {
      await withKeygate(async (kg) => {
        const p = await actAs(kg, opts.as);
        const row = await kg.users.create(
          {
            email: opts.email,
            name: opts.name,
            password: io.env.KEYGATE_USER_PASSWORD || undefined,
            systemRole: opts.admin ? 'admin' : 'user',
          },
          p,
        );
        print(userJson(row), !!opts.json, () => row.id);
      });
    });

  user
    .command('list')
    .description('List users (administrators)')
    .requiredOption('--as <email>', 'act as this administrator')
    .option('--limit <n>', 'at most this many', positiveInt, 100)
    .option('--after <id>', 'the last id of the previous page')
    .option('--json', 'print JSON')
    .action(async (opts: { as: string; limit: number; after?: string; json?: boolean }) => {
      await withKeygate(async (kg) => {
        const rows = (await kg.users.list(await actAs(kg, opts.as), opts.limit, opts.after)).map(userJson);
        print(rows, !!opts.json, () =>
          rows
            .map((u) => [u.id, u.email, u.systemRole, u.active ? 'active' : 'disabled', u.name].join('\t'))
            .join('\n'),
        );
      });
    });

  for (const [name, active] of [
    ['disable', false],
    ['enable', true],
  ] as const) {
    user
      .command(`${name} <user>`)
      .description(
        active
          ? 'Let a disabled user sign in again'
          : 'Stop a user: their sessions end, and their tokens stop within KEYGATE_CACHE_TTL_MS on running servers',
      )
      .requiredOption('--as <email>', 'act as this administrator')
      .option('--json', 'print JSON')
      .action(async (ref: string, opts: { as: string; json?: boolean }) => {
        await withKeygate(async (kg) => {
          const p = await actAs(kg, opts.as);
          const row = await kg.users.update((await findUser(kg, ref)).id, { active }, p);
          print(userJson(row), !!opts.json, () => `${name}d ${row.email} (${row.id})`);
        });
      });
  }

  const member = program.command('member').description("People's roles on resources");
  member
    .command('set')
    .description('Give a user a role on a resource (never more than your own)')
    .requiredOption('--as <email>', 'act as this user')
    .requiredOption('--resource <id>', 'the resource')
    .requiredOption('--user <user>', 'user id or email')
    .requiredOption('--role <role>', 'reader, manager, administrator, …')
    .option('--json', 'print JSON')
    .action(async (opts: { as: string; resource: string; user: string; role: string; json?: boolean }) => {
      await withKeygate(async (kg) => {
        const m = await kg.resources.setRole(await actAs(kg, opts.as), opts.resource, opts.user, opts.role, null);
        print(m, !!opts.json, () => `${m.email ?? m.id} is ${m.role} on ${m.resourceId}`);
      });
    });

  member
    .command('remove')
    .description("Take a user's role on a resource away")
    .requiredOption('--as <email>', 'act as this user')
    .requiredOption('--resource <id>', 'the resource')
    .requiredOption('--user <user>', 'user id or email')
    .action(async (opts: { as: string; resource: string; user: string }) => {
      await withKeygate(async (kg) => {
        await kg.resources.removeRole(await actAs(kg, opts.as), opts.resource, opts.user, null);
        io.out(`removed ${opts.user} from ${opts.resource}`);
      });
    });

  member
    .command('list')
    .description('People (with roles inherited from above) and tokens on a resource')
    .requiredOption('--as <email>', 'act as this user')
    .requiredOption('--resource <id>', 'the resource')
    .option('--json', 'print JSON')
    .action(async (opts: { as: string; resource: string; json?: boolean }) => {
      await withKeygate(async (kg) => {
        const members = await kg.resources.members(await actAs(kg, opts.as), opts.resource);
        print(members, !!opts.json, () =>
          members
            .map((m) =>
              [m.kind, m.id, m.email ?? m.name, m.role ?? '', m.inherited ? `from ${m.resourceId}` : ''].join('\t'),
            )
            .join('\n'),
        );
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
        print(resourceJson(row), !!opts.json, () => row.id);
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
    .option('--rate-limit <limit/window>', 'requests per window, such as 100/1m (or unlimited)', rateLimitArg)
    .option('--credits <n>', 'remaining uses (each use costs 1)', positiveInt)
    .option('--ip-allow <address-or-cidr...>', 'addresses and CIDR ranges the key may be used from')
    .option('--json', 'print JSON')
    .action(
      async (opts: {
        as: string;
        name: string;
        rateLimit?: ReturnType<typeof rateLimitArg>;
        credits?: number;
        ipAllow?: string[];
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
              rateLimit: opts.rateLimit,
              credits: opts.credits === undefined ? undefined : { remaining: opts.credits },
              ipAllowlist: opts.ipAllow,
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
                [t.id, `${t.keyPrefix}…`, t.state, t.expiresAt ?? 'never', t.resourceId ?? '(system)', t.name].join(
                  '\t',
                ),
              )
              .join('\n'),
          );
        });
      },
    );

  token
    .command('import <file>')
    .description(
      'Create tokens from NDJSON (a file, or - for stdin): one API token create body with resourceId a line; the keys go only to --keys-out',
    )
    .requiredOption('--as <email>', 'act as (and be owned by) this user')
    .requiredOption('--keys-out <file>', 'new file for the keys, NDJSON {line, id, key}, mode 0600 (never overwritten)')
    .option('--strict', 'stop at the first refused line (nothing of its batch is written)')
    .option('--progress', 'show the progress bar even when stderr is not a terminal')
    .option('--batch-size <n>', 'tokens per transaction', positiveInt, 1_000)
    .action(
      async (
        file: string,
        opts: { as: string; keysOut: string; strict?: boolean; progress?: boolean; batchSize: number },
      ) => {
        if (opts.batchSize < 1)
          throw new KeygateError('VALIDATION_FAILED', '--batch-size must be at least 1.', 'batch-size');
        await withKeygate(async (kg) => {
          const summary = await importTokens(
            kg,
            await actAs(kg, opts.as),
            {
              input: file,
              keysOut: opts.keysOut,
              strict: !!opts.strict,
              progress: !!opts.progress,
              batchSize: opts.batchSize,
            },
            io,
          );
          io.out(summaryLine(summary, opts.keysOut));
          if (summary.failure !== undefined) throw summary.failure;
          // Some lines refused: the good ones are in, and a script still hears that not all were.
          if (summary.refused > 0) throw new CommanderError(1, 'keygate.import.refused', 'lines refused');
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
          io.out(`${name}d ${id}`);
        });
      });
  }

  program
    .command('scan [paths...]')
    .description(
      'Find leaked keygate keys in files and directories, or in what git has staged (--staged); exits 1 when any is found',
    )
    .option('--staged', 'scan the files staged for commit (for a pre-commit hook)')
    .option('--prefix <prefix>', 'the key prefix (KEYGATE_KEY_PREFIX, default kg_)')
    .option('--json', 'print a JSON array of {file, line, column, prefix}')
    .action((paths: string[], opts: { staged?: boolean; prefix?: string; json?: boolean }) => {
      // Exit codes travel as CommanderError so run() returns them without printing anything more.
      const usage = (message: string) => {
        io.err(`keygate scan: ${message}`);
        throw new CommanderError(2, 'keygate.scan.usage', message);
      };
      if (opts.staged ? paths.length > 0 : paths.length === 0) usage('give paths to scan, or --staged (not both)');
      // Only the prefix setting matters here; going through loadConfig checks --prefix the same way.
      let prefix: string;
      try {
        prefix = loadConfig(
          opts.prefix === undefined ? io.env : { ...io.env, KEYGATE_KEY_PREFIX: opts.prefix },
        ).keyPrefix;
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        return usage(err.message);
      }
      let result = { finds: [], unreadable: 0 } as ReturnType<typeof scanPaths>;
      if (!opts.staged) result = scanPaths(paths, prefix, io.err);
      else
        try {
          result = scanStaged(prefix, io.err);
        } catch (err) {
          // git's own words (such as "not a git repository"), not the command line that failed.
          const said = (err as { stderr?: Buffer }).stderr?.toString().trim().split('\n')[0];
          return usage(`cannot read the staged files: ${said || (err as Error).message}`);
        }
      if (opts.json)
        io.out(JSON.stringify(result.finds.map(({ file, line, column, prefix }) => ({ file, line, column, prefix }))));
      else for (const find of result.finds) io.out(formatFind(find));
      if (result.finds.length > 0) throw new CommanderError(1, 'keygate.scan.found', 'keys found');
      if (result.unreadable > 0) throw new CommanderError(2, 'keygate.scan.unreadable', 'unreadable paths');
    });

  return program;
}

/** Runs one command line (without the node and script arguments); resolves to the exit code. */
export async function run(argv: readonly string[], io: Io = processIo): Promise<number> {
  try {
    await buildProgram(io).parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (err) {
    // Commander has already said what was wrong (or shown the help asked for).
    if (err instanceof CommanderError) return err.exitCode;
    if (err instanceof KeygateError)
      io.err(`keygate: ${err.code}: ${err.message}${err.field ? ` (${err.field})` : ''}`);
    else if (err instanceof ConfigError) io.err(`keygate: configuration: ${err.message}`);
    // No stack trace: this is a command line for operators, and the message says what failed.
    else io.err(`keygate: ${(err as Error).message ?? String(err)}`);
    return 1;
  }
}
