// Worker thread entry: builds one checkpoint image (snapshot-image.ts) and sends it back,
// transferred rather than copied. Started by off-thread-image.ts, one job per worker.
import { parentPort, workerData } from 'node:worker_threads';
import { loadSqlJs } from './load-sqljs.ts';
import { buildSnapshotImage, type ImageJob } from './snapshot-image.ts';

export type ImageWorkerReply = { image: Uint8Array } | { error: string };

async function main(port: NonNullable<typeof parentPort>): Promise<void> {
  try {
    const image = await buildSnapshotImage(await loadSqlJs(), workerData as ImageJob);
    port.postMessage({ image } satisfies ImageWorkerReply, [image.buffer as ArrayBuffer]);
  } catch (err) {
    port.postMessage({ error: (err as Error).message ?? String(err) } satisfies ImageWorkerReply);
  }
}

if (parentPort) void main(parentPort);
