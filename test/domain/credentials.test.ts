import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  extractCredential,
  type CredentialInput,
  type CredentialResult,
  type CredentialSource,
} from '../../src/domain/credentials.js';

import { generateKey } from '../../src/domain/keys.js';

// Minted per run: no literal key is ever committed.
const KEY = generateKey('kg_');
const OTHER = generateKey('kg_');
const ON = { allowQueryKeys: true };
const OFF = { allowQueryKeys: false };
const FORM = 'application/x-www-form-urlencoded';
const JSON_TYPE = 'application/json';

const extract = (input: Partial<CredentialInput>, options = ON): CredentialResult =>
  extractCredential({ headers: {}, ...input }, options);

function expectKey(result: CredentialResult, key: string, sources: CredentialSource[]) {
  assert.deepEqual(result, { kind: 'key', key, sources });
}

describe('extractCredential: each way of presenting a key', () => {
  const cases: { name: string; input: Partial<CredentialInput>; source: CredentialSource }[] = [
    { name: 'X-API-Key header', input: { headers: { 'x-api-key': KEY } }, source: 'header:x-api-key' },
    { name: 'X-ApiKey header', input: { headers: { 'x-apikey': KEY } }, source: 'header:x-apikey' },
    {
      name: 'Authorization: apiToken',
      input: { headers: { authorization: `apiToken ${KEY}` } },
      source: 'header:authorization',
    },
    {
      name: 'Authorization: APITOKEN',
      input: { headers: { authorization: `APITOKEN ${KEY}` } },
      source: 'header:authorization',
    },
    {
      name: 'Authorization: Bearer',
      input: { headers: { authorization: `Bearer ${KEY}` } },
      source: 'header:authorization',
    },
    {
      name: 'Authorization: bearer (lower case)',
      input: { headers: { authorization: `bearer ${KEY}` } },
      source: 'header:authorization',
    },
    {
      name: 'Authorization: BeArEr, extra blanks',
      input: { headers: { authorization: `BeArEr \t ${KEY}  ` } },
      source: 'header:authorization',
    },
    { name: 'query key', input: { query: { key: KEY } }, source: 'query:key' },
    { name: 'query apiToken', input: { query: { apiToken: KEY } }, source: 'query:apiToken' },
    { name: 'query key given twice, same value', input: { query: { key: [KEY, KEY] } }, source: 'query:key' },
    { name: 'form field key', input: { body: { key: KEY }, contentType: FORM }, source: 'form:key' },
    {
      name: 'form field key, charset parameter',
      input: { body: { key: KEY }, contentType: `${FORM}; charset=UTF-8` },
      source: 'form:key',
    },
    {
      name: 'form field key, upper-case media type',
      input: { body: { key: KEY }, contentType: 'Application/X-WWW-Form-URLEncoded' },
      source: 'form:key',
    },
    { name: 'JSON root API_Key', input: { body: { API_Key: KEY }, contentType: JSON_TYPE }, source: 'json:API_Key' },
    {
      name: 'JSON root API_Key, charset parameter',
      input: { body: { API_Key: KEY, other: 1 }, contentType: 'application/json; charset=utf-8' },
      source: 'json:API_Key',
    },
    {
      name: 'X-API-Key header with surrounding blanks',
      input: { headers: { 'x-api-key': `  ${KEY}\t` } },
      source: 'header:x-api-key',
    },
  ];
  for (const c of cases) {
    it(c.name, () => expectKey(extract(c.input), KEY, [c.source]));
  }

  it('nothing presented → none', () => {
    assert.deepEqual(extract({}), { kind: 'none' });
    assert.deepEqual(extract({ headers: { 'x-api-key': '' } }), { kind: 'none' });
    assert.deepEqual(extract({ headers: { 'x-api-key': '   ' } }), { kind: 'none' });
    assert.deepEqual(extract({ query: { key: '' } }, OFF), { kind: 'none' });
    assert.deepEqual(extract({ headers: { authorization: 'Bearer' } }), { kind: 'none' });
    assert.deepEqual(extract({ headers: { authorization: 'Bearer ' } }), { kind: 'none' });
    assert.deepEqual(extract({ headers: { authorization: `Token ${KEY}` } }), { kind: 'none' });
    assert.deepEqual(extract({ headers: { authorization: `Bearer ${KEY} extra` } }), { kind: 'none' });
  });
});

