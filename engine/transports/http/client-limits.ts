// Per-client request rates (token buckets by address) and caps on open event streams, so no client starves the rest.
import type { FastifyRequest } from 'fastify';
import { AbuError } from '../../core/errors';
import type { HttpLimits } from '../../config';

/** Addresses remembered at most; beyond it the least recently seen are forgotten (they start again with a full bucket). */
const MAX_TRACKED_CLIENTS = 4096;

/** One token bucket per client address; memory is bounded by MAX_TRACKED_CLIENTS. */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(private readonly limits: Pick<HttpLimits, 'requestsPerSecond' | 'burst'>, private readonly now = () => Date.now()) {}

  /** Takes one request from the client's bucket, or throws ABU_ERR_RATE_LIMITED saying when to retry. */
  take(client: string): void {
    const { requestsPerSecond: rate, burst } = this.limits;
    const t = this.now();
    const b = this.buckets.get(client) ?? { tokens: burst, at: t };
    // Re-inserted on every request, so the Map's order is least recently seen first.
    this.buckets.delete(client);
    this.buckets.set(client, b);
    b.tokens = Math.min(burst, b.tokens + ((t - b.at) / 1000) * rate);
    b.at = t;
    if (this.buckets.size > MAX_TRACKED_CLIENTS) this.buckets.delete(this.buckets.keys().next().value as string);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return;
    }
    const retryAfterSeconds = Math.max(1, Math.ceil((1 - b.tokens) / rate));
    throw new AbuError('ABU_ERR_RATE_LIMITED', `too many requests from ${client}: over http.limits.requestsPerSecond (${rate}/s, burst ${burst}); retry in ${retryAfterSeconds} s, or send the token`, {
      details: { limit: 'http.limits.requestsPerSecond', requestsPerSecond: rate, burst, retryAfterSeconds },
    });
  }

  get trackedClients(): number {
    return this.buckets.size;
  }
}

/** Counts open event streams, in all and per client address. */
export class StreamSlots {
  private total = 0;
  private readonly perClient = new Map<string, number>();

  constructor(private readonly limits: Pick<HttpLimits, 'eventStreams' | 'eventStreamsPerClient'>) {}

  /** A slot for one stream, or ABU_ERR_EVENT_STREAMS_FULL naming the limit; call the result once when it closes. */
  acquire(client: string): () => void {
    const mine = this.perClient.get(client) ?? 0;
    if (mine >= this.limits.eventStreamsPerClient) {
      throw streamsFull('http.limits.eventStreamsPerClient', this.limits.eventStreamsPerClient, `${client} already holds ${mine} event streams`);
    }
    if (this.total >= this.limits.eventStreams) {
      throw streamsFull('http.limits.eventStreams', this.limits.eventStreams, `${this.total} event streams are open`);
    }
    this.total++;
    this.perClient.set(client, mine + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.total--;
      const left = (this.perClient.get(client) ?? 1) - 1;
      if (left > 0) this.perClient.set(client, left);
      else this.perClient.delete(client);
    };
  }

  get open(): number {
    return this.total;
  }
}

function streamsFull(limit: string, value: number, what: string): AbuError {
  return new AbuError('ABU_ERR_EVENT_STREAMS_FULL', `${what}: over ${limit} (${value}); close a page or retry later (status and history still answer)`, {
    details: { limit, [limit.split('.').pop()!]: value, retryAfterSeconds: 5 },
  });
}

/** The address a request came from (the proxy's, behind a reverse proxy: every client then shares one bucket). */
export function clientOf(req: FastifyRequest): string {
  return req.socket.remoteAddress ?? 'unknown';
}
