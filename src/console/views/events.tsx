/**
 * Live events over the push channel. Browsers cannot set headers on a WebSocket, so the key goes
 * in `?access_token=` of the upgrade request only (never in the page's address), with
 * `?projectId=` for the master key.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import type { ViewProps } from '../app.tsx';
import { formatTime } from '../format.ts';

interface PushEvent {
  id: string;
  event: string;
  userId: string;
  data: Record<string, unknown>;
  createdAt: string;
}

const maxShown = 200;

export function EventsView({ api, caps }: ViewProps) {
  const [users, setUsers] = useState('');
  const [since, setSince] = useState('');
  const [state, setState] = useState<'closed' | 'connecting' | 'open'>('closed');
  const [note, setNote] = useState<string>();
  const [events, setEvents] = useState<PushEvent[]>([]);
  const socket = useRef<WebSocket>();
  useEffect(() => () => socket.current?.close(1000), []);

  const connect = (event: Event) => {
    event.preventDefault();
    const userIds = users.split(/[\s,]+/).filter(Boolean);
    const denied = userIds.filter((userId) => !caps.mayActAs(userId));
    if (userIds.length === 0) return setNote('Name at least one user to watch.');
    if (denied.length > 0) return setNote(`This key may not subscribe to ${denied.join(', ')}.`);
    socket.current?.close(1000);
    const url = new URL('/v1/events', location.href);
    url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
    url.searchParams.set('access_token', api.token);
    if (caps.who.kind === 'master') url.searchParams.set('projectId', api.projectId);
    setState('connecting');
    setNote(undefined);
    const ws = new WebSocket(url);
    socket.current = ws;
    ws.onopen = () => {
      setState('open');
      ws.send(JSON.stringify({ type: 'subscribe', userIds, ...(since.trim() && { since: since.trim() }) }));
    };
    ws.onmessage = (message) => {
      const frame = JSON.parse(String(message.data)) as { type: string; error?: string; errorCode?: string; userIds?: string[]; cursor?: string } & PushEvent;
      if (frame.type === 'event') setEvents((shown) => [frame, ...shown].slice(0, maxShown));
      else if (frame.type === 'subscribed') setNote(`Watching ${frame.userIds?.join(', ')} from event ${frame.cursor}.`);
      else if (frame.type === 'error') setNote(`${frame.error} (${frame.errorCode})`);
    };
    ws.onclose = (closed) => {
      if (socket.current !== ws) return;
      setState('closed');
      if (closed.code !== 1000) setNote(`Connection closed (${closed.code}${closed.reason ? `: ${closed.reason}` : ''}).`);
    };
  };
  const disconnect = () => {
    socket.current?.close(1000);
    setState('closed');
    setNote('Disconnected.');
  };

  return (
    <section aria-labelledby="events-title">
      <h1 id="events-title">Live events</h1>
      <form class="filters" onSubmit={connect}>
        <label>
          Users to watch (comma or space separated)
          <input type="text" required value={users} onInput={(event) => setUsers(event.currentTarget.value)} />
        </label>
        <label>
          Replay since event id (optional)
          <input type="text" inputMode="numeric" pattern="[0-9]{1,20}" value={since} onInput={(event) => setSince(event.currentTarget.value)} />
        </label>
        <button type="submit" class="primary">
          {state === 'closed' ? 'Connect' : 'Reconnect'}
        </button>
        <button type="button" onClick={disconnect} disabled={state === 'closed'}>
          Disconnect
        </button>
      </form>
      <p role="status" aria-live="polite" data-socket={state}>
        {state === 'open' ? 'Connected. ' : state === 'connecting' ? 'Connecting… ' : ''}
        {note}
      </p>
      <table aria-label="Events, newest first">
        <thead>
          <tr>
            <th scope="col">Id</th>
            <th scope="col">Time</th>
            <th scope="col">Event</th>
            <th scope="col">User</th>
            <th scope="col">Data</th>
          </tr>
        </thead>
        <tbody>
          {events.map((event) => (
            <tr key={event.id} data-event={event.event}>
              <td>{event.id}</td>
              <td>{formatTime(event.createdAt)}</td>
              <td>{event.event}</td>
              <td>{event.userId}</td>
              <td>
                <code class="details">{JSON.stringify(event.data)}</code>
              </td>
            </tr>
          ))}
          {events.length === 0 && (
            <tr>
              <td colSpan={5}>No events yet.</td>
            </tr>
          )}
        </tbody>
      </table>
    </section>
  );
}