describe('extractCredential: several places', () => {
  it('the same key two ways is fine and both sources are listed', () => {
    expectKey(extract({ headers: { 'x-api-key': KEY }, query: { key: KEY } }), KEY, ['header:x-api-key', 'query:key']);
    expectKey(
      extract({
        headers: { 'x-apikey': KEY, authorization: `Bearer ${KEY}` },
        body: { API_Key: KEY },
        contentType: JSON_TYPE,
      }),
      KEY,
      ['header:x-apikey', 'header:authorization', 'json:API_Key'],
    );
    expectKey(extract({ headers: { 'x-api-key': ` ${KEY}` }, body: { key: KEY }, contentType: FORM }), KEY, [
      'header:x-api-key',
      'form:key',
    ]);
  });

  it('two different keys → AMBIGUOUS_CREDENTIALS', () => {
    const ambiguous = { kind: 'error', code: 'AMBIGUOUS_CREDENTIALS' };
    assert.deepEqual(extract({ headers: { 'x-api-key': KEY, 'x-apikey': OTHER } }), ambiguous);
    assert.deepEqual(extract({ headers: { 'x-api-key': KEY, authorization: `Bearer ${OTHER}` } }), ambiguous);
    assert.deepEqual(extract({ headers: { 'x-api-key': KEY }, query: { apiToken: OTHER } }), ambiguous);
    assert.deepEqual(extract({ query: { key: KEY, apiToken: OTHER } }), ambiguous);
    assert.deepEqual(extract({ query: { key: [KEY, OTHER] } }), ambiguous);
    assert.deepEqual(extract({ headers: { 'x-api-key': KEY }, body: { key: OTHER }, contentType: FORM }), ambiguous);
    assert.deepEqual(
      extract({ headers: { 'x-api-key': KEY }, body: { API_Key: OTHER }, contentType: JSON_TYPE }),
      ambiguous,
    );
  });

  it('with raw header lines, a repeated credential header is judged line by line', () => {
    const raw = (...lines: string[]) => ({ headers: {}, rawHeaders: lines });
    // What Node makes of these: the first Authorization only; X-API-Key lines joined by ", ".
    expectKey(extract(raw('Host', 'x', 'Authorization', `Bearer ${KEY}`, 'authorization', `apiToken ${KEY}`)), KEY, [
      'header:authorization',
    ]);
    assert.deepEqual(extract(raw('Authorization', `Bearer ${KEY}`, 'AUTHORIZATION', `Bearer ${OTHER}`)), {
      kind: 'error',
      code: 'AMBIGUOUS_CREDENTIALS',
    });
    expectKey(extract(raw('X-API-Key', KEY, 'x-api-key', KEY)), KEY, ['header:x-api-key']);
    assert.deepEqual(extract(raw('X-API-Key', KEY, 'X-Api-Key', OTHER)), {
      kind: 'error',
      code: 'AMBIGUOUS_CREDENTIALS',
    });
    expectKey(extract(raw('X-ApiKey', KEY, 'Authorization', 'Basic abc')), KEY, ['header:x-apikey']);
    assert.deepEqual(extract(raw('X-API-Key', '', 'X-Api-Keys', OTHER)), { kind: 'none' });
    // The raw lines are the truth when given: the parsed headers are not read for credentials.
    assert.deepEqual(extract({ headers: { 'x-api-key': `${KEY}, ${OTHER}` }, rawHeaders: [] }), { kind: 'none' });
  });

  it('a query key with query keys switched off → QUERY_KEY_DISABLED, even beside a header key', () => {
    const disabled = { kind: 'error', code: 'QUERY_KEY_DISABLED' };
    assert.deepEqual(extract({ query: { key: KEY } }, OFF), disabled);
    assert.deepEqual(extract({ query: { apiToken: KEY } }, OFF), disabled);
    assert.deepEqual(extract({ headers: { 'x-api-key': KEY }, query: { key: KEY } }, OFF), disabled);
    // Other query parameters are not keys.
    expectKey(extract({ headers: { 'x-api-key': KEY }, query: { q: KEY, page: '2' } }, OFF), KEY, ['header:x-api-key']);
  });
});

