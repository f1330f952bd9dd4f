/** Setup file of the `postgres` vitest project: no test schema outlives its test file on the server. */
import { afterAll } from 'vitest';
import { dropLeftoverSchemas } from './backend.ts';

// Registered first, so it runs after the test file's own afterAll hooks have closed their stores.
afterAll(() => dropLeftoverSchemas());
