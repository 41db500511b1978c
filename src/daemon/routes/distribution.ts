// Engine API routes that talk to registries: pull (via /images/create), push, /auth.
import { Router, Context } from '../http/router.js';
import { NotImplementedError } from '../../errors.js';
import { ImageDaemon } from '../../image/service.js';

export async function pullRoute(_ctx: Context, _d: ImageDaemon): Promise<void> {
  throw new NotImplementedError('pulling from registries is not implemented yet');
}

export function registerDistributionRoutes(_r: Router, _d: ImageDaemon): void {
  // push and /auth are added with the registry client.
}
