/** Store-wide figures for metrics, with `expired` derived the way clients see it. */
import type { Deps } from './deps.ts';
import { expiryCutoff } from './key-set-lookup.ts';

export async function storeFigures(deps: Deps) {
  const figures = await deps.store.transaction((tx) => tx.keySets.figures(expiryCutoff(deps.settings, deps.clock.now())));
  return { keySetsByStatus: figures.byStatus, oneTimePreKeysRemaining: figures.oneTimePreKeys };
}
