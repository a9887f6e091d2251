import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import pg from 'pg';
import { generateKey, randomBase62 } from '../../src/domain/keys.js';
import { DIALECTS } from '../support/harness.js';
import { SecretMatcher, scanRecord } from '../support/scan-record.js';

// The run-wide scan is what proves no secret rests anywhere after `npm test`: it must find what is there.

describe('run-wide secret scan: the matcher', () => {
  it('finds any secret at any place in any bytes, and nothing where there is none', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 400 }),
        fc.array(fc.string({ minLength: 12, maxLength: 40 }), { minLength: 1, maxLength: 20 }),
        fc.nat(),
        fc.nat(),
        (noise, secrets, which, at) => {
          const secret = secrets[which % secrets.length] as string;
          const data = Buffer.from(noise);
          const cut = at % (data.length + 1);
          const planted = Buffer.concat([data.subarray(0, cut), Buffer.from(secret), data.subarray(cut)]);
          const matcher = new SecretMatcher(secrets);
          assert.ok(matcher.find(planted), 'a planted secret is found');
          // Without it, only a secret that really occurs in the noise may be reported.
          const found = matcher.find(data);
          if (found) assert.ok(data.includes(found));
        },
      ),
      { numRuns: 300 },
    );
  });
});

function record(): string {
  const root = mkdtempSync(join(tmpdir(), 'keygate-record-'));
  for (const part of ['secrets', 'data/suite', 'responses']) mkdirSync(join(root, part), { recursive: true });
  return root;
}

for (const dialect of DIALECTS) {
  describe(`run-wide secret scan [${dialect.name}]`, () => {
    const password = 'a password only this test knows';
    const key = generateKey('kg_');

    it('reports a minted password in a log and a generated key in a response body, and passes a clean record', async () => {
      const root = record();
      try {
        writeFileSync(join(root, 'secrets', '1.txt'), `${password}\n`);
        writeFileSync(join(root, 'data/suite/server.log'), '{"msg":"signed in"}\n');
        writeFileSync(join(root, 'responses', '1.ndjson'), '{"status":200,"body":{"name":"x"}}\n');
        const clean = await scanRecord(root, dialect.url);
        assert.deepEqual(clean.finds, []);
        assert.equal(clean.secrets, 1);
        assert.equal(clean.files, 2);

        writeFileSync(join(root, 'data/suite/server.log'), `{"msg":"bad","password":"${password}"}\n`);
        // Never minted by this run: found by its shape and checksum.
        writeFileSync(join(root, 'responses', '1.ndjson'), `{"status":200,"body":{"note":"${key}"}}\n`);
        const dirty = await scanRecord(root, dialect.url);
        assert.equal(dirty.finds.length, 2, dirty.finds.join('; '));
        assert.match(dirty.finds.join('\n'), /minted secret \(a pa…\) in data\/suite\/server\.log/);
        assert.match(dirty.finds.join('\n'), /a key \(kg_.{4}…\) in responses\/1\.ndjson/);
        assert.ok(!dirty.finds.join('\n').includes(key), 'a find names the key by its prefix only');
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    });

    if (dialect.url) {
      const url = dialect.url;
      it('reads every row of every kept schema, and drops the schema', async () => {
        const root = record();
        const schema = `t_${randomBase62(12).toLowerCase()}`;
        const client = new pg.Client({ connectionString: url });
        await client.connect();
        try {
          await client.query(`create schema ${schema}`);
          await client.query(`create table ${schema}.users (id text, note text)`);
          await client.query(`insert into ${schema}.users values ('u1', 'fine'), ('u2', $1)`, [password]);
          writeFileSync(join(root, 'secrets', '1.txt'), `${password}\n`);
          writeFileSync(join(root, 'schemas.txt'), `${schema}\n`);
          const report = await scanRecord(root, url);
          assert.equal(report.schemas, 1);
          assert.equal(report.rows, 2);
          assert.deepEqual(report.finds, [`a minted secret (a pa…) in ${schema}.users`]);
          const left = await client.query('select 1 from information_schema.schemata where schema_name = $1', [schema]);
          assert.equal(left.rowCount, 0, 'the scanned schema is dropped');
        } finally {
          await client.query(`drop schema if exists ${schema} cascade`);
          await client.end();
          rmSync(root, { recursive: true, force: true });
        }
      });
    }
  });
}
