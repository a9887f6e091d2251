/**
 * The service the SDK benchmark loads: a bare Fastify app answering `GET /hello` with a constant
 * JSON, either open or protected by the SDK's Fastify middleware (a warm verifier in front).
 *
 *   MODE=open|protected PORT=… KEYGATE_URL=… VERIFIER_KEY=… node --import tsx bench/sdk-service.ts
 */
import Fastify from 'fastify';
import { createVerifier } from '../sdk/src/index.js';
import { keygate } from '../sdk/src/fastify.js';

const app = Fastify({ logger: false });
const hello = { hello: 'world' };
if (process.env.MODE === 'protected') {
  const verifier = createVerifier({ baseUrl: process.env.KEYGATE_URL!, key: process.env.VERIFIER_KEY! });
  app.get('/hello', { preHandler: keygate(verifier) }, async () => hello);
  app.addHook('onClose', async () => verifier.close());
} else app.get('/hello', async () => hello);
app.get('/health', async () => ({ ok: true }));
await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' });
const stop = () => void app.close().then(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
