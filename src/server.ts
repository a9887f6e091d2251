import type { Config } from './config.js';
import { buildApp } from './http/app.js';
import { REDACTED_LOG_PATHS } from './http/app.js';
import { createKeygate, type Keygate } from './keygate.js';
import { MIN_PASSWORD_LENGTH } from './services/users.js';
import type { FastifyTypebox } from './http/types.js';

export interface RunningServer {
  app: FastifyTypebox;
  keygate: Keygate;
  url: string;
  stop(): Promise<void>;
}

/** Starts keygate: opens and migrates the store, bootstraps the administrator, listens. */
export async function startServer(config: Config): Promise<RunningServer> {
  const logger = { level: config.logLevel, redact: { paths: REDACTED_LOG_PATHS, censor: '[redacted]' } };
  const keygate = await createKeygate(config, {
    notifications: 'background',
    onBackgroundError: (err) => console.error('keygate: background write failed:', (err as Error).message),
  });
  if (config.adminEmail || config.adminPassword) {
    if (!config.adminEmail || !config.adminPassword)
      throw new Error('Set both KEYGATE_ADMIN_EMAIL and KEYGATE_ADMIN_PASSWORD, or neither.');
    if (config.adminPassword.length < MIN_PASSWORD_LENGTH)
      throw new Error(`KEYGATE_ADMIN_PASSWORD needs at least ${MIN_PASSWORD_LENGTH} characters.`);
    await keygate.users.ensureAdmin(config.adminEmail, config.adminPassword);
  }
  // Sessions end on their own when presented late; this clears the ones never presented again.
  await keygate.stores.sessions.deleteExpired(new Date().toISOString());
  const app = await buildApp(keygate, { logger });
  const address = await app.listen({ port: config.port, host: config.host });
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      await app.close();
      await keygate.close();
    })());
  return { app, keygate, url: address, stop };
}
