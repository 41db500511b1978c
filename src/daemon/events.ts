// Docker's event stream: every part reports what happened; GET /events subscribers receive it.
import { EventEmitter } from 'node:events';

export type EventType = 'container' | 'image' | 'network' | 'volume' | 'daemon' | 'builder';

export interface EngineEvent {
  Type: EventType;
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  scope: 'local';
  time: number;
  timeNano: number;
  // Deprecated top-level fields the docker CLI still reads for containers and images.
  status?: string;
  id?: string;
  from?: string;
}

export class EventBus {
  private readonly emitter = new EventEmitter();
  /** Recent events so that `events --since` can replay them. */
  private readonly recent: EngineEvent[] = [];

  constructor(private readonly keep = 1000) {
    this.emitter.setMaxListeners(0);
  }

  emit(type: EventType, action: string, id: string, attributes: Record<string, string> = {}): void {
    const nowNs = BigInt(Date.now()) * 1_000_000n;
    const ev: EngineEvent = {
      Type: type, Action: action, Actor: { ID: id, Attributes: attributes }, scope: 'local',
      time: Number(nowNs / 1_000_000_000n), timeNano: Number(nowNs),
    };
    if (type === 'container' || type === 'image') {
      ev.status = action; ev.id = id;
      if (attributes.image) ev.from = attributes.image;
    }
    this.recent.push(ev);
    if (this.recent.length > this.keep) this.recent.shift();
    this.emitter.emit('event', ev);
  }

  since(timeNano: number): EngineEvent[] {
    return this.recent.filter((e) => e.timeNano >= timeNano);
  }

  subscribe(fn: (e: EngineEvent) => void): () => void {
    this.emitter.on('event', fn);
    return () => this.emitter.off('event', fn);
  }
}
