import type { IncomingMessage } from 'node:http';
import { StringDecoder } from 'node:string_decoder';
import type { KubernetesObject } from '@kubernetes/client-node';
import { Backoff } from './backoff.js';
import { sleep } from './clock.js';
import type { Cancel, Clock } from './clock.js';
import type { ApiGetter } from './connection.js';
import { type Logger, errorMessage } from '../log.js';
import {
  ApiStatusError,
  isRecord,
  parseListPage,
  peekContinue,
  readBody,
  resourceVersionOf,
  statusMessage,
  type ListResponse,
} from './api-answers.js';

/** Why a list/watch cycle started over; the label of watch_restarts_total. */
export type WatchRestartReason =
  | 'closed' // the server ended the watch (normally its timeoutSeconds)
  | 'expired' // 410 Gone: the resourceVersion is too old, a relist follows
  | 'error' // transport error, bad status, unparsable stream, or a watch ERROR event
  | 'watchdog' // the watch was silent too long and was aborted client-side
  | 'list_failed'; // the list request failed; retried with backoff

/** Where a reflector reports restarts (implemented by RuntimeMetrics.informerMetrics). */
export interface InformerMetrics {
  watchRestarted(reason: WatchRestartReason): void;
}

/** What a reflector writes into; the informer's cache. Must not throw. */
export interface ReflectorStore<T> {
  /** A (re)list of this reflector's scope begins; its pages follow in order, then its end (unless it fails). */
  startList(): ListFiling<T>;
  upsert(object: T): void;
  remove(object: T): void;
}

/** One (re)list's way into the store: a failed list just stops calling it. */
export interface ListFiling<T> {
  /** The objects of the next page, in the order the API server listed them. */
  page(objects: readonly T[]): void;
  /** Every page was filed: together they are the full current state of the scope. */
  end(): void;
}

export interface ReflectorTiming {
  /** First delay after a failure; doubles per consecutive failure up to backoffMaxMs. */
  backoffInitialMs?: number;
  backoffMaxMs?: number;
  /** The server ends each watch after a random time between this and twice this (client-go: 5-10 min). */
  minWatchTimeoutSeconds?: number;
  /**
   * A watch that delivers nothing (not even a bookmark) for this long is presumed wedged — a
   * half-open TCP connection looks exactly like a quiet resource — and is re-opened from the
   * last resourceVersion, which is cheap.
   */
  watchIdleTimeoutMs?: number;
  listTimeoutMs?: number;
  /**
   * A watch the server accepted (HTTP 200) that then stayed open this long, or that delivered any
   * event, counts as healthy and resets the backoff. A refusal never does, however slowly it came.
   */
  healthyWatchMs?: number;
  listPageSize?: number;
  /** Past its next expected progress by more than this, the loop reports itself wedged. */
  wedgedGraceMs?: number;
}

/** Accept headers for a list and for a watch; the default is plain JSON for both. */
export interface ReflectorAccept {
  list: string;
  watch: string;
}

interface ReflectorOptions<T> extends ReflectorTiming {
  getter: ApiGetter;
  /** Collection path, e.g. /apis/example.com/v1/namespaces/ns/things. */
  path: string;
  labelSelector?: string;
  accept?: ReflectorAccept;
  store: ReflectorStore<T>;
  prepare: (object: T) => T;
  logger: Logger;
  clock: Clock;
  random: () => number;
  metrics?: InformerMetrics;
}

interface WatchState {
  resourceVersion: string;
  events: number;
  /** When the server answered 200 and the stream began; undefined if it never did. */
  acceptedAt?: number;
}

/** A page asked for: the continue token it was asked with, and its body. */
interface PageRequest {
  continueToken: string | undefined;
  body: Promise<string>;
  abort(): void;
}

