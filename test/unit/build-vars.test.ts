import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ShellLex, envFromMap } from '../../src/build/shell-lex.js';
import { BuildArgs, StageVars, resolveMetaArgs } from '../../src/build/vars.js';
import { parseDockerfile } from '../../src/build/parser.js';
import { buildStages } from '../../src/build/instructions.js';
import { planStages } from '../../src/build/stages.js';

const lex = new ShellLex('\\');
const env = envFromMap({ A: 'a', EMPTY: '', PATHV: '/usr/local/bin/app.tar.gz', SP: 'x y' });
const w = (s: string) => lex.processWord(s, env).result;

test('substitution forms', () => {
  const cases: [string, string][] = [
    ['$A', 'a'], ['${A}', 'a'], ['x${A}y', 'xay'], ['$NOPE', ''], ['${NOPE:-d}', 'd'], ['${EMPTY:-d}', 'd'], ['${EMPTY-d}', ''],
    ['${A:-d}', 'a'], ['${A:+set}', 'set'], ['${NOPE:+set}', ''], ['${EMPTY+set}', 'set'], ['${EMPTY:+set}', ''],
    ["'$A'", '$A'], ['"$A"', 'a'], ['\\$A', '$A'], ['"\\$A"', '$A'], ['"a\\b"', 'a\\b'], ['$', '$'], ['a$', 'a$'],
    ['${PATHV##*/}', 'app.tar.gz'], ['${PATHV#*/}', 'usr/local/bin/app.tar.gz'], ['${PATHV%.*}', '/usr/local/bin/app.tar'],
    ['${PATHV%%.*}', '/usr/local/bin/app'], ['${PATHV/local/opt}', '/usr/opt/bin/app.tar.gz'], ['${A//a/bb}', 'bb'],
    ['${NOPE:-${A}x}', 'ax'],
  ];
  for (const [i, o] of cases) assert.equal(w(i), o, i);
});

test('substitution errors carry Docker text', () => {
  assert.throws(() => w('${'), /^Error: failed to process "\$\{": syntax error: missing '}'$/);
  assert.throws(() => w('${A:-x'), /syntax error: missing '}'/);
  assert.throws(() => w('${}'), /syntax error: bad substitution/);
  assert.throws(() => w('${NOPE:?must be set}'), /NOPE: must be set/);
  assert.throws(() => w('${NOPE?}'), /NOPE: is not allowed to be unset/);
  assert.throws(() => w('"abc'), /unexpected end of statement while looking for matching double-quote/);
  assert.throws(() => w('${A:#x}'), /unsupported modifier \(:#\) in substitution/);
});

test('words split on unquoted whitespace, also from expansions', () => {
  assert.deepEqual(lex.processWords('a "b c" $SP', env).words, ['a', 'b c', 'x', 'y']);
  assert.deepEqual(lex.processWords('"$SP"', env).words, ['x y']);
  const m = lex.processWord('$A ${NOPE:-1}', env);
  assert.deepEqual([...m.matched], ['A']);
  assert.deepEqual([...m.unmatched], ['NOPE']);
});

test('backtick escape token', () => {
  const l = new ShellLex('`');
  assert.equal(l.processWord('c:\\dir `$A', env).result, 'c:\\dir $A');
});

test('ARG scoping: meta args only in FROM, redeclared to use in a stage, build args override', () => {
  const df = buildStages(parseDockerfile('ARG V=1\nARG IMG=busybox:$V\nFROM $IMG\nARG V\nARG W=$V-w\nENV W=env\n'));
  const ba = new BuildArgs(new Map([['V', '2'], ['UNUSED', 'x']]));
  const meta = resolveMetaArgs(df.metaArgs.map((a) => a.args), ba, lex);
  assert.equal(meta.get('IMG'), 'busybox:2');
  assert.equal(meta.get('TARGETARCH'), 'amd64');
  const sv = new StageVars(meta, ba);
  assert.equal(sv.lookup([]).get('IMG'), undefined, 'meta args are not visible in the stage');
  sv.declare({ key: 'V' }, [], lex);
  assert.equal(sv.lookup([]).get('V'), '2');
  sv.declare({ key: 'W', value: '$V-w' }, [], lex);
  assert.equal(sv.lookup([]).get('W'), '2-w');
  assert.equal(sv.lookup(['W=env']).get('W'), 'env', 'ENV beats ARG');
  assert.deepEqual(sv.runEnv(['PATH=/bin', 'W=env']), ['PATH=/bin', 'W=env', 'V=2']);
  assert.deepEqual(sv.historyArgs([]), ['V=2', 'W=2-w']);
  assert.deepEqual(ba.unconsumed(), ['UNUSED']);
});

test('ARG without value and no build arg stays unset', () => {
  const sv = new StageVars(new Map(), new BuildArgs(new Map()));
  sv.declare({ key: 'X' }, [], lex);
  assert.equal(lex.processWord('${X:-dflt}', sv.lookup([])).result, 'dflt');
});

test('stage graph: target, skipped stages, parallel waves', () => {
  const df = buildStages(parseDockerfile([
    'FROM busybox AS a', 'RUN a',
    'FROM busybox AS b', 'RUN b',
    'FROM busybox AS unused', 'RUN u',
    'FROM a AS c', 'COPY --from=b /x /x', 'RUN --mount=type=bind,from=0,target=/m true',
    'FROM scratch AS final', 'COPY --from=c /x /x',
  ].join('\n')));
  const id = (_s: unknown, r: string) => r;
  const p = planStages(df, undefined, id);
  assert.equal(p.target.name, 'final');
  assert.deepEqual(p.order, [0, 1, 3, 4]);
  assert.deepEqual(p.waves, [[0, 1], [3], [4]]);
  assert.deepEqual(p.deps.get(3), [0, 1]);
  const p2 = planStages(df, 'b', id);
  assert.deepEqual(p2.order, [1]);
  assert.throws(() => planStages(df, 'nope', id), /failed to reach build target nope in Dockerfile/);
});

test('stage refs: later stage names are images, numbers must be earlier', () => {
  const df = buildStages(parseDockerfile('FROM later AS first\nFROM busybox AS later\nCOPY --from=1 /a /b\n'));
  const id = (_s: unknown, r: string) => r;
  assert.deepEqual(planStages(df, 'first', id).deps.get(0), []);
  assert.throws(() => planStages(df, undefined, id), /invalid from flag value 1: refers to current or future build stage/);
});
