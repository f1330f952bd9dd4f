/**
 * JSON proof helpers beside the tiles (a client could compute the same from tiles):
 *   GET proof/inclusion?index=N | ?hash=<hex leaf hash> [&size=S]
 *   GET proof/consistency?from=M [&to=N]
 * Sizes default to the newest checkpoint's and may not exceed it.
 */
import { Hono } from 'hono';
import type { Context } from 'hono';
import { encodeBase64 } from '../../../packages/client/src/core/encoding.ts';
import { AppError, invalid } from '../../domain/errors.ts';
import type { AppEnv } from '../../http/env.ts';
import { logOf, type TransparencyRouteDeps } from './index.ts';

function sizeParam(c: Context, name: string, fallback: number | undefined, newest: number): number {
  const text = c.req.query(name);
  if (text === undefined) {
    if (fallback === undefined) throw invalid(name, 'is required');
    return fallback;
  }
  if (!/^(0|[1-9][0-9]{0,15})$/.test(text)) throw invalid(name, 'must be a non-negative integer');
  const value = Number(text);
  if (value > newest) throw invalid(name, `must not exceed the newest checkpoint's size ${newest}`);
  return value;
}

export function proofRoutes(deps: TransparencyRouteDeps) {
  const app = new Hono<AppEnv>();

  app.get('/v1/transparency/:projectId/proof/inclusion', async (c) => {
    const { log, projectId, checkpoint } = await logOf(deps, c);
    const treeSize = sizeParam(c, 'size', checkpoint.size, checkpoint.size);
    const hash = c.req.query('hash');
    let leafIndex: number;
    if (hash !== undefined) {
      if (!/^[0-9a-fA-F]{64}$/.test(hash)) throw invalid('hash', 'must be a 64 hex digit leaf hash');
      const leaf = await log.proofs.leafByHash(projectId, hash.toLowerCase());
      if (!leaf || leaf.index >= treeSize) throw new AppError('NOT_FOUND', `No leaf with hash ${hash} in the tree of size ${treeSize}`);
      leafIndex = leaf.index;
    } else {
      leafIndex = sizeParam(c, 'index', undefined, Number.MAX_SAFE_INTEGER);
      if (leafIndex >= treeSize) throw invalid('index', `must be below the tree size ${treeSize}`);
    }
    const proof = await log.proofs.inclusion(projectId, leafIndex, treeSize);
    return c.json({ success: true as const, data: { leafIndex, treeSize, inclusionProof: proof.map(encodeBase64), checkpoint: checkpoint.note } });
  });

  app.get('/v1/transparency/:projectId/proof/consistency', async (c) => {
    const { log, projectId, checkpoint } = await logOf(deps, c);
    const to = sizeParam(c, 'to', checkpoint.size, checkpoint.size);
    const from = sizeParam(c, 'from', undefined, to);
    const proof = await log.proofs.consistency(projectId, from, to);
    return c.json({ success: true as const, data: { from, to, consistencyProof: proof.map(encodeBase64), checkpoint: checkpoint.note } });
  });
  return app;
}
