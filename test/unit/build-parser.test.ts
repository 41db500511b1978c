import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDockerfile, parseWords, DockerfileSyntaxError } from '../../src/build/parser.js';
import { buildStages, instructionFromNode, parseRunMount, parseDuration, InstructionOf } from '../../src/build/instructions.js';

function nodes(text: string) {
  return parseDockerfile(text).nodes.map((n) => ({ cmd: n.cmd, args: n.args, json: n.json, flags: n.flags, start: n.startLine, end: n.endLine }));
}

function parseErr(text: string): DockerfileSyntaxError {
  try {
    buildStages(parseDockerfile(text));
  } catch (e) {
    assert.ok(e instanceof DockerfileSyntaxError, `expected a syntax error, got ${String(e)}`);
    return e;
  }
  assert.fail('expected an error');
}

test('every instruction, with line numbers', () => {
  const df = [
    '# syntax=docker/dockerfile:1',
    'ARG BASE=busybox',
    'FROM $BASE AS build',
    'RUN echo hi',
    'CMD ["sh", "-c", "echo"]',
    'LABEL a=b "c d"="e f"',
    'EXPOSE 80/tcp 53/udp',
    'ENV A=1 B="two words"',
    'ADD a.tar /x/',
    'COPY --chown=1:2 --chmod=644 a b /dst/',
    'ENTRYPOINT exec app',
    'VOLUME ["/data", "/logs"]',
    'USER nobody',
    'WORKDIR /app',
    'ONBUILD RUN echo child',
    'STOPSIGNAL SIGTERM',
    'HEALTHCHECK --interval=5s CMD wget -q localhost',
    'SHELL ["/bin/bash", "-c"]',
    'MAINTAINER someone',
  ].join('\n');
  const got = nodes(df);
  assert.deepEqual(got.map((n) => n.cmd), ['arg', 'from', 'run', 'cmd', 'label', 'expose', 'env', 'add', 'copy', 'entrypoint', 'volume',
    'user', 'workdir', 'onbuild', 'stopsignal', 'healthcheck', 'shell', 'maintainer']);
  assert.deepEqual(got.map((n) => n.start), [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
  assert.deepEqual(got[3], { cmd: 'cmd', args: ['sh', '-c', 'echo'], json: true, flags: [], start: 5, end: 5 });
  assert.deepEqual(got[4].args, ['a', 'b', '=', '"c d"', '"e f"', '=']);
  assert.deepEqual(got[8].flags, ['--chown=1:2', '--chmod=644']);
  assert.deepEqual(got[8].args, ['a', 'b', '/dst/']);
  const { stages, metaArgs } = buildStages(parseDockerfile(df));
  assert.equal(metaArgs.length, 1);
  assert.equal(stages.length, 1);
  assert.equal(stages[0].name, 'build');
  assert.equal(stages[0].base, '$BASE');
  const hc = stages[0].commands.find((c) => c.kind === 'healthcheck') as InstructionOf<'healthcheck'>;
  assert.deepEqual(hc.test, ['CMD-SHELL', 'wget -q localhost']);
  assert.equal(hc.interval, 5e9);
  const ep = stages[0].commands.find((c) => c.kind === 'entrypoint') as InstructionOf<'entrypoint'>;
  assert.deepEqual(ep.cmdLine, ['exec app']);
  assert.equal(ep.prependShell, true);
  const exp = stages[0].commands.find((c) => c.kind === 'expose') as InstructionOf<'expose'>;
  assert.deepEqual(exp.ports, ['53/udp', '80/tcp']);
});

test('continuations, comments inside them, blank lines, CRLF', () => {
  const got = nodes('FROM busybox\r\nRUN echo a \\\r\n  # a comment\r\n  b \\\r\n\r\n  c\r\n\r\nRUN x\r\n');
  assert.equal(got[1].args[0], 'echo a   b   c');
  assert.equal(got[1].start, 2);
  assert.equal(got[1].end, 6);
  assert.equal(got[2].start, 8);
  const r = parseDockerfile('FROM a\nRUN a \\\n\n b\n');
  assert.equal(r.warnings.length, 1);
});

test('continuation at EOF and escaped escape', () => {
  const got = nodes('FROM a\nRUN echo \\');
  assert.equal(got[1].args[0], 'echo');
});

test('escape directive switches the escape and continuation token', () => {
  const r = parseDockerfile('# escape=`\nFROM a\nRUN dir c:\\ `\n  && echo\n');
  assert.equal(r.escapeToken, '`');
  assert.equal(r.nodes[1].args[0], 'dir c:\\   && echo');
  assert.equal(r.directives.escape, '`');
});

test('directives only count before anything else', () => {
  const r = parseDockerfile('# hello\n# escape=`\nFROM a\nRUN a \\\n b\n');
  assert.equal(r.escapeToken, '\\');
  assert.equal(r.nodes[1].args[0], 'a  b');
  assert.throws(() => parseDockerfile('# escape=x\nFROM a'), /line 1: invalid escape token 'x' does not match ` or \\/);
  assert.throws(() => parseDockerfile('# escape=`\n# escape=\\\nFROM a'), /line 2: only one escape parser directive can be used/);
});

test('JSON form: invalid JSON falls back to shell form, non-strings fail', () => {
  assert.deepEqual(nodes('FROM a\nCMD [ "a", ]')[1], { cmd: 'cmd', args: ['[ "a", ]'], json: false, flags: [], start: 2, end: 2 });
  const e = parseErr('FROM a\nCMD ["a", 1]');
  assert.equal(e.message, 'dockerfile parse error on line 2: when using JSON array syntax, arrays must be comprised of strings only');
});

test('heredocs: RUN, COPY, chomp, quoted terminator, several on one line', () => {
  const df = 'FROM a\nRUN <<EOF\necho hi\necho $HOME\nEOF\nCOPY <<-"END" /f\n\tline1\n\tline2\n\tEND\nRUN cat <<A > /a && cat <<B > /b\n1\nA\n2\nB\nRUN echo done\n';
  const r = parseDockerfile(df);
  const [, run, copy, two, last] = r.nodes;
  assert.deepEqual(run.heredocs, [{ name: 'EOF', expand: true, chomp: false, fileDescriptor: 0, content: 'echo hi\necho $HOME\n' }]);
  assert.equal(run.startLine, 2);
  assert.equal(run.endLine, 5);
  assert.equal(copy.heredocs[0].expand, false);
  assert.equal(copy.heredocs[0].chomp, true);
  assert.deepEqual(two.heredocs.map((h) => [h.name, h.content]), [['A', '1\n'], ['B', '2\n']]);
  assert.equal(last.startLine, 15);
  const { stages } = buildStages(r);
  const c = stages[0].commands[1] as InstructionOf<'copy'>;
  assert.deepEqual(c.contents, [{ path: 'END', data: 'line1\nline2\n', expand: false }]);
  assert.equal(c.dest, '/f');
  assert.deepEqual(c.sources, []);
});

test('heredoc in exec form is not a heredoc; unterminated heredoc names its line', () => {
  assert.deepEqual(parseDockerfile('FROM a\nRUN ["cat", "<<EOF"]\n').nodes[1].heredocs, []);
  const e = parseErr('FROM a\nRUN echo ok\nRUN <<EOF\necho\n');
  assert.equal(e.line, 3);
  assert.match(e.message, /line 3: unterminated heredoc/);
  assert.throws(() => buildStages(parseDockerfile('FROM a\nCOPY a <<EOF\nx\nEOF\n')), /line 2: COPY cannot accept a heredoc as a destination/);
});

test('Docker error texts with line numbers', () => {
  assert.equal(parseErr('FROM a\n\nFOO bar\n').message, 'dockerfile parse error on line 3: unknown instruction: FOO');
  assert.equal(parseErr('FROM a\nRUNN x').message, 'dockerfile parse error on line 2: unknown instruction: RUNN (did you mean run?)');
  assert.equal(parseErr('RUN echo\n').message, 'dockerfile parse error on line 1: no build stage in current context');
  assert.equal(parseErr('ARG X\nLABEL a=b\n').line, 2);
  assert.equal(parseErr('FROM a b').message, 'dockerfile parse error on line 1: FROM requires either one or three arguments');
  assert.match(parseErr('FROM a AS 1x').message, /invalid name for build stage: "1x", name can't start with a number or contain symbols/);
  assert.equal(parseErr('FROM a\nCOPY x').message,
    'dockerfile parse error on line 2: COPY requires at least two arguments, but only one was provided. Destination could not be determined');
  assert.equal(parseErr('FROM a\nENV X').message, 'dockerfile parse error on line 2: ENV must have two arguments');
  assert.equal(parseErr('FROM a\nENV X=1 Y').message,
    'dockerfile parse error on line 2: Syntax error - can\'t find = in "Y". Must be of the form: name=value');
  assert.equal(parseErr('FROM a\nCOPY --nope=1 a b').message, 'dockerfile parse error on line 2: unknown flag: nope');
  assert.equal(parseErr('FROM a\nCOPY --from a b').message, 'dockerfile parse error on line 2: missing a value on flag: from');
  assert.equal(parseErr('FROM a\nWORKDIR').message, 'dockerfile parse error on line 2: WORKDIR requires exactly one argument');
  assert.equal(parseErr('FROM a\nSHELL sh -c').message, 'dockerfile parse error on line 2: SHELL requires the arguments to be in JSON form');
  assert.equal(parseErr('FROM a\nONBUILD ONBUILD RUN x').message,
    'dockerfile parse error on line 2: Chaining ONBUILD via `ONBUILD ONBUILD` isn\'t allowed');
  assert.equal(parseErr('FROM a\nONBUILD FROM x').message, 'dockerfile parse error on line 2: FROM isn\'t allowed as an ONBUILD trigger');
  assert.equal(parseErr('FROM a\nHEALTHCHECK FOO x').message, 'dockerfile parse error on line 2: Unknown type "FOO" in HEALTHCHECK (try CMD)');
  assert.equal(parseErr('FROM a\nHEALTHCHECK NONE x').message, 'dockerfile parse error on line 2: HEALTHCHECK NONE takes no arguments');
  assert.equal(parseErr('FROM a\nRUN --mount=type=foo,target=/x true').message, 'dockerfile parse error on line 2: unsupported mount type "foo"');
  assert.equal(parseErr('FROM a\nRUN --network=bridge true').message, 'dockerfile parse error on line 2: unsupported network mode "bridge"');
  assert.throws(() => parseDockerfile('# just a comment\n\n'), /file with no instructions/);
});

test('flags: --from, --link, --checksum, --platform, repeated --mount', () => {
  const { stages } = buildStages(parseDockerfile([
    'FROM --platform=linux/amd64 busybox AS a',
    'FROM a',
    'COPY --from=a --link /x /y',
    'ADD --checksum=sha256:abc http://h/f /f',
    'RUN --mount=type=cache,target=/c --mount=type=secret,id=tok --network=none true',
  ].join('\n')));
  assert.equal(stages[0].platform, 'linux/amd64');
  const [copy, add, run] = stages[1].commands as [InstructionOf<'copy'>, InstructionOf<'add'>, InstructionOf<'run'>];
  assert.equal(copy.from, 'a');
  assert.equal(copy.link, true);
  assert.equal(add.checksum, 'sha256:abc');
  assert.deepEqual(run.mounts, ['type=cache,target=/c', 'type=secret,id=tok']);
  assert.equal(run.network, 'none');
});

test('RUN --mount parsing and defaults', () => {
  assert.deepEqual(parseRunMount('type=cache,target=/root/.cache,sharing=locked,mode=0755,uid=1000'), {
    type: 'cache', target: '/root/.cache', source: '', from: '', readOnly: false, id: '/root/.cache', sharing: 'locked', mode: 0o755, uid: 1000,
    required: false, env: '',
  });
  const s = parseRunMount('type=secret,id=tok');
  assert.equal(s.target, '/run/secrets/tok');
  assert.equal(s.readOnly, true);
  const b = parseRunMount('target=/src,from=build,source=/out,rw');
  assert.equal(b.type, 'bind');
  assert.equal(b.readOnly, false);
  assert.equal(b.from, 'build');
  assert.throws(() => parseRunMount('type=bind'), /mount type bind requires target/);
  assert.throws(() => parseRunMount('type=cache,target=/x,bogus=1'), /unexpected key 'bogus' in 'bogus=1'/);
  assert.deepEqual(parseRunMount('type=bind,"target=/a,b"').target, '/a,b');
});

test('parseWords keeps quotes; ONBUILD keeps its trigger', () => {
  assert.deepEqual(parseWords('a "b c" d\\ e', '\\'), ['a', '"b c"', 'd\\ e']);
  const n = parseDockerfile('FROM a\nONBUILD COPY . /app').nodes[1];
  assert.equal(n.sub?.cmd, 'copy');
  const inst = instructionFromNode(n) as InstructionOf<'onbuild'>;
  assert.equal(inst.expression, 'COPY . /app');
  assert.equal(parseDuration('1m30s'), 90e9);
  assert.throws(() => parseDuration('5x'), /invalid duration/);
});

test('BOM and lower-case instructions', () => {
  const got = nodes('\ufefffrom a as B\nrun x');
  assert.deepEqual(got.map((n) => n.cmd), ['from', 'run']);
  assert.equal(buildStages(parseDockerfile('from a as B')).stages[0].name, 'b');
});
