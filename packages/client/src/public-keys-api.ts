/** `client.publicKeys`: the public-key directory `/v1/public-keys` (seed 002). */
import type { Transport } from './http.ts';
import type { GeneratedPublicKey, ImportPublicKeyRequest, ListPublicKeysQuery, Page, Pagination, PublicKeyRecord, PublicKeyType } from './types.ts';

const idPath = (id: string) => `/v1/public-keys/${encodeURIComponent(id)}`;

export class PublicKeysApi {
  constructor(private readonly transport: Transport) {}

  async list(query: ListPublicKeysQuery = {}): Promise<Page<PublicKeyRecord>> {
    const answer = await this.transport.envelope<PublicKeyRecord[]>('GET', '/v1/public-keys', { query: { ...query } });
    return { data: answer.data, pagination: answer.pagination as Pagination };
  }

  get(id: string): Promise<PublicKeyRecord> {
    return this.transport.request('GET', idPath(id));
  }

  /** Publishes a public key made on the client (the private key stays here). */
  import(request: ImportPublicKeyRequest): Promise<PublicKeyRecord> {
    return this.transport.request('POST', '/v1/public-keys', { body: request });
  }

  delete(id: string): Promise<void> {
    return this.transport.request('DELETE', idPath(id));
  }

  /**
   * Server-side key generation (seed 002's register): the server sees the private key and
   * returns it once. Off unless the server runs with `--allow-server-keygen`; prefer `import`.
   */
  async generate(request: { ownerId: string; name: string; keyType: PublicKeyType }): Promise<GeneratedPublicKey> {
    const answer = await this.transport.envelope<PublicKeyRecord>('POST', '/v1/public-keys/generate', { body: request });
    const result = (answer as unknown as { result: { privateKey: string } }).result;
    return { key: answer.data, privateKey: result.privateKey };
  }
}