/** An AbortController that also aborts with the parent signal (at once if it already has). */
function linkedAbort(parent: AbortSignal): { request: AbortController; unlink: () => void } {
  const request = new AbortController();
  const abort = (): void => request.abort();
  if (parent.aborted) request.abort();
  else parent.addEventListener('abort', abort, { once: true });
  return { request, unlink: () => parent.removeEventListener('abort', abort) };
}

/**
 * client-go's Reflector for one collection: list, then watch from the list's resourceVersion,
 * and start over — forever — whatever happens. A 410 Gone relists; anything else re-watches
 * from the last resourceVersion seen. Unhealthy cycles (errors, watches that end at once) wait
 * a jittered exponential backoff, so a server that refuses or closes every watch is not hammered.
 */
export class Reflector<T extends KubernetesObject> {
  private synced = false;
  private nextProgressBy: number;
  private readonly backoffInitialMs: number;
  private readonly backoffMaxMs: number;
  private readonly minWatchTimeoutSeconds: number;
  private readonly watchIdleTimeoutMs: number;
  private readonly listTimeoutMs: number;
  private readonly healthyWatchMs: number;
  private readonly listPageSize: number;
  private readonly wedgedGraceMs: number;

  constructor(private readonly options: ReflectorOptions<T>) {
    this.backoffInitialMs = options.backoffInitialMs ?? 1000;
    this.backoffMaxMs = options.backoffMaxMs ?? 30_000;
    this.minWatchTimeoutSeconds = options.minWatchTimeoutSeconds ?? 300;
    this.watchIdleTimeoutMs = options.watchIdleTimeoutMs ?? 5 * 60_000;
    this.listTimeoutMs = options.listTimeoutMs ?? 60_000;
    this.healthyWatchMs = options.healthyWatchMs ?? 1000;
    this.listPageSize = options.listPageSize ?? 500;
    this.wedgedGraceMs = options.wedgedGraceMs ?? 60_000;
    this.nextProgressBy = options.clock.now() + this.listTimeoutMs;
  }

  get hasSynced(): boolean {
    return this.synced;
  }

  /** True when the loop has gone well past the point where it should have moved on. */
  isWedged(): boolean {
    return this.options.clock.now() > this.nextProgressBy + this.wedgedGraceMs;
  }

  /** Runs until the signal aborts; never rejects. */
  async run(signal: AbortSignal): Promise<void> {
    const { clock, random, logger, metrics } = this.options;
    const backoff = new Backoff({ initialMs: this.backoffInitialMs, maxMs: this.backoffMaxMs, random });
    let resourceVersion: string | undefined;
    while (!signal.aborted) {
      if (resourceVersion === undefined) {
        try {
          resourceVersion = await this.list(signal);
        } catch (error) {
          if (signal.aborted) return;
          metrics?.watchRestarted('list_failed');
          logger.warn('list failed; retrying', { error: errorMessage(error) });
          await this.pause(backoff.next(), signal);
          continue;
        }
      }
      const state: WatchState = { resourceVersion, events: 0 };
      const reason = await this.watch(state, signal);
      if (signal.aborted) return;
      metrics?.watchRestarted(reason);
      resourceVersion = reason === 'expired' ? undefined : state.resourceVersion;
      // A slow refusal (an error status or a transport error after a while: a proxy waiting for a
      // dead upstream, API Priority and Fairness queueing then answering 429) is no healthy watch.
      const openFor = state.acceptedAt === undefined ? -1 : clock.now() - state.acceptedAt;
      if (state.events > 0 || openFor >= this.healthyWatchMs) {
        backoff.reset();
      } else {
        await this.pause(backoff.next(), signal);
      }
    }
  }

  private async pause(delayMs: number, signal: AbortSignal): Promise<void> {
    this.nextProgressBy = this.options.clock.now() + delayMs;
    await sleep(this.options.clock, delayMs, signal);
  }

  private query(extra: Record<string, string>): string {
    const query = new URLSearchParams(extra);
    if (this.options.labelSelector) query.set('labelSelector', this.options.labelSelector);
    return `${this.options.path}?${query.toString()}`;
  }

