/**
 * Composition root of `prekeyd serve`: storage, master key, app, HTTP server, background
 * upkeep and graceful shutdown, from one parsed configuration.
 */
import type { Config } from './config.ts';
import { createAuthenticator } from './domain/authentication.ts';
import { defaultDomainSettings, type Deps, systemClock } from './domain/deps.ts';
import { TransparencyLog } from './domain/transparency/log.ts';
import { transparencySettingsFrom } from './domain/transparency/settings.ts';
import { runUpkeep } from './domain/upkeep.ts';
import { RefusalLog } from './domain/refusals.ts';
import { MasterKeyError, setUpMasterKey, storeGeneratedMasterKey } from './domain/master-key.ts';
import { createApp } from './app.ts';
import { storeFigures } from './domain/figures.ts';
import type { Logger } from './log.ts';
import { createMetrics, metricsApp } from './metrics/metrics.ts';
import { defaultPushSettings, PushHub, type PushSettings } from './push/hub.ts';
import { eventsUpgradeHandler } from './routes/events/upgrade.ts';
import { compileTrust } from './http/trust-proxy.ts';
import { type ConnectionLimits, socketAddress, startHttpServer } from './runtime/http-server.ts';
import { openStore } from './store/open-store.ts';
import { version } from './version.ts';

export interface ServerHandle {
  url: string;
  port: number;
  /** Graceful stop: no new connections, in-flight requests finish, storage flushed. */
  stop(): Promise<void>;
}

export function domainSettingsFrom(config: Config) {
  return {
    ...defaultDomainSettings,
    preKeyLowThreshold: config.prekeyLowThreshold,
    signedPreKeyMaxAgeMs: config.signedPrekeyMaxAge,
    drainLimitPerMinute: config.drainLimit,
    maxDevicesPerClaim: config.maxDevicesPerClaim,
    maxBackupBytes: config.maxBackupBytes,
    backupVersionsKept: config.backupVersions,
    maxDevicesPerUser: config.maxDevicesPerUser,
    maxPublicKeysPerOwner: config.maxPublicKeysPerOwner,
    signedPreKeyHistoryKept: config.signedPrekeyHistory,
    maxProjectBytes: config.maxProjectBytes,
    allowServerKeygen: config.allowServerKeygen,
  };
}

export function pushSettingsFrom(config: Config): PushSettings {
  return {
    ...defaultPushSettings,
    heartbeatMs: config.pushHeartbeat,
    maxBufferBytes: config.pushMaxBufferBytes,
    maxFrameBytes: config.pushMaxFrameBytes,
    maxSubscriptions: config.pushMaxSubscriptions,
    maxConnectionsPerKey: config.pushMaxConnectionsPerKey,
  };
}

export function connectionLimitsFrom(config: Config): ConnectionLimits {
  const trust = compileTrust(config.trustProxy);
  return {
    maxConnections: config.maxConnections,
    maxConnectionsPerIp: config.maxConnectionsPerIp,
    isTrustedProxy: (address) => trust(address, 0),
    headersTimeoutMs: config.headersTimeout,
    requestTimeoutMs: config.requestTimeout,
    keepAliveTimeoutMs: config.keepAliveTimeout,
  };
}

export async function startServer(config: Config, logger: Logger, announce: (line: string) => void): Promise<ServerHandle> {
  const metrics = createMetrics();
  const store = await openStore(config.db, {
    checkpointBytes: config.checkpointBytes,
    pgPoolSize: config.pgPoolSize,
    onFlush: (flush) => metrics.journalFlushes.observe(flush.ms / 1000),
    onCheckpoint: ({ lsn, bytes, ms, image, workerError }) => {
      const fields = { lsn, bytes, ms: Math.round(ms), image };
      if (workerError) logger.warn('checkpoint image built in place: the worker thread failed', { ...fields, error: workerError });
      else logger.info('checkpoint written', fields);
    },
  });
  // A start that fails past this point releases the database (and its lock) before it reports.
  const cleanups: Array<() => Promise<void>> = [() => store.close()];
  try {
    return await startOnStore(config, logger, announce, metrics, store, cleanups);
  } catch (error) {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    throw error;
  }
}

