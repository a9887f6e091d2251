/**
 * The gateway's route table, as the operator writes it in the configuration or as it is derived
 * from an upstream's OpenAPI document: which requests pass, under which API group and permission,
 * and where the resource they act on is named. Plain data, no I/O, so it can be printed, tested
 * and compared.
 */

/** Where a route's target resource is named in a request, or the token's own resource. */
export type TargetRef =
  /** A path parameter, query parameter or field at the root of a JSON or form body. */
  | {
      in: 'path' | 'query' | 'body';
      name: string;
      /**
       * The resource type the value names: a keygate id is accepted as is; any other value is
       * looked up as an external id among resources of this type (any type when omitted).
       */
      type?: string | undefined;
    }
  /** No target in the request (list endpoints): the token's own resource. */
  | { in: 'token' };

/** How a route registers the resource its upstream's answer creates (e.g. the 201 of POST /building). */
export interface RegisterSpec {
  /** Resource type of the created resource. */
  type: string;
  /** Field at the root of the JSON answer holding the new resource's external id (the upstream's own id). */
  idField: string;
  /**
   * Field of the JSON answer holding the parent's external id (or keygate id). Omitted: the
   * route's target resource is the parent.
   */
  parentField?: string | undefined;
  /** Field of the JSON answer holding the resource's name; omitted or missing: the external id. */
  nameField?: string | undefined;
}

/** One row of the route table. */
export interface GatewayRoute {
  /** Upper-case HTTP method, or `*` for any. */
  method: string;
  /**
   * Path pattern as the client calls it (including any base path of the upstream's server URL),
   * with `{name}` for a parameter that matches one whole path segment: `/api/v3.0/building/{id}`.
   */
  path: string;
  /** API group the route belongs to; a token limited to other groups is refused. Omitted: any token. */
  apiGroup?: string | undefined;
  /** Permission the token must hold at the target. Omitted: a valid key is enough. */
  permission?: string | undefined;
  target: TargetRef;
  register?: RegisterSpec | undefined;
  /** Passes without any key (a public endpoint of the upstream); credentials are still stripped. */
  public?: boolean | undefined;
  /** Where the row came from, for `keygate gateway routes` (`operationId`, `config`, …). */
  source?: string | undefined;
}

/** A matched route with its path parameters (percent-decoded). */
export interface RouteMatch {
  route: GatewayRoute;
  params: Record<string, string>;
}

/** A derived route table and what the derivation could not decide on its own. */
export interface DerivedRoutes {
  routes: GatewayRoute[];
  /** API groups the document's tags name, with the tag's description (to extend the access model). */
  apiGroups: Record<string, string>;
  /** Operations skipped or guessed, in words, for the operator to check. */
  warnings: string[];
}
