// How capabilities talk to each other inside agentd without importing each other: named
// topics carrying the latest value (the clock's estimate, which trust checks use), and
// events for telemetry (state changes, results, audits). A capability adds its topics to the
// Topics interface by declaration merging:
//
//   declare module '../daemon/bus.js' { interface Topics { 'clock.estimate': ClockEstimate } }
//
// Listeners run synchronously; one that throws is logged by the caller and never stops the
// others.
import { EventEmitter } from 'node:events';

// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface Topics {}

/** An event for the collector. Names are dotted ('clock.state_changed'); codes come from closed unions. */
export interface AgentEvent {
  name: string;
  severity: 'debug' | 'info' | 'warn' | 'error';
  /** The reason code, when the event is a diagnosis, rejection or failure. */
  code?: string;
  /** Flat attributes, snake_case keys; never a secret. */
  attributes: Record<string, string | number | boolean | null | string[]>;
  /** Audits (scrub deletions) are written to disk at once, not with the next group. */
  audit?: boolean;
}

export class Bus {
  private readonly emitter = new EventEmitter();
  private readonly values = new Map<string, unknown>();
  /** Events sent before anyone collected them. */
  private pending: AgentEvent[] = [];
  private pendingDropped = 0;
  static readonly pendingLimit = 1000;

  constructor(private readonly onListenerError: (where: string, error: unknown) => void = () => {}) {
    this.emitter.setMaxListeners(100);
  }

  publish<K extends keyof Topics & string>(topic: K, value: Topics[K]): void {
    this.values.set(topic, value);
    this.dispatch(`topic:${topic}`, value);
  }

  latest<K extends keyof Topics & string>(topic: K): Topics[K] | undefined {
    return this.values.get(topic) as Topics[K] | undefined;
  }

  subscribe<K extends keyof Topics & string>(topic: K, listener: (value: Topics[K]) => void): () => void {
    const wrapped = (value: unknown) => listener(value as Topics[K]);
    this.emitter.on(`topic:${topic}`, wrapped);
    return () => this.emitter.off(`topic:${topic}`, wrapped);
  }

  /**
   * Sends an event to whoever collects events (telemetry). Until a collector subscribes (a
   * capability attached before telemetry may report at once), up to `pendingLimit` events wait
   * and go to the first one; beyond that the oldest are dropped and counted.
   */
  event(event: AgentEvent): void {
    if (this.emitter.listenerCount('event') === 0) {
      this.pending.push(event);
      if (this.pending.length > Bus.pendingLimit) {
        this.pending.shift();
        this.pendingDropped++;
      }
      return;
    }
    this.dispatch('event', event);
  }

  /** Subscribes to events; the first subscriber also gets those sent before it (in order). */
  onEvent(listener: (event: AgentEvent) => void): () => void {
    this.emitter.on('event', listener);
    const waiting = this.pending;
    this.pending = [];
    for (const event of waiting) this.dispatch('event', event);
    return () => this.emitter.off('event', listener);
  }

  /** Events dropped because nobody collected them and more than pendingLimit waited. */
  get droppedBeforeSubscription(): number {
    return this.pendingDropped;
  }

  private dispatch(name: string, value: unknown): void {
    for (const listener of this.emitter.listeners(name)) {
      try {
        (listener as (v: unknown) => void)(value);
      } catch (error) {
        this.onListenerError(name, error);
      }
    }
  }
}
