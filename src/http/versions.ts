import cookie from '@fastify/cookie';
import type { FastifyTypebox } from './types.js';
import { logRoutes } from './v1/logs.js';
import { resourceRoutes } from './v1/resources.js';
import { meRoutes } from './v1/me.js';
import { modelRoutes } from './v1/model.js';
import { sessionRoutes } from './v1/session.js';
import { tokenRoutes } from './v1/tokens.js';
import { userRoutes } from './v1/users.js';
import { verifyRoutes } from './v1/verify.js';
import { webhookRoutes } from './v1/webhooks.js';
import { eventRoutes } from './v1/events.js';
import { leakRoutes } from './v1/leaks.js';

/**
 * The API versions this server offers. Adding v2.0 is one more entry with its own route set;
 * deprecating v1.0 is setting its dates, which adds Deprecation and Sunset headers to its answers.
 */
export interface ApiVersion {
  version: string;
  status: 'current' | 'deprecated' | 'retired';
  releasedAt: string;
  deprecatedAt: string | null;
  sunsetAt: string | null;
  register: (app: FastifyTypebox) => void;
}

export const API_VERSIONS: ApiVersion[] = [
  {
    version: 'v1.0',
    status: 'current',
    releasedAt: '2026-11-24',
    deprecatedAt: null,
    sunsetAt: null,
    register(app) {
      // Only the session routes set cookies, so only they carry the cookie plugin's hooks.
      void app.register(async (scoped) => {
        await scoped.register(cookie);
        sessionRoutes(scoped as FastifyTypebox);
      });
      meRoutes(app);
      userRoutes(app);
      resourceRoutes(app);
      tokenRoutes(app);
      verifyRoutes(app);
      logRoutes(app);
      webhookRoutes(app);
      modelRoutes(app);
      eventRoutes(app);
      leakRoutes(app);
    },
  },
];

/** Headers a deprecated version adds to every answer (RFC 9745 Deprecation, RFC 8594 Sunset). */
export function deprecationHeaders(v: ApiVersion): Record<string, string> {
  const headers: Record<string, string> = {};
  if (v.deprecatedAt) headers.deprecation = `@${Math.floor(Date.parse(v.deprecatedAt) / 1000)}`;
  if (v.sunsetAt) headers.sunset = new Date(v.sunsetAt).toUTCString();
  if (v.deprecatedAt || v.sunsetAt) headers.link = '</api/changelog>; rel="deprecation"; type="application/json"';
  return headers;
}
