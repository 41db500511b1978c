// The stage graph: which stage is the target, which stages feed it (FROM <stage>, COPY --from,
// RUN --mount from=), and in which waves they can run in parallel. Stages that do not feed the
// target are never built.
import { NotFoundError } from '../errors.js';
import { DockerfileSyntaxError } from './parser.js';
import { Dockerfile, Stage, parseRunMount } from './instructions.js';

/** Expands a stage reference (`--from=$X`) in the scope of the stage that makes it. */
export type RefExpander = (stage: Stage, ref: string) => string;

export type StageRef = { kind: 'stage'; index: number } | { kind: 'image'; ref: string } | { kind: 'scratch' } | { kind: 'context'; name: string };

export function targetStage(df: Dockerfile, target?: string): Stage {
  if (!target) return df.stages[df.stages.length - 1];
  const t = target.toLowerCase();
  const s = df.stages.find((st) => st.name === t);
  if (!s) throw new NotFoundError(`failed to reach build target ${target} in Dockerfile`);
  return s;
}

/**
 * What a name used in FROM or --from means inside stage `from` (index): an earlier stage by name
 * or number, a named build context, `scratch`, or else an image reference.
 */
export function resolveRef(df: Dockerfile, fromIndex: number, name: string, contexts: ReadonlySet<string> = new Set(), isFrom = false): StageRef {
  const lower = name.toLowerCase();
  if (contexts.has(name)) return { kind: 'context', name };
  const st = df.stages.find((s) => s.index < fromIndex && s.name !== '' && s.name === lower);
  if (st) return { kind: 'stage', index: st.index };
  if (!isFrom && /^\d+$/.test(name)) {
    const i = Number(name);
    if (i >= fromIndex) {
      throw new DockerfileSyntaxError(df.stages[fromIndex]?.startLine ?? 0, `invalid from flag value ${name}: refers to current or future build stage`);
    }
    return { kind: 'stage', index: i };
  }
  if (isFrom && lower === 'scratch') return { kind: 'scratch' };
  return { kind: 'image', ref: name };
}

/** Everything one stage refers to, with the line of each reference. */
export function stageRefs(df: Dockerfile, stage: Stage, expand: RefExpander, contexts: ReadonlySet<string> = new Set()): { ref: StageRef; line: number }[] {
  const out: { ref: StageRef; line: number }[] = [{ ref: resolveRef(df, stage.index, expand(stage, stage.base), contexts, true), line: stage.startLine }];
  for (const c of stage.commands) {
    if (c.kind === 'copy' && c.from !== '') out.push({ ref: resolveRef(df, stage.index, expand(stage, c.from), contexts), line: c.startLine });
    if (c.kind === 'run') {
      for (const m of c.mounts) {
        const parsed = parseRunMount(expand(stage, m));
        if (parsed.from !== '' && parsed.type !== 'secret' && parsed.type !== 'ssh') {
          out.push({ ref: resolveRef(df, stage.index, parsed.from, contexts), line: c.startLine });
        }
      }
    }
  }
  return out;
}

export interface StagePlan {
  target: Stage;
  /** Stage index → the stage indices it needs. */
  deps: Map<number, number[]>;
  /** Stages to build, in dependency order (target last). */
  order: number[];
  /** Waves of stages whose dependencies are all in earlier waves: each wave can run in parallel. */
  waves: number[][];
}

export function planStages(df: Dockerfile, target: string | undefined, expand: RefExpander, contexts: ReadonlySet<string> = new Set()): StagePlan {
  const t = targetStage(df, target);
  const deps = new Map<number, number[]>();
  const visit = (i: number) => {
    if (deps.has(i)) return;
    const ds = [...new Set(stageRefs(df, df.stages[i], expand, contexts).flatMap((r) => (r.ref.kind === 'stage' ? [r.ref.index] : [])))];
    deps.set(i, ds);
    for (const d of ds) visit(d);
  };
  visit(t.index);
  const depth = new Map<number, number>();
  const depthOf = (i: number): number => {
    const known = depth.get(i);
    if (known !== undefined) return known;
    const d = Math.max(-1, ...(deps.get(i) ?? []).map(depthOf)) + 1;
    depth.set(i, d);
    return d;
  };
  const order = [...deps.keys()].sort((a, b) => depthOf(a) - depthOf(b) || a - b);
  const waves: number[][] = [];
  for (const i of order) (waves[depthOf(i)] ??= []).push(i);
  return { target: t, deps, order, waves };
}
