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
import { DevicesApi } from './devices-api.ts';
import { PrekeydError } from './errors.ts';
import { type FetchFunction, Transport } from './http.ts';
import { KeysApi } from './keys-api.ts';
import { PublicKeysApi } from './public-keys-api.ts';
import { type EventHandler, openSubscription, type SubscribeOptions, type Subscription, type AnyWebSocketClass } from './push.ts';
import { type AutoReplenishOptions, createReplenisher } from './replenisher.ts';
import { type AnchorMessage, anchorMessage, type AnchorOptions, verifyAnchor } from './anchors.ts';
import { type TransparencyOptions, TransparencyVerifier } from './transparency.ts';
import type { Anchor } from './transparency-types.ts';

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
  /**
   * Key transparency: proofs in answers are always checked; set `required`, pinned `logKeys` and
   * a witness quorum here, and a `store` to keep the last verified checkpoint across runs.
   */
  transparency?: TransparencyOptions;
}

export interface ClientSubscribeOptions extends SubscribeOptions {
  /** Upload fresh one-time pre-keys whenever the server reports a device running low. */
  autoReplenish?: AutoReplenishOptions;
}

export class PrekeydClient {
  readonly keys: KeysApi;
  readonly devices: DevicesApi;
  readonly publicKeys: PublicKeysApi;
  readonly transparency: TransparencyVerifier;
  private readonly transport: Transport;
  private readonly options: PrekeydClientOptions;

  constructor(options: PrekeydClientOptions) {
    this.transport = new Transport(options);
    this.options = options;
    this.transparency = new TransparencyVerifier(this.transport, options.transparency);
    this.keys = new KeysApi(this.transport, this.transparency);
    this.devices = new DevicesApi(this.transport);
    this.publicKeys = new PublicKeysApi(this.transport);
  }

  /** `GET /healthz`: true while the server answers. */
  health(): Promise<boolean> {
    return this.transport.ok('/healthz');
  }

  /** Logs the message's SHA-256 (only the hash is sent) and returns the verified anchor receipt. */
  anchor(message: AnchorMessage, options: AnchorOptions = {}): Promise<Anchor> {
    return anchorMessage(this.transport, this.transparency, message, options);
  }

  /** Checks that `message` is the one anchored, given the receipt or just its hash; throws TRANSPARENCY_* otherwise. */
  verifyAnchor(message: AnchorMessage, anchor: Anchor | string): Promise<Anchor> {
    return verifyAnchor(this.transport, this.transparency, message, anchor);
  }

  /**
   * Opens the push channel for these users: `handler` gets each event once, in order, across
   * reconnects. With `autoReplenish`, low pre-key alerts are answered by an upload first.
   */
  subscribe(userIds: string[], handler: EventHandler, options: ClientSubscribeOptions = {}): Subscription {
    const { autoReplenish, ...subscribeOptions } = options;
    const replenish = autoReplenish ? createReplenisher(this.keys, autoReplenish) : undefined;
    const report = (error: unknown) =>
      options.onError?.(
        error instanceof PrekeydError ? error : new PrekeydError('EVENT_HANDLER_FAILED', `autoReplenish failed: ${String(error)}`, { cause: error }),
      );
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
