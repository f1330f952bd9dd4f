/**
 * GET /: where to go from here, for someone who just opened the server's address: a small page
 * for browsers, JSON for `Accept: application/json`. No auth, and nothing about the deployment
 * beyond the version /openapi.json shows anyway.
 */
import { Hono } from 'hono';
import type { AppEnv } from '../../http/env.ts';

const links = [
  { href: '/docs', title: 'API documentation (Swagger UI)' },
  { href: '/console', title: 'Operator console (sign in with the master key or an API key)' },
  { href: '/openapi.json', title: 'OpenAPI 3.1 document' },
  { href: '/healthz', title: 'Liveness' },
  { href: '/readyz', title: 'Readiness' },
] as const;

const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);

const page = (version: string): string => `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>prekeyd</title>
</head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; padding: 0 1rem; line-height: 1.5">
  <h1>prekeyd ${escapeHtml(version)}</h1>
  <p>A key-distribution server for end-to-end encryption. Every API call carries
  <code>Authorization: Bearer &lt;master key or API key&gt;</code>.</p>
  <ul>
${links.map((link) => `    <li><a href="${link.href}">${link.href}</a>: ${link.title}</li>`).join('\n')}
  </ul>
</body>
</html>`;

/** A client asking for JSON (and not for HTML first) gets JSON. */
function wantsJson(accept: string | undefined): boolean {
  if (!accept) return false;
  const json = accept.indexOf('application/json');
  const html = accept.indexOf('text/html');
  return json !== -1 && (html === -1 || json < html);
}

export function homeRoutes(version: string) {
  const app = new Hono<AppEnv>();
  const html = page(version);
  app.get('/', (c) =>
    wantsJson(c.req.header('accept'))
      ? c.json({ name: 'prekeyd', version, links: Object.fromEntries(links.map((link) => [link.href.slice(1).replace('.json', ''), link.href])) })
      : c.html(html),
  );
  return app;
}
