export * from './generation.js';
export * from './realtime.js';
export * from './runner.js';
export * from './aspect-ratios.js';
