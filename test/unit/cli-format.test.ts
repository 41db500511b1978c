// Table output as docker prints it: tabwriter alignment, ps and images rows, --format handling.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { formatItems } from '../../src/cli/formatter.js';
import { ContainerContext, DEFAULT_PS_FORMAT, PS_HEADERS, displayablePorts } from '../../src/cli/ps-format.js';
import { DEFAULT_IMAGES_FORMAT, IMAGE_HEADERS, imageRows } from '../../src/cli/images-format.js';
import { tabwrite } from '../../src/cli/tabwriter.js';
import type { ContainerSummary, ImageSummary } from '../../src/client/types.js';

test('tabwriter: min width 10, padding 3, last cell unpadded', () => {
  assert.equal(tabwrite('A\tBB\tC\nlonger-cell\tx\ty\n'), 'A             BB        C\nlonger-cell   x         y\n');
  assert.equal(tabwrite('a\tb\n'), 'a         b\n');
  assert.equal(tabwrite('PID\tCMD\n1\tsleep\n', { minWidth: 20, padding: 3 }), 'PID                 CMD\n1                   sleep\n');
});

const now = Math.floor(Date.now() / 1000);
const summary: ContainerSummary = {
  Id: '324b4a3d788022b1b61eb4c4aedeca79bbc62585a6f72dda7c8a02981edfe516',
  Names: ['/rsch-d'],
  Image: 'rsch-bb:1',
  ImageID: 'sha256:01f688950e5da89f97183108b40ef1c301ddc0e438814cc60719bf043343a4f0',
  Command: "sh -c 'while true; do echo tick; echo err >&2; sleep 1; done'",
  Created: now - 2,
  Ports: [{ IP: '127.0.0.1', PrivatePort: 80, PublicPort: 18080, Type: 'tcp' }],
  Labels: { b: '2', a: '1' },
  State: 'running',
  Status: 'Up 2 seconds',
  Mounts: [],
};

test('docker ps default table, from the trace sample', async () => {
  // CREATED counts whole seconds up to now: start away from a second's end, so that it reads
  // "2 seconds" and not, a millisecond past the boundary, "3 seconds".
  while (Date.now() % 1000 > 800) await new Promise((r) => setTimeout(r, 20));
  const fresh = { ...summary, Created: Math.floor(Date.now() / 1000) - 2 };
  const out = formatItems(DEFAULT_PS_FORMAT, [new ContainerContext(fresh, true)], PS_HEADERS);
  assert.equal(
    out,
    'CONTAINER ID   IMAGE       COMMAND                  CREATED         STATUS         PORTS                     NAMES\n' +
      `324b4a3d7880   rsch-bb:1   "sh -c 'while true; …"   2 seconds ago   Up 2 seconds   127.0.0.1:18080->80/tcp   rsch-d\n`,
  );
});

test('ps with no containers prints only the header', () => {
  assert.equal(formatItems(DEFAULT_PS_FORMAT, [], PS_HEADERS), 'CONTAINER ID   IMAGE     COMMAND   CREATED   STATUS    PORTS     NAMES\n');
});

test('ps --format: custom, table custom, json, --no-trunc', () => {
  const c = new ContainerContext(summary, true);
  assert.equal(formatItems('{{.ID}}', [c], PS_HEADERS), '324b4a3d7880\n');
  assert.equal(formatItems('{{.Names}}\\t{{.Labels}}', [c], PS_HEADERS), 'rsch-d\ta=1,b=2\n');
  assert.equal(formatItems('table {{.Names}}\\t{{.State}}', [c], PS_HEADERS), 'NAMES     STATE\nrsch-d    running\n');
  assert.equal(formatItems('{{.Label "a"}}', [c], PS_HEADERS), '1\n');
  const json = JSON.parse(formatItems('json', [c], PS_HEADERS)) as Record<string, unknown>;
  assert.equal(json.ID, '324b4a3d7880');
  assert.equal(json.Names, 'rsch-d');
  assert.deepEqual(Object.keys(json), [...Object.keys(json)].sort());
  const full = new ContainerContext(summary, false);
  assert.equal(full.ID, summary.Id);
  assert.equal(full.Command, `"${summary.Command}"`);
});

test('ps image column: ID when the image is referenced by ID, familiar names otherwise', () => {
  const byId = new ContainerContext({ ...summary, Image: 'sha256:01f688950e5da89f97183108b40ef1c301ddc0e438814cc60719bf043343a4f0' }, true);
  assert.equal(byId.Image, '01f688950e5d');
  assert.equal(new ContainerContext({ ...summary, Image: 'docker.io/library/busybox:latest' }, true).Image, 'busybox:latest');
  assert.equal(new ContainerContext({ ...summary, Image: '' }, true).Image, '<no image>');
});

test('displayablePorts groups ranges like docker', () => {
  assert.equal(
    displayablePorts([
      { PrivatePort: 80, Type: 'tcp' },
      { PrivatePort: 81, Type: 'tcp' },
      { PrivatePort: 82, Type: 'tcp' },
      { PrivatePort: 53, Type: 'udp' },
      { IP: '0.0.0.0', PrivatePort: 443, PublicPort: 443, Type: 'tcp' },
      { IP: '0.0.0.0', PrivatePort: 9000, PublicPort: 19000, Type: 'tcp' },
      { IP: '::', PrivatePort: 9000, PublicPort: 19000, Type: 'tcp' },
    ]),
    '53/udp, 80-82/tcp, 0.0.0.0:443->443/tcp, 0.0.0.0:19000->9000/tcp, [::]:19000->9000/tcp',
  );
  assert.equal(displayablePorts([]), '');
});

const img: ImageSummary = {
  Id: 'sha256:01f688950e5da89f97183108b40ef1c301ddc0e438814cc60719bf043343a4f0',
  ParentId: '',
  RepoTags: ['rsch-bb:1', 'rsch-bb:latest'],
  RepoDigests: ['rsch-bb@sha256:95727bce50c3a393ef3b91990bb1e132d96646e0ba06bbde4594e5a6d26915ff'],
  Created: now - 3600 * 3,
  Size: 1982408,
  SharedSize: -1,
  Labels: null,
  Containers: -1,
};

test('docker images: a row per tag, <none> for dangling, sizes as 1.98MB', () => {
  const dangling: ImageSummary = { ...img, Id: 'sha256:' + 'a'.repeat(64), RepoTags: [], RepoDigests: [] };
  const out = formatItems(DEFAULT_IMAGES_FORMAT, imageRows([img, dangling], { trunc: true, digests: false, format: DEFAULT_IMAGES_FORMAT }), IMAGE_HEADERS);
  assert.equal(
    out,
    'REPOSITORY   TAG       IMAGE ID       CREATED       SIZE\n' +
      'rsch-bb      1         01f688950e5d   3 hours ago   1.98MB\n' +
      'rsch-bb      latest    01f688950e5d   3 hours ago   1.98MB\n' +
      '<none>       <none>    aaaaaaaaaaaa   3 hours ago   1.98MB\n',
  );
  const digests = imageRows([img], { trunc: true, digests: true, format: '' });
  assert.equal(digests[0]!.Digest, 'sha256:95727bce50c3a393ef3b91990bb1e132d96646e0ba06bbde4594e5a6d26915ff');
});
