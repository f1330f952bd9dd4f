/**
 * The composition root of the HTTP app, the one app factory: middleware (src/http), route groups
 * (src/routes), error mapping, built from explicit dependencies. The server entry and every test
 * build the app the same way. Nothing under http/ or routes/ imports this file.
 */
import { cors } from 'hono/cors';
import { requestId } from 'hono/request-id';
import { secureHeaders } from 'hono/secure-headers';
import { AppError } from './domain/errors.ts';
import { silentLogger } from './log.ts';
import { RefusalLog } from './domain/refusals.ts';
import { adminRoutes } from './routes/admin/index.ts';
import { anchorRoutes } from './routes/anchors/index.ts';
import { docsRoutes } from './routes/docs/index.ts';
import { apiKeyRoutes } from './routes/api-keys/index.ts';
import { consoleRoutes } from './routes/console/index.ts';
import { eventRoutes } from './routes/events/index.ts';
import { healthRoutes } from './routes/health.ts';
import { homeRoutes } from './routes/home/index.ts';
import { operatorRoutes } from './routes/operator/index.ts';
import { publicKeyRoutes } from './routes/public-keys/index.ts';
import { signalCredentials } from './routes/signal-v2/credentials.ts';
import { signalRoutes } from './routes/signal-v2/index.ts';
import { auditRoutes } from './routes/v1-keys/audit-routes.ts';
import { backupRoutes } from './routes/v1-keys/backup-routes.ts';
import { deviceRoutes } from './routes/v1-keys/device-routes.ts';
import { lifecycleRoutes } from './routes/v1-keys/lifecycle-routes.ts';
import { readRoutes } from './routes/v1-keys/read-routes.ts';
import { sessionRoutes } from './routes/v1-keys/session-routes.ts';
import { documentTransparencyRoutes } from './routes/transparency/docs.ts';
import { transparencyRoutes } from './routes/transparency/index.ts';
import { authenticate } from './http/auth.ts';
import { clientIpResolver } from './http/client-ip.ts';
import { errorResponse, toAppError } from './http/errors.ts';
import { observe } from './http/observe.ts';
import { recordRefusal } from './http/refusal-audit.ts';
import { createRouter } from './http/openapi.ts';
import { rateLimiters } from './http/rate-limit.ts';
import { provideRouteGuards } from './http/route-guards.ts';
import { BodyBudget, closeAfterUnreadBody, readRequestBody } from './http/request-body.ts';
import type { AppDeps } from './routes/deps.ts';

export type { AppDeps, HttpSettings } from './routes/deps.ts';

export const defaultBodyBudgetBytes = 64 * 1024 * 1024;

export function createApp(deps: AppDeps) {
  const logger = deps.logger ?? silentLogger;
  const app = createRouter();
  const clientIp = clientIpResolver(deps.http.trustProxy, deps.socketAddress ?? (() => null));

  const refusals = deps.refusals ?? new RefusalLog(deps);
  app.onError(async (error, c) => {
    const appError = toAppError(error, logger);
    await recordRefusal(c, appError, refusals);
    return errorResponse(c, appError);
  });
  app.notFound((c) => errorResponse(c, new AppError('NOT_FOUND', `No route for ${c.req.method} ${c.req.path}`)));

  app.use('*', closeAfterUnreadBody(deps.http.bodyLimit));
  // Each route runs its declared rate limit, then reads its body (route-guards.ts): only an
  // authenticated request within its rate limits makes the server hold a body.
  const onReject = () => deps.metrics?.rateLimitRejections.inc();
  const limits = { keys: deps.http.rateLimitKeys, bundle: deps.http.rateLimitBundle };
  app.use(
    '*',
    provideRouteGuards({
      rateLimits: rateLimiters(deps.store.counters, deps.clock, limits, onReject),
      readBody: readRequestBody(deps.http.bodyLimit, new BodyBudget(deps.http.bodyBudgetBytes ?? defaultBodyBudgetBytes)),
    }),
  );
  app.use('*', requestId());
  app.use('*', observe(logger, deps.metrics));
  app.use('*', secureHeaders({ crossOriginResourcePolicy: deps.http.corsOrigins ? 'cross-origin' : 'same-origin' }));
  if (deps.http.corsOrigins) {
    const origins = deps.http.corsOrigins.split(',').map((origin) => origin.trim());
    app.use(
      '*',
      cors({
        origin: origins.includes('*') ? '*' : origins,
        allowHeaders: ['Authorization', 'Content-Type', 'X-Project-Id', 'X-Request-Id'],
        exposeHeaders: ['RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset', 'Retry-After', 'X-Request-Id', 'Link'],
        maxAge: 600,
      }),
    );
  }

  app.route('/', healthRoutes(deps.store));
  app.route('/', docsRoutes());
  app.route('/', consoleRoutes());
  app.route('/', homeRoutes(deps.version ?? '0.0.0'));

  app.use('/metrics', authenticate(deps.authenticator, clientIp));
  // Transparency logs are read by witnesses and monitors without a key (their routes check entry access).
  app.route('/', transparencyRoutes({ transparency: deps.transparency, authenticator: deps.authenticator }));
  const authenticateV1 = authenticate(deps.authenticator, clientIp);
  app.use('/v1/*', (c, next) => (c.req.path.startsWith('/v1/transparency/') ? next() : authenticateV1(c, next)));
  app.use('/v2/*', authenticate(deps.authenticator, clientIp, signalCredentials));

  app.route('/', lifecycleRoutes(deps));
  app.route('/', readRoutes(deps));
  app.route('/', deviceRoutes(deps));
  app.route('/', backupRoutes(deps));
  app.route('/', sessionRoutes(deps));
  app.route('/', auditRoutes(deps));
  app.route('/', apiKeyRoutes(deps));
  app.route('/', publicKeyRoutes(deps));
  app.route('/', signalRoutes(deps));
  app.route('/', eventRoutes());
  app.route('/', adminRoutes(deps));
  app.route('/', operatorRoutes(deps));
  app.route('/', anchorRoutes(deps));

  documentTransparencyRoutes(app.openAPIRegistry);
  app.openAPIRegistry.registerComponent('securitySchemes', 'bearerAuth', {
    type: 'http',
    scheme: 'bearer',
    description: 'The master key or an API key',
  });
  app.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: {
      title: 'prekeyd',
      version: deps.version ?? '0.0.0',
      description: 'Key distribution for end-to-end encryption: X3DH pre-key bundles, rotation, backups, revocation, audit.',
    },
  });
  return app;
}

export type App = ReturnType<typeof createApp>;
