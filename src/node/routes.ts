/**
 * The HTTP API's routes: one table, which the server dispatches on and the OpenAPI document
 * (src/api/openapi.ts) must describe entry for entry (test/unit/api/openapi.test.ts). Paths
 * are written as OpenAPI writes them: `{name}` for a parameter segment.
 */

export interface Route {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  /**
   * The last parameter takes the rest of the path, '/' included (a state object's id such as
   * `account/<address>`), where OpenAPI's `{id}` would stop at the next '/'.
   */
  readonly rest?: true;
}

export const ROUTES = [
  { method: 'GET', path: '/status' },
  { method: 'GET', path: '/ready' },
  { method: 'GET', path: '/health' },
  { method: 'GET', path: '/openapi.json' },
  { method: 'GET', path: '/validators' },
  { method: 'GET', path: '/validators/changes' },
  { method: 'POST', path: '/txs' },
  { method: 'GET', path: '/txs/{hash}' },
  { method: 'GET', path: '/blocks/{id}' },
  { method: 'GET', path: '/accounts/{address}' },
  { method: 'GET', path: '/state/{module}/{id}', rest: true },
  { method: 'GET', path: '/history/{module}/{id}', rest: true },
  { method: 'GET', path: '/gov/proposals' },
  { method: 'GET', path: '/gov/proposals/{id}' },
  { method: 'GET', path: '/events' },
  { method: 'GET', path: '/metrics' },
  { method: 'GET', path: '/admin/faults' },
  { method: 'POST', path: '/admin/faults' },
] as const satisfies readonly Route[];

type KeyOf<R> = R extends { method: infer M extends string; path: infer P extends string }
  ? `${M} ${P}`
  : never;
/** `METHOD /path` of each route: what the server switches on. */
export type RouteKey = KeyOf<(typeof ROUTES)[number]>;

export function routeKey(route: Route): string {
  return `${route.method} ${route.path}`;
}

/** A request matched to a route: its path parameters, still URL-encoded as they came. */
export interface RouteMatch {
  readonly key: RouteKey;
  readonly params: Readonly<Record<string, string>>;
}

/**
 * The route of `method` on `pathname`. Not found: `allowed` lists the methods the path has
 * (so the answer is 405, not 404), empty when no route has this path.
 */
export function matchRoute(
  method: string,
  pathname: string,
): RouteMatch | { readonly allowed: readonly string[] } {
  const segments = pathname.split('/').filter((s) => s.length > 0);
  const allowed: string[] = [];
  for (const route of ROUTES as readonly Route[]) {
    const params = matchPath(route, segments);
    if (params === undefined) continue;
    if (route.method === method) return { key: routeKey(route) as RouteKey, params };
    allowed.push(route.method);
  }
  return { allowed };
}

function matchPath(route: Route, segments: readonly string[]): Record<string, string> | undefined {
  const template = route.path.split('/').filter((s) => s.length > 0);
  const params: Record<string, string> = {};
  for (let i = 0; i < template.length; i++) {
    const part = template[i]!;
    const segment = segments[i];
    if (segment === undefined) return undefined;
    if (!part.startsWith('{')) {
      if (part !== segment) return undefined;
      continue;
    }
    const name = part.slice(1, -1);
    if (route.rest === true && i === template.length - 1) {
      params[name] = segments.slice(i).join('/');
      return params;
    }
    params[name] = segment;
  }
  return segments.length === template.length ? params : undefined;
}
