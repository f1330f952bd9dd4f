/**
 * `PrekeydClient`: the typed client of a prekeyd server, for Node 20+, Deno and browsers.
 *
 * @example
 * ```ts
 * import { PrekeydClient, encrypt } from '@prekeyd/client';
 * const client = new PrekeydClient({ baseURL: 'https://keys.example.com', apiKey: process.env.PREKEYD_KEY! });
 * const alice = client.keys.generateKeySet(20);
 * await client.keys.registerKeys('alice', alice.registrationPayload, { deviceName: 'Alice laptop' });
 * const session = await client.keys.establishSharedSecret('alice', 'bob', alice.privateKeys);
 * const message = encrypt('Hello Bob!', session.sharedSecret, session.associatedData);
 * ```
 */
import { PrekeydError } from './errors.ts';
import { type FetchFunction, Transport } from './http.ts';
import { KeysApi } from './keys-api.ts';
import { PublicKeysApi } from './public-keys-api.ts';
import { type EventHandler, openSubscription, type SubscribeOptions, type Subscription, type AnyWebSocketClass } from './push.ts';
import { type AutoReplenishOptions, createReplenisher } from './replenisher.ts';

export interface PrekeydClientOptions {
  /** The server's base URL, e.g. `https://keys.example.com` (no `/v1`). */
  baseURL: string;
  /** An API key, or the master key. */
  apiKey: string;
  /** The project the master key acts on (`X-Project-Id`); API keys belong to one project and ignore it. */
  projectId?: string;
  /** Defaults to the global fetch. */
  fetch?: FetchFunction;
  /** Defaults to the global WebSocket; Node 20 has none: pass `WebSocket` from the `ws` package. */
  WebSocket?: AnyWebSocketClass;
  /**
   * How the push channel authenticates: `query` (default) sends `?access_token=` (browsers
   * cannot set WebSocket headers); `header` sends `Authorization` (the `ws` package, Deno),
   * which keeps the key out of URLs and access logs.
   */
  webSocketAuth?: 'query' | 'header';
  headers?: Record<string, string>;
}

export interface ClientSubscribeOptions extends SubscribeOptions {
  /** Upload fresh one-time pre-keys whenever the server reports a device running low. */
  autoReplenish?: AutoReplenishOptions;
}

export class PrekeydClient {
  readonly keys: KeysApi;
  readonly publicKeys: PublicKeysApi;
  private readonly transport: Transport;
  private readonly options: PrekeydClientOptions;

  constructor(options: PrekeydClientOptions) {
    this.transport = new Transport(options);
    this.options = options;
    this.keys = new KeysApi(this.transport);
    this.publicKeys = new PublicKeysApi(this.transport);
  }

  /** `GET /healthz`: true while the server answers. */
  health(): Promise<boolean> {
    return this.transport.ok('/healthz');
  }

  /**
   * Opens the push channel for these users: `handler` gets each event once, in order, across
   * reconnects. With `autoReplenish`, low pre-key alerts are answered by an upload first.
   */
  subscribe(userIds: string[], handler: EventHandler, options: ClientSubscribeOptions = {}): Subscription {
    const { autoReplenish, ...subscribeOptions } = options;
    const replenish = autoReplenish ? createReplenisher(this.keys, autoReplenish) : undefined;
    const report = (error: unknown) =>
      options.onError?.(error instanceof PrekeydError ? error : new PrekeydError('EVENT_HANDLER_FAILED', `autoReplenish failed: ${String(error)}`, { cause: error }));
    const handle: EventHandler = async (event) => {
      if (replenish) await replenish(event).catch(report);
      await handler(event);
    };
    return openSubscription(
      {
        baseURL: this.transport.baseURL,
        apiKey: this.transport.apiKey,
        projectId: this.transport.projectId,
        WebSocket: this.options.WebSocket,
        auth: this.options.webSocketAuth ?? 'query',
      },
      userIds,
      handle,
      subscribeOptions,
    );
  }
}
