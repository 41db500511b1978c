// Engine API routes that talk to registries: pull (via /images/create), push, search, /auth.
import { Router, Context, boolParam, filtersParam, intParam } from '../http/router.js';
import { InvalidParameterError } from '../../errors.js';
import { ImageDaemon, imageService } from '../../image/service.js';
import { streamMessages } from './images.js';
import { parseReference, Reference } from '../../image/reference.js';
import {
  AuthConfig, Credentials, credentialsFromAuthConfig, credentialsFromDockerConfig, decodeRegistryAuth,
} from '../../registry/client/auth.js';
import { splitSearchTerm } from '../../registry/client/search.js';

/** X-Registry-Auth when it carries credentials, else what `docker login` stored for the host. */
export async function credentialsFor(ctx: Context, domain: string): Promise<Credentials | undefined> {
  const h = ctx.req.headers['x-registry-auth'];
  const fromHeader = credentialsFromAuthConfig(decodeRegistryAuth(Array.isArray(h) ? h[0] : h));
  return fromHeader ?? credentialsFromDockerConfig(domain);
}

/** fromImage + tag as Docker's postImagesCreate combines them; a tag that is a digest makes name@digest. */
export function pullReference(fromImage: string, tag: string | null): { ref: Reference; allTags: boolean } {
  let ref = parseReference(fromImage);
  if (tag) {
    if (/^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$/.test(tag)) ref = parseReference(`${fromImage.replace(/[:@].*$/, '')}@${tag}`);
    else ref = parseReference(`${fromImage.replace(/@.*$/, '').replace(/:([^/]*)$/, '')}:${tag}`);
  }
  return { ref, allTags: !ref.tag && !ref.digest };
}

export async function pullRoute(ctx: Context, d: ImageDaemon): Promise<void> {
  const { ref, allTags } = pullReference(ctx.query.get('fromImage') ?? '', ctx.query.get('tag'));
  const credentials = await credentialsFor(ctx, ref.domain);
  await streamMessages(ctx, (w) => imageService(d).pull({ ref, allTags, platform: ctx.query.get('platform'), credentials }, w.send));
}

export function registerDistributionRoutes(r: Router, d: ImageDaemon): void {
  r.post('/images/*name/push', async (ctx) => {
    let ref = parseReference(ctx.params.name);
    const tag = ctx.query.get('tag');
    if (tag) ref = parseReference(`${ctx.params.name.replace(/:([^/]*)$/, '')}:${tag}`);
    const credentials = await credentialsFor(ctx, ref.domain);
    await streamMessages(ctx, (w) => imageService(d).push({ ref, credentials }, w.send));
  });

  r.get('/images/search', async (ctx) => {
    const term = ctx.query.get('term') ?? '';
    const credentials = await credentialsFor(ctx, splitSearchTerm(term).domain);
    ctx.send(200, await imageService(d).search(term, { limit: intParam(ctx.query, 'limit'), filters: filtersParam(ctx.query), credentials }));
  });

  r.post('/auth', async (ctx) => {
    const body = await ctx.json<AuthConfig>({});
    if (typeof body !== 'object' || body === null) throw new InvalidParameterError('invalid auth configuration');
    const credentials = credentialsFromAuthConfig(body);
    if (!credentials) throw new InvalidParameterError('username and password are required');
    await imageService(d).login(body.serveraddress ?? '', credentials);
    ctx.send(200, { Status: 'Login Succeeded', IdentityToken: '' });
  });
}

export { boolParam };
export type { AuthConfig };
