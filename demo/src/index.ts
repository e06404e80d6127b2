export { startDemoStack, type DemoStack, type DemoManifest, type DemoTenant, type DemoOptions } from './demo-stack.js';
