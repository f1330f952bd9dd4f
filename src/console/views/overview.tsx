/** Overview: the instance's version, uptime, storage, traffic chart, push connections and figures. */
import { useEffect } from 'preact/hooks';
import type { ViewProps } from '../app.tsx';
import { ErrorNotice, useLoader } from '../components.tsx';
import { formatBytes, formatDuration } from '../format.ts';

interface Minute {
  minute: string;
  requests: number;
  clientErrors: number;
  serverErrors: number;
}

interface Status {
  version: string;
  startedAt: string;
  uptimeSeconds: number;
  storage: { backend: string; bytes: number | null; ready: boolean };
  pushConnections: number | null;
  traffic: Minute[];
  keySets: Record<string, number>;
  oneTimePreKeysStored: number;
  limits: { preKeyLowThreshold: number; maxStoredPreKeysPerKeySet: number; drainLimitPerMinute: number };
  rateLimitUse: { limited: boolean; keys: { limit: number; used: number }; bundle: { limit: number; used: number } };
}

export function OverviewView({ api, caps }: ViewProps) {
  const allowed = caps.can('metrics.read');
  const status = useLoader(() => (allowed ? api.get<Status>('/v1/admin/status').then((answer) => answer.data) : Promise.resolve(undefined)), [api, allowed]);
  useEffect(() => {
    if (!allowed) return;
    const timer = setInterval(status.reload, 10_000);
    return () => clearInterval(timer);
  }, [allowed, status.reload]);
  const who = caps.who;
  return (
    <section aria-labelledby="overview-title" aria-busy={status.loading}>
      <h1 id="overview-title">Overview</h1>
      <dl class="cards">
        <div>
          <dt>Signed in with</dt>
          <dd>{who.kind === 'master' ? 'the master key' : `${who.uid}${who.prefix ? ` (${who.prefix}…)` : ''}`}</dd>
        </div>
        <div>
          <dt>Project</dt>
          <dd>{who.projectId}</dd>
        </div>
        <div class="wide">
          <dt>Actions</dt>
          <dd>{who.acl.join(', ')}</dd>
        </div>
        <div>
          <dt>Users</dt>
          <dd>{who.userIds.join(', ')}</dd>
        </div>
      </dl>
      {!allowed && <p class="hint">The server's status needs the action metrics.read, which this key does not hold.</p>}
      {status.error !== undefined && <ErrorNotice error={status.error} />}
      {status.value && <StatusFigures status={status.value} />}
    </section>
  );
}

function StatusFigures({ status }: { status: Status }) {
  const keySets = Object.entries(status.keySets);
  const use = status.rateLimitUse;
  return (
    <>
      <dl class="cards" aria-label="Server">
        <div>
          <dt>Version</dt>
          <dd data-figure="version">{status.version}</dd>
        </div>
        <div>
          <dt>Uptime</dt>
          <dd data-figure="uptime">{formatDuration(status.uptimeSeconds)}</dd>
        </div>
        <div>
          <dt>Storage</dt>
          <dd data-figure="storage">
            {status.storage.backend === 'sqljs' ? 'embedded SQLite' : 'PostgreSQL'}, {formatBytes(status.storage.bytes)}
            {!status.storage.ready && ' (not ready)'}
          </dd>
        </div>
        <div>
          <dt>Push connections</dt>
          <dd data-figure="push">{status.pushConnections ?? 'n/a'}</dd>
        </div>
        <div>
          <dt>One-time pre-keys stored</dt>
          <dd>{status.oneTimePreKeysStored}</dd>
        </div>
        <div class="wide">
          <dt>Key sets (all projects)</dt>
          <dd data-figure="key-sets">{keySets.map(([name, count]) => `${count} ${name}`).join(' · ')}</dd>
        </div>
        <div class="wide">
          <dt>This key's rate limits this minute</dt>
          <dd data-figure="quota">
            {use.limited ? (
              <>
                <Quota label="key API" {...use.keys} /> <Quota label="bundles" {...use.bundle} />
              </>
            ) : (
              'not limited (master key)'
            )}
          </dd>
        </div>
      </dl>
      <TrafficChart minutes={status.traffic} />
    </>
  );
}

function Quota(props: { label: string; limit: number; used: number }) {
  if (props.limit === 0) return <span>{props.label}: unlimited</span>;
  return (
    <span class="quota">
      {props.label}: <meter min={0} max={props.limit} high={props.limit * 0.8} value={props.used} aria-label={`${props.label} requests used`} /> {props.used} of{' '}
      {props.limit}
    </span>
  );
}

/** Requests (bars) and errors (the red part of each bar) per minute, the last 30 minutes. */
export function TrafficChart({ minutes }: { minutes: Minute[] }) {
  if (minutes.length === 0) return <p class="hint">No traffic figures (metrics are off on this instance).</p>;
  const peak = Math.max(1, ...minutes.map((minute) => minute.requests));
  const width = 300;
  const height = 80;
  const step = width / minutes.length;
  const requests = minutes.reduce((sum, minute) => sum + minute.requests, 0);
  const errors = minutes.reduce((sum, minute) => sum + minute.clientErrors + minute.serverErrors, 0);
  const latest = minutes.at(-1)!;
  return (
    <figure class="chart">
      <svg
        viewBox={`0 0 ${width} ${height}`}
        role="img"
        aria-label={`Requests per minute, last ${minutes.length} minutes: ${requests} requests, ${errors} errors; this minute ${latest.requests} requests`}
      >
        {minutes.map((minute, index) => {
          const total = (minute.requests / peak) * (height - 4);
          const failed = ((minute.clientErrors + minute.serverErrors) / peak) * (height - 4);
          return (
            <g key={minute.minute}>
              <title>{`${new Date(minute.minute).toLocaleTimeString()}: ${minute.requests} requests, ${minute.clientErrors} 4xx, ${minute.serverErrors} 5xx`}</title>
              <rect class="bar" x={index * step + 1} y={height - total} width={step - 2} height={total} />
              <rect class="bar-error" x={index * step + 1} y={height - failed} width={step - 2} height={failed} />
            </g>
          );
        })}
      </svg>
      <figcaption>
        Requests per minute, last {minutes.length} minutes (peak {peak}); errors in red. {requests} requests, {errors} errors.
      </figcaption>
    </figure>
  );
}