describe('extractCredential: places that do not count', () => {
  it('Basic (and other) Authorization schemes are ignored', () => {
    const basic = `Basic ${Buffer.from(`user:${KEY}`).toString('base64')}`;
    assert.deepEqual(extract({ headers: { authorization: basic } }), { kind: 'none' });
    // …and do not make a request with a key elsewhere ambiguous.
    expectKey(extract({ headers: { authorization: basic, 'x-api-key': KEY } }), KEY, ['header:x-api-key']);
    expectKey(extract({ headers: { authorization: 'Negotiate abcdef', 'x-apikey': KEY } }), KEY, ['header:x-apikey']);
  });

  it('the form field is ignored unless the body is form-encoded', () => {
    for (const contentType of [
      JSON_TYPE,
      'multipart/form-data; boundary=x',
      'text/plain',
      undefined,
      '',
      'application/x-www-form-urlencodedX',
    ]) {
      assert.deepEqual(extract({ body: { key: KEY }, contentType }), { kind: 'none' }, String(contentType));
    }
  });

  it('the JSON property is ignored unless the body is JSON', () => {
    for (const contentType of [FORM, 'application/jsonp', 'text/json', 'text/plain', undefined, '']) {
      assert.deepEqual(extract({ body: { API_Key: KEY }, contentType }), { kind: 'none' }, String(contentType));
    }
  });

  it('only the root API_Key counts, with exact spelling', () => {
    for (const body of [
      { data: { API_Key: KEY } },
      { api_key: KEY },
      { API_KEY: KEY },
      { apiKey: KEY },
      { key: KEY },
      [{ API_Key: KEY }],
      [KEY],
      KEY,
      42,
      null,
    ]) {
      assert.deepEqual(extract({ body, contentType: JSON_TYPE }), { kind: 'none' }, JSON.stringify(body));
    }
  });

  it('array form bodies and non-string values are ignored', () => {
    assert.deepEqual(extract({ body: [KEY], contentType: FORM }), { kind: 'none' });
    assert.deepEqual(extract({ body: { key: 42 }, contentType: FORM }), { kind: 'none' });
    assert.deepEqual(extract({ body: { API_Key: { nested: KEY } }, contentType: JSON_TYPE }), { kind: 'none' });
    assert.deepEqual(extract({ body: { API_Key: true }, contentType: JSON_TYPE }), { kind: 'none' });
    assert.deepEqual(extract({ query: { key: { a: KEY } } }, OFF), { kind: 'none' });
    assert.deepEqual(extract({ query: [KEY] }, OFF), { kind: 'none' });
    assert.deepEqual(extract({ query: KEY }, OFF), { kind: 'none' });
  });

  it('inherited or prototype-ish properties do not leak in', () => {
    const inherited = Object.create({ key: KEY, apiToken: KEY, API_Key: KEY }) as object;
    assert.deepEqual(extract({ query: inherited, body: inherited, contentType: JSON_TYPE }, OFF), { kind: 'none' });
    assert.deepEqual(extract({ body: inherited, contentType: FORM }), { kind: 'none' });
    const polluted = JSON.parse(`{"__proto__": {"API_Key": "${KEY}", "key": "${KEY}"}}`) as unknown;
    assert.deepEqual(extract({ body: polluted, contentType: JSON_TYPE }), { kind: 'none' });
    assert.deepEqual(extract({ body: polluted, contentType: FORM }), { kind: 'none' });
    assert.deepEqual(extract({ query: polluted }, OFF), { kind: 'none' });
    // Object.prototype members are not keys.
    const plain = JSON.parse('{"toString": "x"}') as unknown;
    assert.deepEqual(extract({ body: plain, contentType: JSON_TYPE, query: {} }), { kind: 'none' });
    // Null-prototype objects (as querystring parsers produce) work.
    const nullProto = Object.assign(Object.create(null) as Record<string, unknown>, { key: KEY });
    expectKey(extract({ query: nullProto }), KEY, ['query:key']);
    const nullBody = Object.assign(Object.create(null) as Record<string, unknown>, { API_Key: KEY });
    expectKey(extract({ body: nullBody, contentType: JSON_TYPE }), KEY, ['json:API_Key']);
    // Nothing was polluted along the way.
    assert.equal(({} as Record<string, unknown>).API_Key, undefined);
  });

  it('tolerates missing or odd headers', () => {
    assert.deepEqual(extractCredential({ headers: undefined as unknown as CredentialInput['headers'] }, ON), {
      kind: 'none',
    });
    assert.deepEqual(extractCredential({ headers: null as unknown as CredentialInput['headers'] }, ON), {
      kind: 'none',
    });
    expectKey(extract({ headers: { 'x-api-key': [KEY, KEY] } }), KEY, ['header:x-api-key']);
    assert.deepEqual(extract({ headers: { 'x-api-key': [KEY, OTHER] } }), {
      kind: 'error',
      code: 'AMBIGUOUS_CREDENTIALS',
    });
  });
});

