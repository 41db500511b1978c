// Go text/template as docker's --format uses it: output must match what Go prints.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { render, Template, TemplateSyntaxError, TemplateExecError, markGoMap } from '../../src/cli/template/index.js';

const inspect = {
  Id: 'abc',
  Name: '/web',
  State: { Status: 'running', Running: true, Paused: false, Pid: 42, ExitCode: 0 },
  Config: { Env: ['PATH=/bin', 'A=1'], Cmd: ['sh', '-c', 'echo hi'], Labels: { z: '1', a: '2' }, ExposedPorts: { '80/tcp': {} } },
  HostConfig: { Memory: 67108864, NanoCpus: 500000000, Binds: null },
  Ratio: 0.5,
};

const cases: Array<[string, string]> = [
  ['{{.State.Running}}', 'true'],
  ['{{.State.Paused}}', 'false'],
  ['{{.State.Pid}}', '42'],
  ['{{.HostConfig.Memory}}', '67108864'],
  ['{{.Ratio}}', '0.5'],
  ['{{.Name}}', '/web'],
  ['{{.Config.Env}}', '[PATH=/bin A=1]'],
  ['{{.Config.Labels}}', 'map[a:2 z:1]'],
  ['{{.Config.ExposedPorts}}', 'map[80/tcp:{}]'],
  ['{{json .Config.Cmd}}', '["sh","-c","echo hi"]'],
  ['{{json .State}}', '{"Status":"running","Running":true,"Paused":false,"Pid":42,"ExitCode":0}'],
  ['{{json .HostConfig.Binds}}', 'null'],
  ['{{range .Config.Env}}[{{.}}]{{end}}', '[PATH=/bin][A=1]'],
  ['{{range $i, $e := .Config.Cmd}}{{$i}}={{$e}};{{end}}', '0=sh;1=-c;2=echo hi;'],
  ['{{range $k, $v := .Config.Labels}}{{$k}}:{{$v}} {{end}}', 'a:2 z:1 '],
  ['{{range .Missing}}x{{else}}empty{{end}}', 'empty'],
  ['{{if .State.Running}}up{{else}}down{{end}}', 'up'],
  ['{{if .State.Paused}}p{{else if .State.Running}}r{{else}}x{{end}}', 'r'],
  ['{{if and .State.Running (eq .State.Status "running")}}yes{{end}}', 'yes'],
  ['{{if or .State.Paused .State.Running}}yes{{end}}', 'yes'],
  ['{{if not .State.Paused}}yes{{end}}', 'yes'],
  ['{{with .State}}{{.Status}}{{end}}', 'running'],
  ['{{index .Config.Labels "a"}}', '2'],
  ['{{index .Config.Cmd 1}}', '-c'],
  ['{{index .Config.Labels "nope"}}', ''],
  ['{{join .Config.Cmd " "}}', 'sh -c echo hi'],
  ['{{lower "ABC"}} {{upper "abc"}} {{title "hello world"}}', 'abc ABC Hello World'],
  ['{{split "a,b" ","}}', '[a b]'],
  ['{{len .Config.Env}}', '2'],
  ['{{println "a" "b"}}', 'a b\n'],
  ['{{print "a" 1 2 "b"}}', 'a1 2b'],
  ['{{printf "%s=%d %v %q %5s|%-4s|" "x" 3 true "q" "r" "l"}}', 'x=3 true "q"     r|l   |'],
  ['{{.State.Status | upper}}', 'RUNNING'],
  ['{{.Config.Cmd | len}}', '3'],
  ['{{$x := .Name}}{{$x}}', '/web'],
  ['{{$x := 1}}{{if true}}{{$x = 2}}{{end}}{{$x}}', '2'],
  ['a {{- " b " -}} c', 'a b c'],
  ['{{/* comment */}}ok', 'ok'],
  ['{{"quoted\\t"}}', 'quoted\t'],
  ['{{`raw\\t`}}', 'raw\\t'],
  ['{{eq 1 1 2}} {{ne "a" "b"}} {{lt 1 2}} {{ge 2 2}}', 'true true true true'],
  ['{{pad "x" 1 2}}|', ' x  |'],
  ['{{truncate "abcdef" 3}}', 'abc'],
  ['{{.Missing}}', '<no value>'],
  ['{{(index .Config.Cmd 0)}}', 'sh'],
  ['{{range .Config.Cmd}}{{if eq . "-c"}}{{break}}{{end}}{{.}}{{end}}', 'sh'],
  ['{{range .Config.Cmd}}{{if eq . "-c"}}{{continue}}{{end}}{{.}}{{end}}', 'shecho hi'],
  ['{{define "t"}}<{{.}}>{{end}}{{template "t" .Name}}', '</web>'],
  ['{{slice "abcdef" 1 3}}', 'bc'],
];

