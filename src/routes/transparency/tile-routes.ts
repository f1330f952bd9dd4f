/** `tile/<L>/<N>[.p/<W>]` and `tile/entries/<N>[.p/<W>]` of C2SP tlog-tiles. */
import { Hono } from 'hono';
import { decodeBase64 } from '../../../packages/client/src/core/encoding.ts';
import { AppError } from '../../domain/errors.ts';
import type { AppEnv } from '../../http/env.ts';
import { encodeEntryBundle } from '../../transparency/entry-bundle.ts';
import { parseTilePath, tileWidth, tileWidthAt } from '../../transparency/tiles.ts';
import { logOf, requireEntryAccess, type TransparencyRouteDeps } from './index.ts';

const binary = { 'content-type': 'application/octet-stream', 'cache-control': 'public, max-age=31536000, immutable' };

export function tileRoutes(deps: TransparencyRouteDeps) {
  const app = new Hono<AppEnv>();
  app.get('/v1/transparency/:projectId/tile/*', async (c) => {
    const { log, projectId, checkpoint } = await logOf(deps, c);
    const rest = c.req.path.slice(c.req.path.indexOf('/tile/') + '/tile/'.length);
    const tile = parseTilePath(rest);
    if (!tile) throw new AppError('NOT_FOUND', 'Not a tile path (tile/<L>/<N>[.p/<W>] or tile/entries/<N>[.p/<W>])');
    const level = tile.level === 'entries' ? 0 : tile.level;
    // Only tiles of the published tree: a tile with fewer hashes than asked does not exist (yet).
    if (tileWidthAt(checkpoint.size, level, tile.index) < tile.width) throw new AppError('NOT_FOUND', `No tile ${rest} in the tree of size ${checkpoint.size}`);
    if (tile.level === 'entries') {
      await requireEntryAccess(deps, c, projectId);
      const first = tile.index * tileWidth;
      const leaves = await log.proofs.leaves(projectId, first, first + tile.width);
      const entries = leaves.map((leaf) => decodeBase64(leaf.leaf) ?? new Uint8Array(0));
      return c.body(new Uint8Array(encodeEntryBundle(entries)), 200, binary);
    }
    const hashes = await log.proofs.tile(projectId, tile.level, tile.index, tile.width);
    if (!hashes) throw new AppError('NOT_FOUND', `No tile ${rest}`);
    return c.body(new Uint8Array(hashes), 200, binary);
  });
  return app;
}
