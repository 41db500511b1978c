// Image commands: images/ls, rmi/rm, tag, import, prune, image inspect, pull (for run's path).
import { createReadStream, existsSync } from 'node:fs';

import type { Command } from 'commander';

import { fullString, parseReference, withDefaultTag } from '../image/reference.js';
import type { Cli } from './context.js';
import { describeError, StatusError, confirm } from './context.js';
import { collect, defineCommand } from './command.js';
import type { Outcome } from './command.js';
import { formatItems } from './formatter.js';
import { DEFAULT_IMAGES_FORMAT, DEFAULT_IMAGES_FORMAT_DIGEST, IMAGE_HEADERS, imageRows } from './images-format.js';
import { displayJSONMessages, pullImage } from './cmd-run.js';
import { inspectObjects, parseFilters } from './cmd-container.js';
import type { ParsedOptions } from './run-opts.js';
import { humanSize } from './units.js';

async function images(cli: Cli, args: string[], opts: ParsedOptions): Promise<number> {
  const filters = parseFilters(opts.filter as string[] | undefined);
  if (args[0]) (filters.reference ??= []).push(args[0]);
  const list = await cli.client.imageList({ all: opts.all === true, filters });
  const digests = opts.digests === true;
  let format = typeof opts.format === 'string' ? opts.format : '';
  if (opts.quiet === true) format = '{{.ID}}';
  else if (format === '' || format === 'table') format = digests ? DEFAULT_IMAGES_FORMAT_DIGEST : DEFAULT_IMAGES_FORMAT;
  else if (format.startsWith('table') && digests && !format.includes('{{.Digest}}')) format += '\t{{.Digest}}';
  const rows = imageRows(list, { trunc: opts.trunc !== false, digests, format });
  let text = formatItems(format, rows, IMAGE_HEADERS);
  if (opts.quiet === true) {
    // -q lists each image once even when it has several tags
    const seen = new Set<string>();
    text = text
      .split('\n')
      .filter((l) => l !== '' && !seen.has(l) && seen.add(l))
      .map((l) => l + '\n')
      .join('');
  }
  cli.out(text);
  return 0;
}

async function rmi(cli: Cli, args: string[], opts: ParsedOptions): Promise<number> {
  const errs: string[] = [];
  for (const ref of args) {
    try {
      const items = await cli.client.imageRemove(ref, { force: opts.force === true, noprune: opts.prune === false });
      for (const it of items) {
        if (it.Untagged) cli.out(`Untagged: ${it.Untagged}\n`);
        if (it.Deleted) cli.out(`Deleted: ${it.Deleted}\n`);
      }
    } catch (e) {
      errs.push(describeError(e));
    }
  }
  if (errs.length) throw new StatusError(1, errs.join('\n'));
  return 0;
}

async function tag(cli: Cli, source: string, target: string): Promise<number> {
  let ref;
  try {
    ref = parseReference(target);
  } catch (e) {
    throw new StatusError(1, describeError(e));
  }
  if (ref.digest) throw new StatusError(1, 'refusing to create a tag with a digest reference');
  await cli.client.imageTag(source, `${ref.domain}/${ref.path}`, ref.tag ?? 'latest');
  return 0;
}

