/**
 * @keygate/sdk: a typed client for keygate's management API, a caching key verifier fed by keygate's
 * live change events, and typed errors. Framework middleware lives in the subpaths
 * `@keygate/sdk/fastify`, `@keygate/sdk/express` and `@keygate/sdk/hono`, so this entry imports none.
 */
export { createClient, resilientFetch, unwrap, type ClientOptions, type KeygateClient, type paths } from './client.js';
export * from './errors.js';
export {
  createVerifier,
  type Verifier,
  type VerifierOptions,
  type VerifierStats,
  type VerifyAnswer,
  type VerifyQuestion,
} from './verifier.js';
export type { Change } from '../../src/domain/change.js';
export type { components } from './schema.gen.js';
