/** WebSocket side of the benchmark: push latency and many idle subscribed connections (SPEC §4 protocol). */
import WebSocket from 'ws';

export function wsUrl(httpUrl: string): string {
  return `${httpUrl.replace(/^http/, 'ws')}/v1/events`;
}

/** Opens a connection subscribed to the users; resolves once the server confirmed the subscription. */
export function subscribe(httpUrl: string, token: string, userIds: string[], onEvent?: (message: any) => void): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(wsUrl(httpUrl), { headers: { authorization: `Bearer ${token}` }, perMessageDeflate: false });
    socket.once('error', reject);
    socket.once('open', () => socket.send(JSON.stringify({ type: 'subscribe', userIds })));
    socket.on('message', (raw) => {
      const message = JSON.parse(raw.toString());
      if (message.type === 'subscribed') resolve(socket);
      else if (message.type === 'event') onEvent?.(message);
      else if (message.type === 'error') reject(new Error(`${message.errorCode}: ${message.error}`));
    });
  });
}

/** Opens `count` subscribed connections, `batch` at a time. */
export async function openMany(httpUrl: string, token: string, count: number, batch = 250): Promise<WebSocket[]> {
  const sockets: WebSocket[] = [];
  for (let start = 0; start < count; start += batch) {
    const size = Math.min(batch, count - start);
    sockets.push(...(await Promise.all(Array.from({ length: size }, (_, i) => subscribe(httpUrl, token, [`ws_user_${start + i}`])))));
  }
  return sockets;
}
