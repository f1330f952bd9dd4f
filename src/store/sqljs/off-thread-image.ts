// A checkpoint image built in a worker thread, so that the export of a large database (seconds
// at millions of rows) never blocks the event loop that serves requests.
import { startImageWorker } from './image-worker-start.ts';
import type { ImageWorkerReply } from './image-worker.ts';
import type { ImageJob } from './snapshot-image.ts';

export function buildImageOffThread(job: ImageJob): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    let worker: ReturnType<typeof startImageWorker>;
    try {
      worker = startImageWorker(job);
    } catch (err) {
      reject(err);
      return;
    }
    worker.once('message', (reply: ImageWorkerReply) => {
      if ('image' in reply) resolve(reply.image);
      else reject(new Error(reply.error));
      void worker.terminate();
    });
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`the checkpoint image worker stopped (exit code ${code})`))); // no-op once settled
  });
}
