/**
 * The explorer's static files (explorer/dist, built by `npm run build:explorer`), served by
 * the API server at /explorer/. Not an API route: the paths are files, not part of the route
 * table or the OpenAPI document. Only a file that exists under the dist folder is answered —
 * the requested path is resolved and must stay inside it, so `..`, encoded or not, reaches
 * nothing — and only the kinds of file the build writes. A node without a built explorer
 * answers EXPLORER_NOT_BUILT (404) and works as before.
 */
import { readFile, realpath, stat } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { extname, join, sep } from 'node:path';
import { CivitasError } from '../errors/index.ts';
import { PACKAGE_ROOT } from './build-info.ts';

/** Where the explorer is served. */
export const EXPLORER_PATH = '/explorer';

export const EXPLORER_DIST = join(PACKAGE_ROOT, 'explorer', 'dist');

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
};

/** Whether the API server should hand `pathname` to the explorer. */
export function isExplorerPath(pathname: string): boolean {
  return pathname === EXPLORER_PATH || pathname.startsWith(`${EXPLORER_PATH}/`);
}

export class ExplorerFiles {
  private readonly root: string;

  constructor(root: string = EXPLORER_DIST) {
    this.root = root;
  }

  /** Answers GET (or HEAD) `pathname`, a path isExplorerPath accepted. */
  async serve(method: string, pathname: string, res: ServerResponse): Promise<void> {
    if (method !== 'GET' && method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      throw new CivitasError('RPC_METHOD_NOT_ALLOWED', `no route ${method} ${pathname}`);
    }
    // Relative URLs in the page resolve against /explorer/, not /.
    if (pathname === EXPLORER_PATH) {
      res.writeHead(301, { location: `${EXPLORER_PATH}/`, 'content-length': 0 }).end();
      return;
    }
    const root = await this.builtRoot();
    let relative: string;
    try {
      relative = decodeURIComponent(pathname.slice(EXPLORER_PATH.length + 1));
    } catch {
      throw notFound(pathname);
    }
    if (relative === '') relative = 'index.html';
    const type = CONTENT_TYPES[extname(relative)];
    if (type === undefined || relative.includes('\0')) throw notFound(pathname);
    let file: string;
    try {
      // realpath: a symlink inside dist pointing out of it is outside too.
      file = await realpath(join(root, relative));
      if (!file.startsWith(root + sep) || !(await stat(file)).isFile()) throw notFound(pathname);
    } catch {
      throw notFound(pathname);
    }
    const body = await readFile(file);
    res.writeHead(200, {
      'content-type': type,
      'content-length': body.length,
      // The page is small and names its files without hashes: revalidate each load.
      'cache-control': 'no-cache',
      'x-content-type-options': 'nosniff',
    });
    res.end(method === 'HEAD' ? undefined : body);
  }

  /** The dist folder, real path; EXPLORER_NOT_BUILT when it has no index.html. */
  private async builtRoot(): Promise<string> {
    try {
      const root = await realpath(this.root);
      if ((await stat(join(root, 'index.html'))).isFile()) return root;
    } catch {
      // not built: below
    }
    throw new CivitasError(
      'EXPLORER_NOT_BUILT',
      'the explorer is not built in this installation: run `npm run build:explorer` (npm install does it in a checkout)',
    );
  }
}

function notFound(pathname: string): CivitasError {
  return new CivitasError('RPC_NOT_FOUND', `no explorer file ${pathname.slice(0, 200)}`);
}
