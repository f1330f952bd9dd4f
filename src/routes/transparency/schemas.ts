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

export const transparencyProofExample = {
  checkpoint:
    'keys.example.com/prekeyd/default\n3\nE8p4v2a3Sx9Jm6c3y0u3vQ3vKx0m0H9kYf3b2W1o2nE=\n\n— keys.example.com/prekeyd/default 2l0pWrQm0x1m0r4b0W6b6y2n8ZkQm0mQ5q7sM5k4VnS3g2f0y9mN9p9c1Q0k8m2n5b2C8x2K0a9Qe5o5w8a1N6X8r2N0fHkS0gE=\n',
  leafIndex: 2,
  leaf: 'cHJla2V5ZC9sZWFmL3YxCnByb2plY3QgZGVmYXVsdAp0aW1lIDIwMjYtMTItMDNUMTI6MDA6MDAuMDAwWgpldmVudCBhbmNob3IKaGFzaCBiOTRkMjdiOTkzNGQzZTA4YTUyZTUyZDdkYTdkYWJmYWM0ODRlZmUzN2E1MzgwZWU5MDg4ZjdhY2UyZWZjZGU5Cg==',
  inclusionProof: ['bjQLnP+zepicpUTmu3gKLHiQHT+zNzh2hRGjBhevoB0=', '+sVCA+fMaWzw38tCySodnbr3CtnmIfS9jZhmLwDjwSU='],
};
