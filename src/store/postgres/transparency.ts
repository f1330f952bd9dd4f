/**
 * Key transparency on PostgreSQL: the shared repository (sql/transparency-repositories.ts), with
 * the project's write lock taken before a leaf is appended (as every audited change already
 * does), then the log head's row lock: always in that order, so an append and a checkpointer
 * (which takes only the row lock) never deadlock.
 */
import type { NewLogLeaf } from '../transparency-types.ts';
import { SqlTransparency } from '../sql/transparency-repositories.ts';
import { lockProject, type TxContext } from './tx-context.ts';

export class PgTransparency extends SqlTransparency {
  constructor(private readonly ctx: TxContext) {
    super(ctx.sql);
  }

  override async appendLeaf(leaf: NewLogLeaf): Promise<number> {
    await lockProject(this.ctx, leaf.projectId);
    return super.appendLeaf(leaf);
  }
}
