import { Type, type Static } from 'typebox';
import { GroupName, PermissionName } from '../schemas.js';

/**
 * The gateway's settings: its own port, the upstreams it protects and how each one's route table
 * is made (an OpenAPI document, explicit routes, or both: explicit rows win). One upstream comes
 * from the environment (`KEYGATE_GATEWAY_UPSTREAM` …), any number from the `gateway` section of
 * the KEYGATE_CONFIG file.
 */

const Name = Type.String({ minLength: 1, maxLength: 256 });
const TypeName = Type.String({ minLength: 1, maxLength: 64 });

const TargetRefSchema = Type.Union([
  Type.Object(
    {
      in: Type.Union([Type.Literal('path'), Type.Literal('query'), Type.Literal('body')]),
      name: Name,
      type: Type.Optional(TypeName),
    },
    { additionalProperties: false },
  ),
  Type.Object({ in: Type.Literal('token') }, { additionalProperties: false }),
]);

export const GatewayRouteSchema = Type.Object(
  {
    method: Type.String({ pattern: '^([A-Z]{1,16}|\\*)$' }),
    path: Type.String({ pattern: '^/', maxLength: 2048 }),
    apiGroup: Type.Optional(GroupName),
    permission: Type.Optional(PermissionName),
    target: TargetRefSchema,
    register: Type.Optional(
      Type.Object(
        { type: TypeName, idField: Name, parentField: Type.Optional(Name), nameField: Type.Optional(Name) },
        { additionalProperties: false },
      ),
    ),
    public: Type.Optional(Type.Boolean()),
    source: Type.Optional(Type.String({ maxLength: 256 })),
  },
  { additionalProperties: false },
);

const UpstreamSchema = Type.Object(
  {
    name: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_.-]{1,64}$' })),
    url: Type.String({ pattern: '^https?://' }),
    /** Requests for this host (the Host header, without port) go to this upstream. */
    host: Type.Optional(Type.String({ minLength: 1, maxLength: 253 })),
    /** Requests whose path starts with this go to this upstream (the longest prefix wins). */
    pathPrefix: Type.Optional(Type.String({ pattern: '^/', maxLength: 1024 })),
    /** The upstream's OpenAPI 3.0/3.1 document, a file or an http(s) URL. */
    openapi: Type.Optional(Type.String({ minLength: 1, maxLength: 2048 })),
    routes: Type.Optional(Type.Array(GatewayRouteSchema, { maxItems: 10_000 })),
  },
  { additionalProperties: false },
);

const Millis = Type.Integer({ minimum: 1, maximum: 3_600_000 });

/** The `gateway` section of a KEYGATE_CONFIG file. */
export const GatewaySection = Type.Object(
  {
    port: Type.Optional(Type.Integer({ minimum: 0, maximum: 65_535 })),
    host: Type.Optional(Type.String({ minLength: 1, maxLength: 253 })),
    /** What a request no route matches gets: refused (the default), or passed with any valid key at the token's own resource. */
    unmatched: Type.Optional(Type.Union([Type.Literal('refuse'), Type.Literal('authenticate')])),
    trustedProxies: Type.Optional(Type.Array(Type.String({ minLength: 2, maxLength: 64 }), { maxItems: 1000 })),
    connectTimeoutMs: Type.Optional(Millis),
    responseTimeoutMs: Type.Optional(Millis),
    bodyLimit: Type.Optional(Type.Integer({ minimum: 1024, maximum: 1_073_741_824 })),
    upstreams: Type.Array(UpstreamSchema, { minItems: 1, maxItems: 100 }),
  },
  { additionalProperties: false },
);
export type GatewaySectionInput = Static<typeof GatewaySection>;

export interface UpstreamConfig {
  name: string;
  url: string;
  host: string | undefined;
  pathPrefix: string | undefined;
  openapi: string | undefined;
  routes: Static<typeof GatewayRouteSchema>[];
}

/** The gateway's settings, once read. */
export interface GatewayConfig {
  port: number;
  host: string;
  upstreams: UpstreamConfig[];
  /** Signs the identity headers; when unset, one is made and kept in the data directory. */
  secret: string | undefined;
  unmatched: 'refuse' | 'authenticate';
  /** Addresses (CIDR) whose X-Forwarded-* the gateway believes. */
  trustedProxies: string[];
  /** Time to open a connection to the upstream: past it, 502 UPSTREAM_UNAVAILABLE. */
  connectTimeoutMs: number;
  /** Time to the upstream's response headers, and the longest pause in its body: past it, 504 UPSTREAM_TIMEOUT. */
  responseTimeoutMs: number;
  /** Largest JSON or form body the gateway reads to find a key or a target field. */
  bodyLimit: number;
}

export const GATEWAY_DEFAULTS = {
  port: 8081,
  unmatched: 'refuse',
  connectTimeoutMs: 5_000,
  responseTimeoutMs: 30_000,
  bodyLimit: 1_048_576,
} as const;
