import type { Config } from './config.js';
import { buildApp } from './http/app.js';
import { REDACTED_LOG_PATHS } from './http/app.js';
import { createKeygate, type Keygate } from './keygate.js';
import { MIN_PASSWORD_LENGTH } from './services/users.js';
import type { FastifyTypebox } from './http/types.js';
import { delay, startDraining } from './ops/lifecycle.js';
import { gatewaySecret, prepareGateway, startGateway, type RunningGateway } from './gateway/start.js';

export interface RunningServer {
  app: FastifyTypebox;
  keygate: Keygate;
  url: string;
  /** The reverse proxy, when the configuration names an upstream. */
  gateway: RunningGateway | null;
  stop(): Promise<void>;
}

/**
 * Stops a running server without dropping work: /ready turns 503 (and stays so for `shutdownDelayMs`,
 * while load balancers notice), then both listeners close — new connections are refused, idle
 * keep-alive ones closed, requests under way finish — and after `shutdownTimeoutMs` whatever is
 * still open is cut. Only then does the keygate close: the access log's last batch and the
 * notification work are written, Redis and the database closed.
 */
async function drain(s: {
  app: FastifyTypebox;
  keygate: Keygate;
  gateway: RunningGateway | null;
  shutdownTimeoutMs: number;
  shutdownDelayMs: number;
}): Promise<void> {
  startDraining(s.keygate);
  if (s.shutdownDelayMs > 0) await delay(s.shutdownDelayMs);
  const closing = Promise.allSettled([s.gateway?.stop(), s.app.close()]);
  // A keep-alive connection whose request finishes after close began stays open, idle, until the
  // client leaves: Node closes idle connections once, when close is called. Close them as they idle.
  const idle = setInterval(() => {
    s.app.server.closeIdleConnections();
    s.gateway?.app.server.closeIdleConnections();
  }, 100);
  const timer = setTimeout(() => {
    s.app.log.warn({ timeoutMs: s.shutdownTimeoutMs }, 'shutdown: closing connections still in use');
    s.app.server.closeAllConnections();
    s.gateway?.app.server.closeAllConnections();
    // Requests still waiting on an upstream would hold the gateway's connection pools open.
    for (const u of s.gateway?.upstreams ?? []) void u.pool.destroy().catch(() => {});
  }, s.shutdownTimeoutMs);
  // Settled, not all: a pool destroyed above rejects its close, and the keygate must close anyway.
  const closed = await closing;
  clearTimeout(timer);
  clearInterval(idle);
  for (const r of closed)
    if (r.status === 'rejected')
      s.app.log.warn({ err: (r.reason as Error).message }, 'shutdown: a listener closed badly');
  await s.keygate.close();
}

/**
 * The server's logger settings: the configured level, with keys, cookies and query strings redacted;
 * to standard output, or to `file` (the tests keep each keygate's log beside its database, to be searched
 * for secrets).
 */
export function loggerOptions(config: Config, file?: string) {
  return {
    level: config.logLevel,
    redact: { paths: REDACTED_LOG_PATHS, censor: '[redacted]' },
    ...(file !== undefined ? { file } : {}),
  };
}

/** Starts keygate: opens and migrates the store, bootstraps the administrator, listens. */
export async function startServer(configured: Config): Promise<RunningServer> {
  // The gateway's OpenAPI documents are read first: their tags extend the access model's API groups.
  const withGateway = await prepareGateway(configured);
  const config = withGateway?.config ?? configured;
  const logger = loggerOptions(config);
  const keygate = await createKeygate(config, {
    notifications: 'background',
    onBackgroundError: (err) => console.error('keygate: background task:', (err as Error).message),
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
  let gateway: RunningGateway | null = null;
  const app = await buildApp(keygate, { logger, upstreams: () => gateway?.health() });
  const address = await app.listen({ port: config.port, host: config.host });
  if (withGateway) {
    try {
      gateway = await startGateway(keygate, withGateway.prepared, { logger, secret: gatewaySecret(config) });
    } catch (err) {
      await app.close();
      await keygate.close();
      throw err;
    }
    for (const warning of withGateway.prepared.warnings) app.log.warn({ warning }, 'gateway route table');
  }
  let stopping: Promise<void> | undefined;
  const stop = () => (stopping ??= drain({ app, keygate, gateway, ...config.ops }));
  return { app, keygate, url: address, gateway, stop };
}