for (const [src, want] of cases) {
  test(`template ${JSON.stringify(src)}`, () => {
    assert.equal(render(src, inspect), want);
  });
}

test('structs print as {v v}, maps keep map[] even with capitalised keys', () => {
  assert.equal(render('{{.State}}', inspect), '{running true false 42 0}');
  assert.equal(render('{{.L}}', { L: markGoMap({ B: 'x', A: 'y' }) }), 'map[A:y B:x]');
});

test('null prints <nil>, floats print like Go', () => {
  assert.equal(render('{{.X}}', { X: null }), '<nil>');
  assert.equal(render('{{.X}}', { X: 1e21 }), '1e+21');
  assert.equal(render('{{.X}}', { X: 0.00001 }), '1e-05');
});

test('method-style fields on context objects take arguments', () => {
  class Ctx {
    get ID(): string {
      return 'id1';
    }
    Label(n: unknown): string {
      return `label-${String(n)}`;
    }
  }
  assert.equal(render('{{.ID}} {{.Label "x"}}', new Ctx()), 'id1 label-x');
  assert.throws(() => render('{{.Nope}}', new Ctx()), /can't evaluate field Nope in type \*formatter.Ctx/);
});

test('missingkey=error as docker inspect falls back to', () => {
  const t = new Template('{{.Nope}}', {}, { missingKey: 'error' });
  assert.throws(() => t.execute({}), /map has no entry for key "Nope"/);
});

test('parse errors read like Go', () => {
  assert.throws(() => render('{{nofunc}}', {}), (e: Error) => e instanceof TemplateSyntaxError && /function "nofunc" not defined/.test(e.message));
  assert.throws(() => render('{{.A', {}), /unclosed action/);
  assert.throws(() => render('{{if .A}}x', {}), /unexpected EOF/);
  assert.throws(() => render('{{end}}', {}), /unexpected \{\{end\}\}/);
  assert.throws(() => render('{{$x}}', {}), /undefined variable "\$x"/);
  assert.throws(() => render('{{"abc}}', {}), /unterminated quoted string/);
  // Tokens as Go's item.String() prints them, and words that run into a bad character.
  assert.throws(() => render('{{json.}}', {}), { message: 'template: :1: unexpected <.> in operand' });
  assert.throws(() => render('{{.A"x"}}', {}), { message: `template: :1: bad character U+0022 '"'` });
  assert.throws(() => render('{{$x=1}}', {}), { message: "template: :1: bad character U+003D '='" });
});

test('error columns count from 0 on each line, as Go\'s ErrorContext does', () => {
  class Ctx {}
  const at = (src: string) => { try { render(src, new Ctx()); } catch (e) { return /:(\d+:\d+):/.exec((e as Error).message)?.[1]; } return undefined; };
  assert.equal(at('{{.Nope}}'), '1:2');
  assert.equal(at('ab{{.Nope}}'), '1:4');
  assert.equal(at('a\n{{.Nope}}'), '2:2');
});

test('exec errors name the failing action', () => {
  assert.throws(
    () => render('{{.A.B}}', { A: null }),
    (e: Error) => e instanceof TemplateExecError && /executing "" at <\.A\.B>: nil pointer evaluating interface \{\}\.B/.test(e.message),
  );
  assert.throws(() => render('{{index .A 5}}', { A: [1] }), /error calling index: index out of range: 5/);
  assert.throws(() => render('{{.A.B}}', { A: 'str' }), /can't evaluate field B in type string/);
});
