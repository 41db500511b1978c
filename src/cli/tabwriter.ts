// Go's text/tabwriter as docker configures it for tables: NewWriter(out, 10, 1, 3, ' ', 0) —
// cells end at '\t', each column of a block of lines is as wide as its widest cell plus 3,
// at least 10, and the last cell of a line (no tab after it) is not aligned.

export interface TabwriterOptions {
  minWidth?: number;
  padding?: number;
}

function width(s: string): number {
  return [...s].length;
}

export function tabwrite(text: string, opts: TabwriterOptions = {}): string {
  const minWidth = opts.minWidth ?? 10;
  const padding = opts.padding ?? 3;
  const endsWithNewline = text.endsWith('\n');
  const lines = (endsWithNewline ? text.slice(0, -1) : text).split('\n').map((l) => l.split('\t'));
  const widths: number[][] = lines.map((cells) => new Array<number>(cells.length).fill(0));

  const format = (line0: number, line1: number, column: number): void => {
    for (let i = line0; i < line1; i++) {
      if (column >= lines[i]!.length - 1) continue;
      let w = minWidth;
      let j = i;
      for (; j < line1 && column < lines[j]!.length - 1; j++) w = Math.max(w, width(lines[j]![column]!) + padding);
      for (let k = i; k < j; k++) widths[k]![column] = w;
      format(i, j, column + 1);
      i = j - 1;
    }
  };
  format(0, lines.length, 0);

  const out = lines.map((cells, li) =>
    cells
      .map((c, ci) => (ci < cells.length - 1 ? c + ' '.repeat(Math.max(0, widths[li]![ci]! - width(c))) : c))
      .join(''),
  );
  return out.join('\n') + (endsWithNewline ? '\n' : '');
}