async function importCmd(cli: Cli, args: string[], opts: ParsedOptions): Promise<number> {
  const [src, repo] = args as [string, string | undefined];
  if (repo) {
    try {
      parseReference(repo);
    } catch (e) {
      throw new StatusError(1, describeError(e));
    }
  }
  let source: NodeJS.ReadableStream | string;
  if (src === '-') source = cli.io.stdin;
  else if (/^https?:\/\//.test(src)) source = src;
  else {
    if (!existsSync(src)) throw new StatusError(1, `open ${src}: no such file or directory`);
    source = createReadStream(src);
  }
  const res = await cli.client.imageImport(source, {
    repo,
    message: typeof opts.message === 'string' ? opts.message : undefined,
    changes: (opts.change as string[] | undefined) ?? undefined,
    platform: typeof opts.platform === 'string' ? opts.platform : undefined,
  });
  await displayJSONMessages(res, (s) => cli.out(s));
  return 0;
}

async function prune(cli: Cli, opts: ParsedOptions): Promise<number> {
  const all = opts.all === true;
  const warning = all
    ? 'WARNING! This will remove all images without at least one container associated to them.'
    : 'WARNING! This will remove all dangling images.';
  if (opts.force !== true && !(await confirm(cli, `${warning}\nAre you sure you want to continue?`))) return 0;
  const filters = parseFilters(opts.filter as string[] | undefined);
  filters.dangling = [all ? 'false' : 'true'];
  const r = await cli.client.imagePrune(filters);
  let out = '';
  if (r.ImagesDeleted?.length) {
    out = 'Deleted Images:\n';
    for (const d of r.ImagesDeleted) {
      if (d.Untagged) out += `untagged: ${d.Untagged}\n`;
      if (d.Deleted) out += `deleted: ${d.Deleted}\n`;
    }
    out += '\n';
  }
  cli.out(out + `Total reclaimed space: ${humanSize(r.SpaceReclaimed ?? 0)}\n`);
  return 0;
}

export function registerImageCommands(parent: Command, parentPath: string, cli: Cli, outcome: Outcome, management: boolean): void {
  defineCommand(
    parent,
    parentPath,
    { name: management ? 'ls' : 'images', aliases: management ? ['list'] : [], usage: '[OPTIONS] [REPOSITORY[:TAG]]', description: 'List images', maxArgs: 1 },
    cli,
    outcome,
    (c, a, o) => images(c, a, o),
  )
    .option('-a, --all', 'Show all images (default hides intermediate images)')
    .option('--digests', 'Show digests')
    .option('-f, --filter <filter>', 'Filter output based on conditions provided', collect)
    .option('--format <string>', 'Format output using a custom template')
    .option('--no-trunc', "Don't truncate output")
    .option('-q, --quiet', 'Only show image IDs');
  defineCommand(
    parent,
    parentPath,
    { name: management ? 'rm' : 'rmi', aliases: management ? ['remove'] : [], usage: '[OPTIONS] IMAGE [IMAGE...]', description: 'Remove one or more images', minArgs: 1 },
    cli,
    outcome,
    (c, a, o) => rmi(c, a, o),
  )
    .option('-f, --force', 'Force removal of the image')
    .option('--no-prune', 'Do not delete untagged parents');
  defineCommand(parent, parentPath, { name: 'tag', usage: 'SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]', description: 'Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE', minArgs: 2, maxArgs: 2 }, cli, outcome, (c, a) =>
    tag(c, a[0]!, a[1]!),
  );
  defineCommand(parent, parentPath, { name: 'import', usage: '[OPTIONS] file|URL|- [REPOSITORY[:TAG]]', description: 'Import the contents from a tarball to create a filesystem image', minArgs: 1, maxArgs: 2 }, cli, outcome, (c, a, o) =>
    importCmd(c, a, o),
  )
    .option('-c, --change <list>', 'Apply Dockerfile instruction to the created image', collect)
    .option('-m, --message <string>', 'Set commit message for imported image')
    .option('--platform <string>', 'Set platform if server is multi-platform capable');
  defineCommand(parent, parentPath, { name: 'pull', usage: '[OPTIONS] NAME[:TAG|@DIGEST]', description: 'Download an image from a registry', minArgs: 1, maxArgs: 1 }, cli, outcome, async (c, a, o) => {
    let ref;
    try {
      ref = parseReference(a[0]!);
    } catch (e) {
      throw new StatusError(1, describeError(e));
    }
    if (!ref.tag && !ref.digest && o.allTags !== true && o.quiet !== true) c.out('Using default tag: latest\n');
    await pullImage(c, a[0]!, { platform: typeof o.platform === 'string' ? o.platform : undefined, quiet: true, stdout: false, progressTo: o.quiet === true ? undefined : (s) => c.out(s) });
    // docker ends with the full reference it pulled
    c.out(`${fullString(withDefaultTag(ref))}\n`);
    return 0;
  })
    .option('-a, --all-tags', 'Download all tagged images in the repository')
    .option('--platform <string>', 'Set platform if server is multi-platform capable')
    .option('-q, --quiet', 'Suppress verbose output');
  if (management) {
    defineCommand(parent, parentPath, { name: 'inspect', usage: '[OPTIONS] IMAGE [IMAGE...]', description: 'Display detailed information on one or more images', minArgs: 1 }, cli, outcome, (c, a, o) =>
      inspectObjects(c, a, typeof o.format === 'string' ? o.format : undefined, (n) => c.client.imageInspect(n)),
    ).option('-f, --format <string>', 'Format output using a custom template');
    defineCommand(parent, parentPath, { name: 'prune', usage: '[OPTIONS]', description: 'Remove unused images', maxArgs: 0 }, cli, outcome, (c, _a, o) => prune(c, o))
      .option('-a, --all', 'Remove all unused images, not just dangling ones')
      .option('--filter <filter>', 'Provide filter values (e.g. "until=<timestamp>")', collect)
      .option('-f, --force', 'Do not prompt for confirmation');
  }
}
