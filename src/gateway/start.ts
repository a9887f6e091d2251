import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import { ConfigError, type Config } from '../config.js';
import type { Keygate } from '../keygate.js';
import { buildGatewayApp } from './app.js';
import type { GatewayConfig } from './config.js';
import { deriveRoutes, loadOpenApi } from './openapi.js';
import { RouteTable, routeProblems } from './route-table.js';
import type { GatewayRoute } from './types.js';
import { Upstream, type UpstreamHealth } from './upstreams.js';

/** Each upstream's route table, once read and derived; made before keygate starts, as tags add API groups. */
export interface PreparedGateway {
  gateway: GatewayConfig;
  tables: GatewayRoute[][];
  warnings: string[];
}

/**
 * Reads each upstream's OpenAPI document, derives its table, lays the configured rows over it
 * (a configured row replaces the derived one for the same method and path), and returns the
 * configuration with the access model's API groups extended by the documents' tags.
 */
export async function prepareGateway(config: Config): Promise<{ config: Config; prepared: PreparedGateway } | null> {
  const gateway = config.gateway;
  if (!gateway) return null;
  const apiGroups = { ...config.model.apiGroups };
  const tables: GatewayRoute[][] = [];
  const warnings: string[] = [];
  for (const upstream of gateway.upstreams) {
    let derived: GatewayRoute[] = [];
    if (upstream.openapi) {
      let doc: unknown;
      try {
        doc = await loadOpenApi(upstream.openapi);
      } catch (err) {
        throw new ConfigError(`gateway upstream ${upstream.name}: ${(err as Error).message}`);
      }
      const result = deriveRoutes(doc, config.model);
      derived = result.routes;
      warnings.push(...result.warnings.map((w) => `${upstream.name}: ${w}`));
      for (const [group, description] of Object.entries(result.apiGroups))
        if (!Object.hasOwn(apiGroups, group)) apiGroups[group] = description;
    }
    const configured = new Set(upstream.routes.map((r) => `${r.method} ${r.path}`));
    const routes = [...upstream.routes, ...derived.filter((r) => !configured.has(`${r.method} ${r.path}`))];
    const model = { ...config.model, apiGroups };
    const problems = routeProblems(routes, model);
    if (problems.length > 0) throw new ConfigError(`gateway upstream ${upstream.name}: ${problems.join('; ')}`);
    tables.push(routes);
  }
  return { config: { ...config, model: { ...config.model, apiGroups } }, prepared: { gateway, tables, warnings } };
}

/** The secret that signs identity headers: configured, or made once and kept beside the database. */
export function gatewaySecret(config: Config): string {
  if (config.gateway?.secret) return config.gateway.secret;
  const file = join(config.dataDir, 'gateway-secret');
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    mkdirSync(config.dataDir, { recursive: true });
    const secret = randomBytes(32).toString('base64url');
    writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: 'wx' });
    return secret;
  }
}

export interface RunningGateway {
  app: FastifyInstance;
  url: string;
  upstreams: Upstream[];
  health(): UpstreamHealth[];
  stop(): Promise<void>;
}

/** How often an upstream is asked whether it is up, besides what forwarded requests show. */
const PROBE_INTERVAL_MS = 15_000;

/** Starts the gateway on its own port over a running keygate. */
export async function startGateway(
  kg: Keygate,
  prepared: PreparedGateway,
  options: { logger?: FastifyServerOptions['logger']; secret: string },
): Promise<RunningGateway> {
  const { gateway, tables } = prepared;
  const upstreams = gateway.upstreams.map((u, i) => new Upstream(u, new RouteTable(tables[i]!), gateway));
  const app = await buildGatewayApp(kg, gateway, upstreams, options);
  const url = await app.listen({ port: gateway.port, host: gateway.host });
  const probe = () => Promise.all(upstreams.map((u) => u.probe()));
  void probe();
  const timer = setInterval(() => void probe(), PROBE_INTERVAL_MS);
  timer.unref();
  return {
    app,
    url,
    upstreams,
    health: () => upstreams.map((u) => u.health),
    async stop() {
      clearInterval(timer);
      await app.close();
      await Promise.all(upstreams.map((u) => u.pool.close()));
    },
  };
}
