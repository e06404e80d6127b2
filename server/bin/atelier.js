#!/usr/bin/env node
// Kept outside dist/ so that npm can link the `atelier` command at install time,
// before anything is built. A CLI reports through its output; logs only warn.
process.env.LOG_LEVEL ??= 'warn';
await import('../dist/cli/main.js');
