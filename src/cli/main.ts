#!/usr/bin/env node
import { run } from './program.js';

// Exit at once on failure: a half-opened store or pool must not keep a failed command alive.
// On success the process ends by itself (and `serve` keeps running).
const code = await run(process.argv.slice(2));
if (code !== 0) process.exit(code);
