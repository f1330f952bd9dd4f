/** GET /docs: the OpenAPI document rendered by Swagger UI, every script served by prekeyd itself. */
import { Hono } from 'hono';
import type { AppEnv } from '../../http/env.ts';
import { docsAsset, docsAssetNames } from './assets.ts';

const page = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>prekeyd API</title>
  <link rel="stylesheet" href="/docs/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/swagger-ui-bundle.js"></script>
  <script src="/docs/init.js"></script>
</body>
</html>`;

// A separate file rather than an inline script, so the page works under a strict CSP.
const init = `window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#swagger-ui', deepLinking: true });`;

const contentTypes = { js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8' } as const;

export function docsRoutes() {
  const app = new Hono<AppEnv>();
  app.get('/docs', (c) => c.html(page));
  app.get('/docs/init.js', (c) => c.body(init, 200, { 'content-type': contentTypes.js }));
  for (const name of docsAssetNames) {
    app.get(`/docs/${name}`, async (c) => {
      const type = name.endsWith('.css') ? contentTypes.css : contentTypes.js;
      return c.body(await docsAsset(name), 200, { 'content-type': type, 'cache-control': 'public, max-age=86400' });
    });
  }
  return app;
}
