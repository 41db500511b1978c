#!/usr/bin/env node
// Entry point for the `berth` executable: bin/berth imports this file.
import { main } from './main.js';

// a closed pipe on stdout (`berth export c | head`) ends us quietly, as SIGPIPE ends docker
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(141);
});

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
    process.exit(1);
  },
);
