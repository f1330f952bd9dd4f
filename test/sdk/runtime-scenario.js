// The SDK's scenario for other runtimes (Deno, a browser): plain JavaScript, the bundled
// client only, globals only (fetch, WebSocket, crypto). Returns what happened, as JSON.
/** Fails with a message instead of hanging when something never arrives. */
async function within(promise, what, ms = 10_000) {
  let timer;
  const timeout = new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms)));
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export async function runScenario(sdk, { baseURL, apiKey, suffix }) {
  const client = new sdk.PrekeydClient({ baseURL, apiKey });
  const alice = `rt_alice_${suffix}`;
  const bob = `rt_bob_${suffix}`;
  const keysA = client.keys.generateKeySet(5);
  const keysB = client.keys.generateKeySet(5);
  await client.keys.registerKeys(alice, keysA.registrationPayload, { deviceName: 'runtime A' });
  await client.keys.registerKeys(bob, keysB.registrationPayload, { deviceName: 'runtime B' });

  // Bob listens on the push channel (the runtime's own WebSocket, token in the query).
  let onInitiated;
  const initiated = new Promise((resolve) => (onInitiated = resolve));
  const subscription = client.subscribe([bob], (event) => {
    if (event.event === 'session.initiated') onInitiated(event.data.sessionId);
  });
  await within(subscription.ready, 'the push subscription');

  const session = await client.keys.establishSharedSecret(alice, bob, keysA.privateKeys.identityKey);
  const encrypted = sdk.encrypt(JSON.stringify({ text: 'Hello Bob!' }), session.sharedSecret, session.associatedData);
  const sessionId = await within(initiated, 'the session.initiated event');
  subscription.close();
  const accepted = await client.keys.acceptSharedSecret(sessionId, keysB.privateKeys);
  const text = sdk.decryptText(JSON.parse(JSON.stringify(encrypted)), accepted.sharedSecret, accepted.associatedData);

  let tampered = 'accepted';
  try {
    sdk.decryptText({ ...encrypted, nonce: encrypted.nonce.replace(/^./, (c) => (c === 'A' ? 'B' : 'A')) }, accepted.sharedSecret, accepted.associatedData);
  } catch (error) {
    tampered = error.errorCode;
  }

  await client.keys.backup(alice, keysA.privateKeys, 'runtime password', { argon2Params: { timeCost: 1, memoryCost: 256, parallelism: 1 } });
  const recovered = await client.keys.recover(alice, 'runtime password');
  let wrongPassword = 'accepted';
  try {
    await client.keys.recover(alice, 'not it');
  } catch (error) {
    wrongPassword = error.errorCode;
  }
  const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  return {
    sameSecret: hex(session.sharedSecret) === hex(accepted.sharedSecret),
    secretLength: session.sharedSecret.length,
    text: JSON.parse(text).text,
    tampered,
    recoveredMatches: JSON.stringify(recovered.privateKeys) === JSON.stringify(keysA.privateKeys),
    wrongPassword,
  };
}
