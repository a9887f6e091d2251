import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { findSecret, filesUnder } from './secret-scan.js';

/**
 * The run-wide secret scan, run by `npm test` after the last test file: every secret any test process
 * minted or sent (run-record.ts) is searched for in everything every process left — the SQLite files and
 * their WALs, server logs, NDJSON sinks, started processes' output, received response bodies and the rows
 * of every kept PostgreSQL schema — and so is anything shaped like a generated key. Exits 1 on a find, or
 * when there is nothing to scan (a record that was not kept must not pass as a clean one).
 */

/** How many bytes of a secret index it: every secret is at least this long (secret-scan.ts). */
const WINDOW = 12;
const BASE = 257;

/** Finds any of many byte strings in large buffers in one pass (Rabin–Karp over a 12-byte window). */
export class SecretMatcher {
  private readonly byHash = new Map<number, Buffer[]>();
  private readonly power: number;

  constructor(secrets: Iterable<string>) {
    let power = 1;
    for (let i = 1; i < WINDOW; i++) power = Math.imul(power, BASE) >>> 0;
    this.power = power;
    for (const secret of secrets) {
      const bytes = Buffer.from(secret, 'utf8');
      if (bytes.length < WINDOW) continue;
      const h = this.hash(bytes);
      const list = this.byHash.get(h);
      if (list) list.push(bytes);
      else this.byHash.set(h, [bytes]);
    }
  }

  get size(): number {
    let n = 0;
    for (const list of this.byHash.values()) n += list.length;
    return n;
  }

  private hash(bytes: Buffer): number {
    let h = 0;
    for (let i = 0; i < WINDOW; i++) h = (Math.imul(h, BASE) + (bytes[i] as number)) >>> 0;
    return h;
  }

  /** The first secret found in `data`, if any. */
  find(data: Buffer): Buffer | undefined {
    if (data.length < WINDOW) return undefined;
    let h = this.hash(data);
    for (let i = 0; ; i++) {
      const candidates = this.byHash.get(h);
      if (candidates)
        for (const secret of candidates)
          if (i + secret.length <= data.length && data.compare(secret, 0, secret.length, i, i + secret.length) === 0)
            return secret;
      if (i + WINDOW >= data.length) return undefined;
      const out = Math.imul(data[i] as number, this.power) >>> 0;
      h = (Math.imul((h - out) >>> 0, BASE) + (data[i + WINDOW] as number)) >>> 0;
    }
  }
}

export interface ScanReport {
  secrets: number;
  files: number;
  bytes: number;
  schemas: number;
  rows: number;
  finds: string[];
}

function linesOf(path: string): string[] {
  return existsSync(path)
    ? readFileSync(path, 'utf8')
        .split('\n')
        .filter((l) => l !== '')
    : [];
}

/** Scans a run's record; the PostgreSQL schemas it lists are read through `pgUrl` and dropped afterwards. */
export async function scanRecord(root: string, pgUrl: string | undefined): Promise<ScanReport> {
  const secretsDir = join(root, 'secrets');
  const secrets = new Set<string>();
  if (existsSync(secretsDir))
    for (const file of readdirSync(secretsDir)) for (const s of linesOf(join(secretsDir, file))) secrets.add(s);
  // A secret of a few repeated characters ('x' × 30, a test's throwaway password) is also the filler the
  // tests send on purpose (long query values, 70 kB strings): it cannot be told from them, so it is not sought.
  const distinctive = [...secrets].filter((s) => new Set(s).size >= 4);
  const matcher = new SecretMatcher(distinctive);
  const report: ScanReport = { secrets: distinctive.length, files: 0, bytes: 0, schemas: 0, rows: 0, finds: [] };
  const check = (where: string, data: Buffer) => {
    report.bytes += data.length;
    const secret = matcher.find(data);
    if (secret) report.finds.push(`a minted secret (${secret.subarray(0, 4).toString()}…) in ${where}`);
    // Any key of the generated shape, minted by this run or not (the default prefix; suites with their
    // own prefix have their keys in the minted set).
    const shaped = findSecret(data.toString('latin1'), 'kg_', true, []);
    if (shaped) report.finds.push(`${shaped} in ${where}`);
  };
  for (const part of ['data', 'output', 'responses']) {
    const dir = join(root, part);
    if (!existsSync(dir)) continue;
    for (const file of filesUnder(dir)) {
      report.files += 1;
      check(relative(root, file), readFileSync(file));
    }
  }
  const schemas = linesOf(join(root, 'schemas.txt'));
  if (schemas.length > 0) {
    if (!pgUrl) throw new Error('the record lists PostgreSQL schemas but KEYGATE_TEST_POSTGRES_URL is not set');
    const client = new pg.Client({ connectionString: pgUrl });
    await client.connect();
    try {
      for (const schema of schemas) {
        const tables = await client.query<{ table_name: string }>(
          `select table_name from information_schema.tables where table_schema = $1 and table_type = 'BASE TABLE'`,
          [schema],
        );
        report.schemas += 1;
        for (const { table_name } of tables.rows) {
          const dump = await client.query<{ row: string }>(
            `select t::text as row from ${client.escapeIdentifier(schema)}.${client.escapeIdentifier(table_name)} t`,
          );
          report.rows += dump.rows.length;
          check(`${schema}.${table_name}`, Buffer.from(dump.rows.map((r) => r.row).join('\n')));
        }
        await client.query(`drop schema if exists ${client.escapeIdentifier(schema)} cascade`);
      }
    } finally {
      await client.end();
    }
  }
  return report;
}

async function main(): Promise<void> {
  const root = process.argv[2] ?? process.env.KEYGATE_TEST_RECORD_DIR;
  if (!root || !existsSync(root)) {
    console.error(`secret scan: no record at ${root ?? '(unset)'}: run it after \`npm test\` kept one`);
    process.exit(1);
  }
  const report = await scanRecord(root, process.env.KEYGATE_TEST_POSTGRES_URL);
  const mib = (report.bytes / 2 ** 20).toFixed(1);
  console.log(
    `secret scan: ${report.secrets} minted secrets searched for in ${report.files} files and ` +
      `${report.rows} rows of ${report.schemas} PostgreSQL schemas (${mib} MiB)`,
  );
  if (report.secrets === 0 || report.files === 0) {
    console.error('secret scan: nothing was recorded, so nothing was proven');
    process.exit(1);
  }
  if (report.finds.length > 0) {
    for (const f of report.finds.slice(0, 50)) console.error(`secret scan: found ${f}`);
    console.error(`secret scan: ${report.finds.length} finds; the record is kept in ${root} for a look`);
    process.exit(1);
  }
  rmSync(root, { recursive: true, force: true });
  console.log('secret scan: no key or password at rest, in a log or in a response body');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
