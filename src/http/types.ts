import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type {
  FastifyBaseLogger,
  FastifyInstance,
  RawReplyDefaultExpression,
  RawRequestDefaultExpression,
  RawServerDefault,
} from 'fastify';
import type { Keygate } from '../keygate.js';
import type { SignInThrottle } from '../services/sign-in-throttle.js';

/** The Fastify instance routes are registered on, typed from their TypeBox schemas. */
export type FastifyTypebox = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

declare module 'fastify' {
  interface FastifyInstance {
    keygate: Keygate;
    /** Slows password guessing at sign-in; in process now, shared (Redis) across instances later. */
    signInThrottle: SignInThrottle;
  }
}
