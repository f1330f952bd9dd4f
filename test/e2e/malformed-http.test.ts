/** Requests node:http cannot parse still get the error envelope, and the server keeps serving. */
import { connect } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type ServerProcess, startServerProcess } from '../helpers/server-process.ts';

let server: ServerProcess;
beforeAll(async () => {
  server = await startServerProcess();
});
afterAll(() => server?.stop());

function raw(request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(server.port, '127.0.0.1', () => socket.write(request));
    let answer = '';
    socket.on('data', (chunk) => (answer += chunk.toString()));
    socket.on('close', () => resolve(answer));
    socket.on('error', reject);
  });
}

it.each([
  ['a control character in a header', 'GET /healthz HTTP/1.1\r\nHost: x\r\nBad\u0001Header: y\r\n\r\n', 400],
  ['headers over 16 KiB', `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Padding: ${'a'.repeat(20_000)}\r\n\r\n`, 431],
  ['two Content-Length headers', 'POST /v1/keys/register HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}', 400],
  ['garbage instead of a request line', '\u0000\u0001\u0002 nonsense\r\n\r\n', 400],
])('answers %s with %i in the envelope', async (_name, request, status) => {
  const answer = await raw(request);
  expect(answer.startsWith(`HTTP/1.1 ${status} `)).toBe(true);
  const body = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4));
  expect(body).toMatchObject({ success: false, errorCode: 'VALIDATION_ERROR' });
  expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
});
