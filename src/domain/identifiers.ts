/**
 * The identifiers requests name (SPEC §3), one rule each for every adapter that parses them:
 * the HTTP routes' zod schemas (routes/schemas.ts) and the push channel's frames (push/protocol.ts).
 */
export interface IdentifierRule {
  pattern: RegExp;
  /** Said in a VALIDATION_ERROR detail when a value does not match. */
  message: string;
}

/** SPEC §3's user id characters plus `+`, so that Signal's E.164 identifiers are reachable from /v1 too. */
export const userIdRule: IdentifierRule = {
  pattern: /^[A-Za-z0-9._:@+-]{1,128}$/,
  message: 'must be 1-128 characters of A-Z a-z 0-9 . _ : @ + -',
};

export const keyIdRule: IdentifierRule = {
  pattern: /^[A-Za-z0-9_-]{1,64}$/,
  message: 'must be 1-64 characters of A-Z a-z 0-9 _ -',
};

export const deviceIdRule: IdentifierRule = {
  pattern: /^[A-Za-z0-9._:@-]{1,64}$/,
  message: 'must be 1-64 characters of A-Z a-z 0-9 . _ : @ -',
};
