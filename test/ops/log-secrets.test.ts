import { expect, it } from 'vitest';
import { masterKey } from '../helpers/app.ts';
import { assertNoSecrets, neverLog } from '../helpers/log-secrets.ts';

it('the suite-wide log check catches the master key, full API keys and registered secrets', () => {
  const clean = JSON.stringify({ msg: 'request', route: '/v1/keys/bundle/:userId', actor: 'key_0123456789abcdefghijkl', prefix: 'pkd_AbCdEfGh' });
  expect(() => assertNoSecrets([clean], 'test')).not.toThrow();
  expect(() => assertNoSecrets([`authorization: Bearer ${masterKey}`], 'test')).toThrow(/master key/);
  expect(() => assertNoSecrets([`token pkd_${'a1B2'.repeat(12)}xyz`], 'test')).toThrow(/API key/);
  const privateKey = 'ab'.repeat(32);
  neverLog(privateKey);
  expect(() => assertNoSecrets([`{"key":"${privateKey}"}`], 'test')).toThrow(/registered secret/);
});