  /**
   * Lists every page into the store; returns the list's resourceVersion. Reads are consistent:
   * the API server serves them from its watch cache page by page (Kubernetes 1.31+), as fast as
   * one resourceVersion=0 read of the whole list was measured to be (docs/benchmarks.md, round
   * four), and never older than what the operator saw before. Pages are pipelined: the next one
   * is asked for as soon as a page's body is in, and the API server prepares it while this page
   * is parsed and filed (docs/cost-curve.md: at 50,000 objects parsing every page after the one
   * before it was most of the operator's own start-up time).
   */
  private async list(signal: AbortSignal): Promise<string> {
    const { store, prepare, clock, logger } = this.options;
    const startedAt = clock.now();
    const filing = store.startList();
    // Aborts a page asked for ahead when the list fails or stops before it is read.
    const { request: listing, unlink } = linkedAbort(signal);
    let pending: PageRequest | undefined = this.requestPage(undefined, listing.signal);
    let resourceVersion = '';
    let pages = 0;
    let objects = 0;
    let parseMs = 0;
    let fileMs = 0;
    try {
      while (pending) {
        const body: string = await pending.body;
        pages++;
        const guessed = peekContinue(body);
        const ahead = guessed === undefined ? undefined : this.requestPage(guessed, listing.signal);
        const parsedAt = clock.now();
        const page: ListResponse<T> = parseListPage<T>(body);
        const filedAt = clock.now();
        parseMs += filedAt - parsedAt;
        // Items of built-in lists come without apiVersion/kind; mapping functions may need them.
        const itemKind = page.kind?.replace(/List$/, '');
        const items = page.items ?? [];
        for (const item of items) {
          item.apiVersion ??= page.apiVersion;
          item.kind ??= itemKind;
        }
        filing.page(items.map((item) => prepare(item)));
        objects += items.length;
        fileMs += clock.now() - filedAt;
        resourceVersion = page.metadata?.resourceVersion ?? '';
        const continueToken: string | undefined = page.metadata?.continue || undefined;
        // The peek is a guess; the parsed page decides which page comes next.
        if (ahead !== undefined && ahead.continueToken !== continueToken) ahead.abort();
        pending =
          continueToken === undefined
            ? undefined
            : ahead?.continueToken === continueToken
              ? ahead
              : this.requestPage(continueToken, listing.signal);
      }
    } finally {
      listing.abort();
      unlink();
    }
    const listedAt = clock.now();
    this.synced = true;
    filing.end();
    logger.info('listed', {
      objects,
      pages,
      listMs: listedAt - startedAt,
      parseMs,
      fileMs,
      storeMs: clock.now() - listedAt,
    });
    return resourceVersion;
  }

  /** Asks for one page; its body, read whole, once the API server answered 200. */
  private requestPage(continueToken: string | undefined, signal: AbortSignal): PageRequest {
    const { clock, getter } = this.options;
    const { request, unlink } = linkedAbort(signal);
    const params: Record<string, string> = { limit: String(this.listPageSize) };
    if (continueToken !== undefined) params.continue = continueToken;
    this.nextProgressBy = clock.now() + this.listTimeoutMs;
    const cancelTimeout = clock.schedule(this.listTimeoutMs, () => request.abort());
    const body = (async () => {
      try {
        const response = await getter.get(this.query(params), request.signal, this.options.accept?.list);
        const text = await readBody(response);
        if (response.statusCode !== 200)
          throw new ApiStatusError(response.statusCode ?? 0, statusMessage(response.statusCode ?? 0, text));
        return text;
      } finally {
        cancelTimeout();
        unlink();
      }
    })();
    // A page asked for ahead may fail after the list already has (and is never awaited then).
    body.catch(() => undefined);
    return { continueToken, body, abort: () => request.abort() };
  }

