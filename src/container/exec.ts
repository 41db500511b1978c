// Exec sessions: processes started inside a running container's namespaces and cgroup.
import type { ContainerService } from './service.js';
import type { EventBus } from '../daemon/events.js';

export class ExecService {
  private readonly byContainer = new Map<string, Set<string>>();
  constructor(readonly containers: ContainerService, readonly events: EventBus, readonly execRoot: string, readonly log: (l: string) => void) {}
  idsFor(containerId: string): string[] | null {
    const s = this.byContainer.get(containerId);
    return s && s.size ? [...s] : null;
  }
}
