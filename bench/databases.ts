/** A fresh database for each benchmark server: a new file, or an emptied PostgreSQL schema. */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export async function freshDatabase(db: string): Promise<string> {
  if (!db.startsWith('postgres')) {
    mkdirSync(dirname(db), { recursive: true });
    return db;
  }
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: db });
  await client.connect();
  try {
    await client.query('DROP SCHEMA IF EXISTS public CASCADE');
    await client.query('CREATE SCHEMA public');
  } finally {
    await client.end();
  }
  return db;
}
