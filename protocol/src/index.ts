/**
 * `@atelier/protocol`: the wire contract between the widget, the server, the runners
 * and tenants' backends. Types and constants only, with no runtime dependency, so the
 * widget can import it into its bundle; the zod schemas live under `./schemas`.
 */
export * from './generation.js';
export * from './presets.js';
export * from './style-library.js';
export * from './codes.js';
export * from './realtime.js';
export * from './runner.js';
export * from './image-frame.js';
export * from './rest.js';
export * from './tenant-config.js';
export * from './credentials.js';
export * from './backoff.js';
export * from './socket-url.js';
export * from './safetensors.js';
export * from './lora.js';
export * from './widget-files.js';
export * from './embed.js';
export * from './webhooks.js';