  /** One watch from state.resourceVersion; updates state as events arrive and says why it ended. */
  private async watch(state: WatchState, signal: AbortSignal): Promise<WatchRestartReason> {
    const { clock, getter, logger } = this.options;
    const { request, unlink } = linkedAbort(signal);
    let watchdogFired = false;
    let cancelWatchdog: Cancel = () => undefined;
    const armWatchdog = (): void => {
      cancelWatchdog();
      this.nextProgressBy = clock.now() + this.watchIdleTimeoutMs;
      cancelWatchdog = clock.schedule(this.watchIdleTimeoutMs, () => {
        watchdogFired = true;
        request.abort();
      });
    };
    const timeoutSeconds = Math.floor(this.minWatchTimeoutSeconds * (1 + this.options.random()));
    const pathAndQuery = this.query({
      watch: '1',
      resourceVersion: state.resourceVersion,
      allowWatchBookmarks: 'true',
      timeoutSeconds: String(timeoutSeconds),
    });
    armWatchdog();
    try {
      const response = await getter.get(pathAndQuery, request.signal, this.options.accept?.watch);
      if (response.statusCode !== 200) {
        const statusCode = response.statusCode ?? 0;
        const message = statusMessage(statusCode, await readBody(response));
        if (statusCode === 410) return this.ended('expired', message);
        return this.ended('error', message);
      }
      state.acceptedAt = clock.now();
      return await this.consume(response, state, armWatchdog);
    } catch (error) {
      if (watchdogFired) return this.ended('watchdog', `no data for ${this.watchIdleTimeoutMs} ms`);
      if (signal.aborted) return 'closed';
      return this.ended('error', errorMessage(error));
    } finally {
      cancelWatchdog();
      unlink();
      // Releases the socket if we stopped reading before the server finished.
      request.abort();
      logger.debug('watch ended', { resourceVersion: state.resourceVersion, events: state.events });
    }
  }

  private ended(reason: WatchRestartReason, detail: string): WatchRestartReason {
    this.options.logger.warn('watch restarting', { reason, detail });
    return reason;
  }

  private async consume(response: IncomingMessage, state: WatchState, onData: () => void): Promise<WatchRestartReason> {
    const decoder = new StringDecoder('utf8');
    let buffered = '';
    for await (const chunk of response as AsyncIterable<Buffer>) {
      onData();
      buffered += decoder.write(chunk);
      let newline = buffered.indexOf('\n');
      while (newline >= 0) {
        const verdict = this.handleLine(buffered.slice(0, newline), state);
        if (verdict) return verdict;
        buffered = buffered.slice(newline + 1);
        newline = buffered.indexOf('\n');
      }
    }
    return this.handleLine(buffered + decoder.end(), state) ?? 'closed';
  }

  /** Applies one watch event; returns a reason only when the event ends the watch. */
  private handleLine(line: string, state: WatchState): WatchRestartReason | undefined {
    if (line.trim() === '') return undefined;
    let event: unknown;
    try {
      event = JSON.parse(line);
    } catch {
      return this.ended('error', 'unparsable watch event');
    }
    if (!isRecord(event) || typeof event.type !== 'string' || !isRecord(event.object)) {
      return this.ended('error', 'malformed watch event');
    }
    const { store, prepare } = this.options;
    switch (event.type) {
      case 'ADDED':
      case 'MODIFIED':
        store.upsert(prepare(event.object as T));
        break;
      case 'DELETED':
        store.remove(prepare(event.object as T));
        break;
      case 'BOOKMARK':
        break;
      case 'ERROR': {
        const code = event.object.code;
        const message = typeof event.object.message === 'string' ? event.object.message : 'watch ERROR event';
        return this.ended(code === 410 ? 'expired' : 'error', message);
      }
      default:
        this.options.logger.warn('ignoring watch event of unknown type', { type: event.type });
        return undefined;
    }
    state.events++;
    state.resourceVersion = resourceVersionOf(event.object) ?? state.resourceVersion;
    return undefined;
  }
}