describe('extractCredential: properties', () => {
  const contentTypes = fc.oneof(
    fc.constantFrom(
      JSON_TYPE,
      FORM,
      `${FORM}; charset=utf-8`,
      'application/json;charset=UTF-8',
      'text/plain',
      '',
      ';',
      ' ; ;',
    ),
    fc.string(),
    fc.constant(undefined),
  );
  const headerValue = fc.oneof(
    fc.string(),
    fc.array(fc.string(), { maxLength: 3 }),
    fc.constant(undefined),
    fc.anything(),
  );
  const headersArb = fc.oneof(
    fc.record(
      {
        'x-api-key': headerValue,
        'x-apikey': headerValue,
        authorization: fc.oneof(
          headerValue,
          fc.string().map((s) => `Bearer ${s}`),
          fc.string().map((s) => `apiToken ${s}`),
        ),
      },
      { requiredKeys: [] },
    ),
    fc.dictionary(fc.string(), fc.anything()),
    fc.anything(),
  );
  const bagArb = fc.oneof(
    fc.record({ key: fc.anything(), apiToken: fc.anything(), API_Key: fc.anything() }, { requiredKeys: [] }),
    fc.record({ key: fc.string(), apiToken: fc.array(fc.string()), API_Key: fc.string() }, { requiredKeys: [] }),
    fc.anything({
      withNullPrototype: true,
      withMap: true,
      withSet: true,
      withTypedArray: true,
      withSparseArray: true,
      withBoxedValues: true,
    }),
  );

  it('never throws and always returns one of the three kinds, well formed', () => {
    fc.assert(
      fc.property(
        headersArb,
        bagArb,
        bagArb,
        contentTypes,
        fc.boolean(),
        (headers, query, body, contentType, allowQueryKeys) => {
          const r = extractCredential(
            { headers: headers as CredentialInput['headers'], query, body, contentType },
            { allowQueryKeys },
          );
          switch (r.kind) {
            case 'none':
              assert.deepEqual(Object.keys(r), ['kind']);
              break;
            case 'key':
              assert.equal(typeof r.key, 'string');
              assert.ok(r.key.length > 0);
              assert.equal(r.key, r.key.trim());
              assert.ok(r.sources.length > 0);
              assert.equal(new Set(r.sources).size, r.sources.length);
              if (!allowQueryKeys) assert.ok(!r.sources.some((s) => s.startsWith('query:')));
              break;
            case 'error':
              assert.ok(r.code === 'AMBIGUOUS_CREDENTIALS' || r.code === 'QUERY_KEY_DISABLED');
              break;
            default:
              assert.fail(`unexpected kind ${JSON.stringify(r)}`);
          }
        },
      ),
      { numRuns: 1000 },
    );
  });

  const keyArb = fc.string({ unit: fc.constantFrom(...'abcXYZ019_-.~+/='), minLength: 1, maxLength: 50 });
  const allWays: { source: CredentialSource; put: (input: CredentialInput, key: string) => void }[] = [
    {
      source: 'header:x-api-key',
      put: (i, k) => {
        i.headers['x-api-key'] = k;
      },
    },
    {
      source: 'header:x-apikey',
      put: (i, k) => {
        i.headers['x-apikey'] = k;
      },
    },
    {
      source: 'header:authorization',
      put: (i, k) => {
        i.headers.authorization = `Bearer ${k}`;
      },
    },
    {
      source: 'query:key',
      put: (i, k) => {
        (i.query as Record<string, string>).key = k;
      },
    },
    {
      source: 'query:apiToken',
      put: (i, k) => {
        (i.query as Record<string, string>).apiToken = k;
      },
    },
    {
      source: 'form:key',
      put: (i, k) => {
        i.body = { key: k };
        i.contentType = FORM;
      },
    },
    {
      source: 'json:API_Key',
      put: (i, k) => {
        i.body = { API_Key: k };
        i.contentType = JSON_TYPE;
      },
    },
  ];
  const waysArb = fc
    .subarray(allWays, { minLength: 1 })
    .filter((ws) => !(ws.some((w) => w.source === 'form:key') && ws.some((w) => w.source === 'json:API_Key')));

  it('one key presented any set of ways is found, with exactly those sources', () => {
    fc.assert(
      fc.property(keyArb, waysArb, (key, ways) => {
        const input: CredentialInput = { headers: {}, query: {} };
        for (const w of ways) w.put(input, key);
        const r = extractCredential(input, ON);
        assert.deepEqual(r, {
          kind: 'key',
          key,
          sources: allWays.filter((w) => ways.includes(w)).map((w) => w.source),
        });
      }),
      { numRuns: 300 },
    );
  });

  it('two different keys in any two places are ambiguous', () => {
    fc.assert(
      fc.property(
        keyArb,
        keyArb,
        waysArb.filter((ws) => ws.length >= 2),
        (a, b, ways) => {
          fc.pre(a !== b);
          const input: CredentialInput = { headers: {}, query: {} };
          for (const [i, w] of ways.entries()) w.put(input, i === 0 ? a : b);
          assert.deepEqual(extractCredential(input, ON), { kind: 'error', code: 'AMBIGUOUS_CREDENTIALS' });
        },
      ),
      { numRuns: 300 },
    );
  });
});
