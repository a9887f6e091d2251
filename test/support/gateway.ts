import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { buildGatewayApp } from '../../src/gateway/app.js';
import { GATEWAY_DEFAULTS, type GatewayConfig, type UpstreamConfig } from '../../src/gateway/config.js';
import { RouteTable } from '../../src/gateway/route-table.js';
import type { GatewayRoute } from '../../src/gateway/types.js';
import { Upstream } from '../../src/gateway/upstreams.js';
import type { Keygate } from '../../src/keygate.js';
import { noteSecret } from './secret-scan.js';

export const GATEWAY_SECRET = 'test-gateway-secret-0123456789abcdef';
noteSecret(GATEWAY_SECRET);

/** A gateway configuration with test-friendly defaults; `upstreams` are given by the rig. */
export function gatewayConfig(overrides: Partial<GatewayConfig> = {}): GatewayConfig {
  return {
    port: 0,
    host: '127.0.0.1',
    upstreams: [],
    secret: GATEWAY_SECRET,
    unmatched: 'refuse',
    trustedProxies: [],
    connectTimeoutMs: GATEWAY_DEFAULTS.connectTimeoutMs,
    responseTimeoutMs: GATEWAY_DEFAULTS.responseTimeoutMs,
    bodyLimit: GATEWAY_DEFAULTS.bodyLimit,
    ...overrides,
  };
}

/** An upstream's settings for a rig. */
export function upstreamConfig(
  url: string,
  routes: GatewayRoute[],
  extra: Partial<UpstreamConfig> = {},
): UpstreamConfig {
  return { name: 'test', url, host: undefined, pathPrefix: undefined, openapi: undefined, routes, ...extra };
}

/** A real gateway on a loopback port, in front of the given upstreams, over a test keygate. */
export async function startGatewayRig(
  kg: Keygate,
  upstreams: UpstreamConfig[],
  overrides: Partial<GatewayConfig> = {},
): Promise<{ app: FastifyInstance; port: number; upstreams: Upstream[]; close(): Promise<void> }> {
  const config = gatewayConfig({ ...overrides, upstreams });
  const running = upstreams.map((u) => new Upstream(u, new RouteTable(u.routes), config));
  const app = await buildGatewayApp(kg, config, running, { secret: GATEWAY_SECRET });
  await app.listen({ port: 0, host: '127.0.0.1' });
  return {
    app,
    port: (app.server.address() as AddressInfo).port,
    upstreams: running,
    async close() {
      await app.close();
      await Promise.all(running.map((u) => u.pool.destroy()));
    },
  };
}
