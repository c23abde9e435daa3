/** How `RemotePolicy` picks an endpoint for a request. */
export type EndpointBalancing = 'round-robin' | 'least-loaded';

interface EndpointState {
  url: string;
  inFlight: number;
  requests: number;
  failures: number;
}

/** Prompts remembered for prefix affinity (a branch goes where its shared prefix was sent). */
const rememberedPrompts = 256;

/**
 * The endpoints of a `RemotePolicy`: round-robin or least-loaded choice, plus prefix affinity: a prompt that
 * shares at least `affinityTokens` tokens with a recently sent prompt goes to the same endpoint (whose prefix
 * cache holds it) unless that endpoint is busier than the least-loaded one by more than `affinitySlack`.
 */
export class EndpointPool {
  private readonly endpoints: EndpointState[];
  private next = 0;
  private readonly recent: { tokenIds: Int32Array; endpoint: number }[] = [];

  constructor(
    urls: readonly string[],
    private readonly options: { balancing: EndpointBalancing; affinityTokens: number; affinitySlack: number },
  ) {
    this.endpoints = urls.map((url) => ({ url, inFlight: 0, requests: 0, failures: 0 }));
  }

  get urls(): string[] {
    return this.endpoints.map((endpoint) => endpoint.url);
  }

  /** The longest prefix `tokenIds` shares with a recently sent prompt, and where that one went. */
  sharedPrefix(tokenIds: Int32Array): { length: number; endpoint: number } {
    let best = { length: 0, endpoint: -1 };
    for (let entry = this.recent.length - 1; entry >= 0; entry--) {
      const { tokenIds: other, endpoint } = this.recent[entry] as (typeof this.recent)[number];
      const limit = Math.min(other.length, tokenIds.length);
      if (limit <= best.length) continue;
      let length = 0;
      while (length < limit && other[length] === tokenIds[length]) length++;
      if (length > best.length) best = { length, endpoint };
    }
    return best;
  }

  /** Chooses an endpoint (skipping `avoid`, the one that just failed, when there are others). */
  acquire(tokenIds: Int32Array, avoid?: number): { index: number; url: string; sharedPrefix: number } {
    const shared = this.sharedPrefix(tokenIds);
    const candidates = this.endpoints
      .map((_, index) => index)
      .filter((index) => index !== avoid || this.endpoints.length === 1);
    let chosen: number;
    if (this.options.balancing === 'round-robin') {
      chosen = candidates[this.next++ % candidates.length] as number;
    } else {
      chosen = candidates.reduce((best, index) =>
        (this.endpoints[index] as EndpointState).inFlight < (this.endpoints[best] as EndpointState).inFlight
          ? index
          : best,
      );
    }
    if (
      shared.length >= this.options.affinityTokens &&
      shared.endpoint !== chosen &&
      candidates.includes(shared.endpoint) &&
      (this.endpoints[shared.endpoint] as EndpointState).inFlight <=
        (this.endpoints[chosen] as EndpointState).inFlight + this.options.affinitySlack
    ) {
      chosen = shared.endpoint;
    }
    const endpoint = this.endpoints[chosen] as EndpointState;
    endpoint.inFlight++;
    endpoint.requests++;
    this.recent.push({ tokenIds, endpoint: chosen });
    if (this.recent.length > rememberedPrompts) this.recent.shift();
    return { index: chosen, url: endpoint.url, sharedPrefix: shared.length };
  }

  release(index: number, options: { failed: boolean }): void {
    const endpoint = this.endpoints[index];
    if (endpoint === undefined) return;
    endpoint.inFlight--;
    if (options.failed) endpoint.failures++;
  }

  /** Requests and failures per endpoint so far. */
  snapshot(): { url: string; inFlight: number; requests: number; failures: number }[] {
    return this.endpoints.map((endpoint) => ({ ...endpoint }));
  }
}