async function startOnStore(
  config: Config,
  logger: Logger,
  announce: (line: string) => void,
  metrics: ReturnType<typeof createMetrics>,
  store: Awaited<ReturnType<typeof openStore>>,
  cleanups: Array<() => Promise<void>>,
): Promise<ServerHandle> {
  const masterKey = await setUpMasterKey(store, config.env, config.masterKey);
  const deps: Deps = {
    store,
    clock: systemClock,
    settings: domainSettingsFrom(config),
    observer: { preKeyConsumed: (kind) => metrics.preKeysConsumed.inc({ kind }) },
    ...(config.transparency && { transparency: new TransparencyLog(store, transparencySettingsFrom(config), systemClock, logger) }),
  };
  deps.transparency?.start();
  metrics.setStoreFigures(() => storeFigures(deps));
  const authenticator = createAuthenticator(deps, masterKey.hash);
  const refusals = new RefusalLog(deps, { refused: (errorCode) => metrics.requestsRefused.inc({ errorCode }) }, (message, fields) =>
    logger.warn(message, fields),
  );
  const app = createApp({
    ...deps,
    authenticator,
    refusals,
    logger,
    metrics,
    socketAddress,
    version,
    http: {
      corsOrigins: config.corsOrigin,
      bodyLimit: config.bodyLimit,
      bodyBudgetBytes: config.bodyBudget,
      trustProxy: config.trustProxy,
      rateLimitKeys: config.rateLimitKeys,
      rateLimitBundle: config.rateLimitBundle,
    },
  });
  const hub = new PushHub({
    store,
    logger,
    settings: pushSettingsFrom(config),
    revalidate: (token, projectId) => authenticator.authenticate(token, projectId),
    metrics,
  });
  hub.start();
  cleanups.push(() => hub.close());
  const http = await startHttpServer(app.fetch, config.host, config.port, eventsUpgradeHandler({ authenticator, hub, logger }), connectionLimitsFrom(config));
  cleanups.push(() => http.close(0));
  // A separate port serves /metrics without auth, for scrapers on a private network.
  const metricsHttp = config.metricsPort === undefined ? undefined : await startHttpServer(metricsApp(metrics).fetch, config.host, config.metricsPort);
  if (metricsHttp) cleanups.push(() => metricsHttp.close(0));
  // Stored and shown only now that the server is up: a failed start loses no key anyone saw.
  if (masterKey.generated) {
    if (!(await storeGeneratedMasterKey(store, masterKey.hash))) {
      throw new MasterKeyError('Another instance stored a development master key at the same moment; start this one again.');
    }
    announce(`Generated a development master key (shown only this once, store it now): ${masterKey.generated}`);
  }
  const upkeep = setInterval(() => {
    runUpkeep(deps, config.eventRetention)
      .then(() => authenticator.flushUsage())
      .then(() => refusals.flush())
      .catch((error: unknown) => logger.warn('upkeep failed', { error: String(error) }));
  }, 60_000);
  upkeep.unref?.();
  if (metricsHttp) announce(`metrics on ${metricsHttp.url}/metrics`);
  announce(`prekeyd ${version} listening on ${http.url}`);

  let stopping: Promise<void> | undefined;
  return {
    url: http.url,
    port: http.port,
    stop: () =>
      (stopping ??= (async () => {
        clearInterval(upkeep);
        const transparencyStopped = deps.transparency?.stop();
        // Stop accepting first; the HTTP server's close also waits for the upgraded sockets, which
        // the hub closes with 1001. Events committed meanwhile are stored and replayed with `since`.
        const httpClosed = http.close();
        await hub.close();
        await httpClosed;
        await metricsHttp?.close();
        await authenticator.flushUsage().catch(() => undefined);
        await refusals.flush().catch(() => undefined);
        await transparencyStopped;
        await store.close();
      })()),
  };
}
