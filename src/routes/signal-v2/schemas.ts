/**
 * Request and response shapes of `/v2/keys`, as libsignal clients send and expect them (seed
 * 000 plus today's Kyber fields). Keys are checked for base64, length and type byte (400) and
 * normalised to padded base64; unknown fields are ignored, as Signal-Server does.
 */
import { z } from '@hono/zod-openapi';
import { encodeBase64 } from '../../../packages/client/src/core/encoding.ts';
import { type Decoded, decodeFixedBytes, decodeSignalKey, decodeSignature } from '../../crypto/signal-encoding.ts';
import { maxSignalDeviceId, parseDeviceId, signalIdentifierPattern } from '../../domain/signal-account.ts';
import { signalKeys } from '../examples.ts';
import { withExample } from '../schemas.ts';

/** A base64 field decoded by `decode`; the value handed on is the bytes re-encoded as padded standard base64. */
const base64Field = (decode: (text: string) => Decoded, example: string, description: string) =>
  z
    .string()
    .transform((text, context) => {
      const decoded = decode(text);
      if (decoded.ok) return encodeBase64(decoded.bytes);
      context.addIssue({ code: 'custom', message: decoded.reason });
      return z.NEVER;
    })
    .openapi({ example, description });

const ecKey = base64Field((text) => decodeSignalKey(text, 'ec'), signalKeys.identityKey, 'Curve25519 key: 33 bytes, type byte 0x05, base64');
const kyberKey = base64Field(
  (text) => decodeSignalKey(text, 'kyber'),
  `CA${'A'.repeat(2090)}`,
  'Kyber1024 (type byte 0x08) or ML-KEM-1024 (0x0A) key: 1569 bytes, base64',
);
const signature = base64Field(
  decodeSignature,
  signalKeys.signedPreKey.signature,
  'XEdDSA signature by the identity key over the serialized key: 64 bytes, base64',
);

const keyId = z
  .number()
  .int()
  .min(0)
  .max(2 ** 31 - 1)
  .openapi({ example: 1 });
/** Java clients may send `null` for an absent field. */
const absent = <T extends z.ZodType>(schema: T) => schema.nullish().transform((value) => value ?? undefined);

const ecPreKey = z.object({ keyId, publicKey: ecKey }).openapi('SignalPreKey');
const ecSignedPreKey = z.object({ keyId, publicKey: ecKey, signature }).openapi('SignalSignedPreKey');
const kyberSignedPreKey = z.object({ keyId, publicKey: kyberKey, signature }).openapi('SignalKyberPreKey');
const upTo100 = <T extends z.ZodType>(item: T) => z.array(item).max(100, 'at most 100 keys per list');

export const setKeysBody = z
  .object({
    identityKey: absent(ecKey),
    signedPreKey: absent(ecSignedPreKey),
    preKeys: absent(upTo100(ecPreKey)),
    lastResortKey: absent(ecPreKey),
    pqPreKeys: absent(upTo100(kyberSignedPreKey)),
    pqLastResortPreKey: absent(kyberSignedPreKey),
    registrationId: absent(
      z
        .number()
        .int()
        .min(0)
        .max(2 ** 31 - 1),
    ),
  })
  .openapi('SignalSetKeysRequest', {
    // Seed 000's body and key ids, with real libsignal keys.
    example: {
      identityKey: signalKeys.identityKey,
      signedPreKey: signalKeys.signedPreKey,
      preKeys: [...signalKeys.preKeys],
      lastResortKey: signalKeys.lastResortKey,
    },
  });

export const checkKeysBody = z
  .object({
    identityType: absent(z.enum(['aci', 'pni', 'ACI', 'PNI'])).openapi({
      description: 'Accepted for compatibility; prekeyd keeps one identity per identifier',
    }),
    digest: base64Field((text) => decodeFixedBytes(text, 32), signalKeys.digest, 'SHA-256 digest of the repeated-use keys, base64'),
  })
  .openapi('SignalCheckKeysRequest', { example: { identityType: 'aci', digest: signalKeys.digest } });

export const signalIdentifier = z
  .string()
  .regex(signalIdentifierPattern, 'must be 1-128 characters of A-Z a-z 0-9 . _ : @ + -')
  .openapi({ example: signalKeys.identifier });

const deviceIdText = (message: string) =>
  z
    .string()
    .regex(/^[0-9]{1,3}$/, message)
    .transform((text, context) => {
      const deviceId = parseDeviceId(text);
      if (deviceId !== undefined) return deviceId;
      context.addIssue({ code: 'custom', message });
      return z.NEVER;
    });

export const bundleParams = z.object({
  identifier: signalIdentifier.openapi({ param: { name: 'identifier', in: 'path' } }),
  deviceId: z
    .literal('*')
    .or(deviceIdText(`must be a device id (1-${maxSignalDeviceId}) or *`))
    .openapi({ param: { name: 'deviceId', in: 'path' }, example: '1', description: `A device id (1-${maxSignalDeviceId}) or * for every device` }),
});

/** With Bearer auth the calling device is named here; Basic auth names it itself. */
export const accountQuery = z.object({
  identifier: signalIdentifier.optional().openapi({
    param: { name: 'identifier', in: 'query' },
    description: 'Bearer auth only: the account acted as (Basic auth carries it as identifier.deviceId)',
  }),
  deviceId: deviceIdText(`must be a device id (1-${maxSignalDeviceId})`)
    .optional()
    .openapi({
      param: { name: 'deviceId', in: 'query' },
      example: '1',
      description: 'Bearer auth only: the device (default 1)',
    }),
});

const wirePreKey = z.object({ keyId: z.number().int(), publicKey: z.string() });
const wireSignedPreKey = wirePreKey.extend({ signature: z.string() });

export const preKeyCountResult = z
  .object({ count: z.number().int(), pqCount: z.number().int() })
  .openapi('SignalPreKeyCount', { example: { count: 100, pqCount: 0 } });

export const bundleResult = z
  .object({
    identityKey: z.string(),
    devices: z.array(
      z.object({
        deviceId: z.number().int(),
        registrationId: z.number().int(),
        signedPreKey: wireSignedPreKey,
        preKey: wirePreKey.optional().openapi({ description: 'Absent when no one-time (or last-resort) EC pre-key is left' }),
        pqPreKey: wireSignedPreKey.optional().openapi({ description: 'A Kyber one-time pre-key, else the Kyber last-resort key' }),
      }),
    ),
  })
  .openapi('SignalPreKeyResponse', {
    // Seed 000's answer for the keys uploaded by the PUT example.
    example: {
      identityKey: signalKeys.identityKey,
      devices: [{ deviceId: 1, registrationId: 123, signedPreKey: signalKeys.signedPreKey, preKey: signalKeys.preKeys[0] }],
    },
  });

export const checkKeysMessage = 'The stored repeated-use keys match the digest';

export const checkResult = withExample(z.object({ success: z.literal(true), message: z.string() }), {
  success: true,
  message: checkKeysMessage,
});
