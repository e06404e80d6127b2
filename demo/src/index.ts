export { startDemoStack, type DemoStack, type DemoManifest, type DemoTenant, type DemoOptions } from './demo-stack.js';
export { DEMO_TENANTS, type DemoTenantSpec, type DemoProduct } from './demo-tenants.js';
export { productPath, imagePath } from './storefront-pages.js';
