// The examples' scenario in TypeScript, with the keygate SDK (Node 20+: `npx tsx scenario.ts`).
// An administrator makes a folder and a token scoped to it; that token works inside the folder (a building,
// its children, a second token, the folder's tokens, verifying a key) and is refused outside it.
import { createClient, createVerifier, KeygateError } from '@keygate/sdk';

function setting(name: string, meaning: string): string {
  const value = process.env[name];
  if (!value) {
    console.error(`${name} is not set: ${meaning}`);
    process.exit(1);
  }
  return value;
}

const baseUrl = setting('KEYGATE_URL', 'the keygate server, e.g. http://localhost:8080').replace(/\/+$/, '');
const adminKey = setting('KEYGATE_ADMIN_KEY', "an administrator's API key");
const givenAccount = process.env.KEYGATE_ACCOUNT_ID ?? '';

/** The body of an answer: the SDK throws a KeygateError on any refusal, so a missing body is a bug. */
function body<T>(answer: { data?: T }): T {
  if (answer.data === undefined) throw new Error('keygate answered without a body');
  return answer.data;
}

async function main(): Promise<void> {
  const admin = createClient({ baseUrl, key: adminKey });

  let accountId = givenAccount;
  if (accountId) console.log(`account: ${accountId} (given)`);
  else {
    const account = body(
      await admin.POST('/api/v1.0/resources', { body: { type: 'account', name: 'Example account' } }),
    );
    accountId = account.id;
    console.log(`account: ${accountId} "Example account" (created)`);
  }

  const folder = body(
    await admin.POST('/api/v1.0/resources', {
      body: { type: 'folder', name: 'Example folder', parentId: accountId },
    }),
  );
  console.log(`folder: ${folder.id} "Example folder" in ${accountId}`);
  const inFolder = { params: { path: { id: folder.id } } };

  // The administrator level holds keys:verify, which verify() needs. The key is in this answer only.
  const { key: folderKey, ...folderToken } = body(
    await admin.POST('/api/v1.0/resources/{id}/tokens', {
      ...inFolder,
      body: { name: 'Example folder token', level: 'administrator' },
    }),
  );
  console.log(`folder token: ${folderToken.id} ${folderToken.keyPrefix}... administrator on the folder`);

  // From here on, only the folder token acts.
  const client = createClient({ baseUrl, key: folderKey });
  const building = body(
    await client.POST('/api/v1.0/resources', {
      body: { type: 'building', name: 'Example building', parentId: folder.id },
    }),
  );
  console.log(`building: ${building.id} "Example building" in the folder (as the folder token)`);

  const children = body(await client.GET('/api/v1.0/resources/{id}/children', inFolder)).items;
  console.log(`children: ${children.map((r) => `${r.id} ${r.type} "${r.name}"`).join(', ')}`);

  const { key: readerKey, ...reader } = body(
    await client.POST('/api/v1.0/resources/{id}/tokens', {
      ...inFolder,
      body: { name: 'Example reader token', level: 'reader' },
    }),
  );
  console.log(`reader token: ${reader.id} ${reader.keyPrefix}... reader on the folder (as the folder token)`);

  const tokens = body(await client.GET('/api/v1.0/resources/{id}/tokens', inFolder)).items;
  console.log(`tokens on the folder: ${tokens.map((t) => `${t.id} ${t.keyPrefix}...`).join(', ')}`);

  // A service checking keys itself verifies with its own token (here the folder token: it holds keys:verify).
  const verifier = createVerifier({ baseUrl, key: folderKey });
  try {
    for (const permission of ['resources:read', 'resources:write']) {
      const answer = await verifier.verify(readerKey, { resourceId: folder.id, permission });
      console.log(`verify: reader key, ${permission} on the folder -> ${answer.code}`);
    }
  } finally {
    verifier.close();
  }

  // Outside the folder: the token cannot even see the account, so keygate answers as if it did not exist.
  try {
    await client.POST('/api/v1.0/resources', {
      body: { type: 'building', name: 'Stray building', parentId: accountId },
    });
    console.error('error: the folder token created a building in the account');
    process.exit(1);
  } catch (err) {
    if (!(err instanceof KeygateError)) throw err;
    console.log(`refused: a building in the account -> ${err.code}: ${err.message}`);
  }
}

try {
  await main();
} catch (err) {
  if (err instanceof KeygateError)
    console.error(`error: keygate refused a step: ${err.status} ${err.code}: ${err.message}`);
  else console.error(`error: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
