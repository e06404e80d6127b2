import { AtelierStudio } from './atelier-studio.component.js';

export const TAG_NAME = 'atelier-studio';

/**
 * Registers `<atelier-studio>` unless something already did. A storefront may load
 * the script twice (a theme block plus an app embed, say), and each copy is its own
 * module with its own class; a second `customElements.define` would throw.
 * Returns the class that ended up registered.
 */
export function define(registry: CustomElementRegistry = customElements): CustomElementConstructor {
  const existing = registry.get(TAG_NAME);
  if (existing) return existing;
  registry.define(TAG_NAME, AtelierStudio);
  return AtelierStudio;
}

// Loading the script is enough to use the tag; outside a browser (SSR, node tests)
// there is no registry and importing stays harmless.
if (typeof customElements !== 'undefined') define();
