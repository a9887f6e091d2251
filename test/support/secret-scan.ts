import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { sql } from 'kysely';
import { isWellFormedGeneratedKey } from '../../src/domain/keys.js';
import type { Keygate } from '../../src/keygate.js';
import { recordSecret } from './run-record.js';

/**
 * Secrets the tests minted or sent — keys the API answered with, passwords posted — so that, when a
 * test keygate is disposed, everything it left behind can be searched for them: the database (the
 * SQLite file and its WAL, or every row of the PostgreSQL schema) and every file in its data
 * directory (NDJSON sinks, logs). Any key of the generated shape counts too, minted or not.
 */
const minted = new Set<string>();
/**
 * Webhook signing secrets: keygate must keep them to sign (as Stripe does), so they may rest in
 * their own column — and nowhere else: not in other tables, sinks or logs.
 */
const signingSecrets = new Set<string>();

/** Notes a secret to look for at rest. Short strings are ignored: they would match by chance. */
export function noteSecret(value: unknown, into: Set<string> = minted): void {
  if (typeof value !== 'string' || value.length < 12 || into.has(value)) return;
  into.add(value);
  // Signing secrets may rest in their own column, so only the others count for the run-wide scan.
  if (into === minted) recordSecret(value);
}

/** Notes the secrets in a request body or response body: keys, passwords, secrets, at any depth. */
export function noteSecretsIn(body: unknown, depth = 0): void {
  if (body === null || typeof body !== 'object' || depth > 8) return;
  for (const [name, value] of Object.entries(body)) {
    if (/^(key|API_Key|password|newPassword|currentPassword)$/.test(name)) noteSecret(value);
    else if (name === 'secret') noteSecret(value, signingSecrets);
    else noteSecretsIn(value, depth + 1);
  }
}

/** Every file under `dir`, at any depth. */
export function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...filesUnder(path));
    else out.push(path);
  }
  return out;
}

/**
 * Where in `text` one of `secrets` (default: those this process minted) or a generated-shape key
 * occurs, if anywhere.
 */
export function findSecret(
  text: string,
  prefix: string,
  signingSecretsMayRest: boolean,
  secrets: Iterable<string> = minted,
): string | undefined {
  for (const secret of secrets) if (text.includes(secret)) return `a minted secret (${secret.slice(0, 4)}…)`;
  if (!signingSecretsMayRest)
    for (const secret of signingSecrets)
      if (text.includes(secret)) return `a webhook signing secret (${secret.slice(0, 4)}…)`;
  const shape = new RegExp(`${prefix}[0-9A-Za-z]{36}`, 'g');
  for (const m of text.matchAll(shape))
    if (isWellFormedGeneratedKey(m[0], prefix)) return `a key (${m[0].slice(0, 7)}…)`;
  return undefined;
}

/** Throws when a minted secret or any key is found at rest; run after the keygate wrote everything out. */
export async function assertNoSecretsAtRest(kg: Keygate, dataDir: string): Promise<void> {
  await kg.accessLog.flush();
  // [where, text, whether webhook signing secrets may be there]
  const places: [string, string, boolean][] = [];
  // The SQLite file holds the webhooks table; PostgreSQL's other tables are checked row by row below.
  for (const file of filesUnder(dataDir))
    places.push([file, readFileSync(file).toString('latin1'), /keygate\.db(-wal|-shm|-journal)?$/.test(file)]);
  if (kg.dialect === 'postgres') {
    const { rows } = await sql<{ table_name: string }>`
      select table_name from information_schema.tables
      where table_schema = current_schema() and table_type = 'BASE TABLE'`.execute(kg.stores.db);
    for (const { table_name } of rows) {
      const dump = await sql<{ row: string }>`select t::text as row from ${sql.table(table_name)} t`.execute(
        kg.stores.db,
      );
      places.push([`table ${table_name}`, dump.rows.map((r) => r.row).join('\n'), table_name === 'webhooks']);
    }
  }
  for (const [where, text, signingSecretsMayRest] of places) {
    const found = findSecret(text, kg.config.keyPrefix, signingSecretsMayRest);
    if (found) throw new Error(`${found} was found at rest in ${where}`);
  }
}
