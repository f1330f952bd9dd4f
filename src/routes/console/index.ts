/**
 * GET /console: the operator console, a single page whose script and style prekeyd serves
 * itself (see assets.ts), under a strict Content-Security-Policy: nothing inline, nothing from
 * another origin, no framing. The page holds no data; it calls the API with the key the
 * operator signs in with, so everything it shows is what that key may see.
 */
import { type Context, Hono, type MiddlewareHandler } from 'hono';
import { gunzipSync } from 'node:zlib';
import { AppError } from '../../domain/errors.ts';
import { errorResponse } from '../../http/errors.ts';
import type { AppEnv } from '../../http/env.ts';
import { type ConsoleAsset, consoleAssetNames, consoleAssets } from './assets.ts';

/**
 * The console's Content-Security-Policy. CSP Level 3 browsers match ws: and wss: of the page's
 * own host with `'self'`; the page's policy also names them, from a Host header that must look
 * like one (`host[:port]`), for browsers that do not.
 */
export function consoleContentSecurityPolicy(host?: string): string {
  const sameHostSockets = host && /^[A-Za-z0-9.-]{1,253}(:\d{1,5})?$|^\[[0-9A-Fa-f:.]{2,45}\](:\d{1,5})?$/.test(host) ? ` ws://${host} wss://${host}` : '';
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    `connect-src 'self'${sameHostSockets}`,
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

const contentTypes = { 'app.js': 'text/javascript; charset=utf-8', 'app.css': 'text/css; charset=utf-8' } as const;

const page = (assets: Record<'app.js' | 'app.css', ConsoleAsset>) => `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <meta name="referrer" content="no-referrer">
  <title>prekeyd console</title>
  <link rel="icon" href="data:,">
  <link rel="stylesheet" href="/console/app.css?v=${assets['app.css'].etag}">
  <script type="module" src="/console/app.js?v=${assets['app.js'].etag}"></script>
</head>
<body>
  <noscript>The prekeyd console needs JavaScript.</noscript>
  <div id="app"></div>
</body>
</html>`;

const acceptsGzip = (header: string | undefined) => header !== undefined && /\bgzip\b/i.test(header);

async function loadAssets() {
  try {
    return await consoleAssets();
  } catch (error) {
    throw new AppError(
      'UNAVAILABLE',
      `The console's front end could not be built (${error instanceof Error ? error.message : String(error)}); run npm run build`,
    );
  }
}

export function consoleRoutes() {
  const app = new Hono<AppEnv>();
  const withPolicy: MiddlewareHandler<AppEnv> = async (c, next) => {
    await next();
    c.header('Content-Security-Policy', consoleContentSecurityPolicy(c.req.header('host')));
  };
  app.use('/console', withPolicy);
  app.use('/console/*', withPolicy);
  const servePage = async (c: Context<AppEnv>) => c.html(page(await loadAssets()), 200, { 'cache-control': 'no-store' });
  app.get('/console', servePage);
  app.get('/console/', servePage);
  for (const name of consoleAssetNames) {
    app.get(`/console/${name}`, async (c) => {
      const asset = (await loadAssets())[name];
      const headers: Record<string, string> = {
        'content-type': contentTypes[name],
        etag: `"${asset.etag}"`,
        // The page names each file by its content hash, so a copy never goes stale.
        'cache-control': c.req.query('v') === asset.etag ? 'public, max-age=31536000, immutable' : 'no-cache',
        vary: 'Accept-Encoding',
      };
      if (c.req.header('if-none-match') === `"${asset.etag}"`) return c.body(null, 304, headers);
      if (acceptsGzip(c.req.header('accept-encoding'))) {
        return c.body(asset.gzip as Uint8Array<ArrayBuffer>, 200, { ...headers, 'content-encoding': 'gzip' });
      }
      return c.body(gunzipSync(asset.gzip).toString('utf8'), 200, headers);
    });
  }
  app.all('/console/*', (c) => errorResponse(c, new AppError('NOT_FOUND', `No console file at ${c.req.path}`)));
  return app;
}
