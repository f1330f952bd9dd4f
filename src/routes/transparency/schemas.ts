/** The `transparency` member of /v1 answers (bundle, verify, shared secret, anchors). */
import { z } from '@hono/zod-openapi';

export const transparencyProofSchema = z
  .object({
    checkpoint: z.string().openapi({ description: 'The signed checkpoint: a C2SP tlog-checkpoint signed-note, with witness cosignatures' }),
    leafIndex: z.number().int().nonnegative(),
    leaf: z.string().openapi({ description: 'The leaf bytes, base64 (prekeyd/leaf/v1 text)' }),
    inclusionProof: z.array(z.string()).openapi({ description: 'RFC 6962 audit path, base64 hashes, deepest first' }),
  })
  .openapi('TransparencyProof');
