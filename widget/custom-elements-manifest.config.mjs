// `dist/custom-elements.json` (the Custom Elements Manifest that editors, Storybook and
// linters read), written by `npm run bundle` after rollup. The analyzer parses the
// TypeScript sources (with its own pinned TypeScript: it reads syntax only, so the
// repo's compiler version does not matter) and the Lit plugin reads `@property`
// decorators as attributes; the element's JSDoc tags (@tagname, @fires, @csspart,
// @cssproperty) fill in the rest.

/**
 * Paths in the manifest name what the package ships (`dist/….js`), not the sources,
 * which are not published.
 */
const toDist = (path) => path.replace(/^src\//, 'dist/').replace(/\.ts$/, '.js');

/** Rewrites every `path` and `module` reference to the published file. */
function publishedPaths() {
  const rewrite = (node) => {
    if (Array.isArray(node)) return node.forEach(rewrite);
    if (!node || typeof node !== 'object') return;
    for (const [key, value] of Object.entries(node)) {
      if ((key === 'path' || key === 'module') && typeof value === 'string') node[key] = toDist(value);
      else rewrite(value);
    }
  };
  return { name: 'atelier-published-paths', packageLinkPhase: ({ customElementsManifest }) => rewrite(customElementsManifest) };
}

/** Private members are the element's internals, not its API. */
function publicMembersOnly() {
  return {
    name: 'atelier-public-members-only',
    packageLinkPhase: ({ customElementsManifest }) => {
      for (const module of customElementsManifest.modules) {
        for (const declaration of module.declarations ?? []) {
          if (declaration.members) declaration.members = declaration.members.filter((member) => member.privacy !== 'private');
        }
      }
    },
  };
}

/**
 * The analyzer also records `this.dispatchEvent(new AtelierErrorEvent(…))` as an event
 * without a name (it cannot read the name out of our event classes); the `@fires` tags
 * already describe every event, with its class as the type.
 */
function namedEventsOnly() {
  return {
    name: 'atelier-named-events-only',
    packageLinkPhase: ({ customElementsManifest }) => {
      for (const module of customElementsManifest.modules) {
        for (const declaration of module.declarations ?? []) {
          if (declaration.events) declaration.events = declaration.events.filter((event) => event.name);
        }
      }
    },
  };
}

/**
 * `define()` registers the element under a constant, which the analyzer cannot follow;
 * the declaration's `@tagname` can, so the definition export is added from it.
 */
function definitionExports() {
  return {
    name: 'atelier-definition-exports',
    packageLinkPhase: ({ customElementsManifest }) => {
      const { modules } = customElementsManifest;
      const defined = modules.some((module) => module.exports?.some((entry) => entry.kind === 'custom-element-definition'));
      if (defined) return;
      for (const module of modules) {
        for (const declaration of module.declarations ?? []) {
          if (!declaration.customElement || !declaration.tagName) continue;
          (module.exports ??= []).push({
            kind: 'custom-element-definition',
            name: declaration.tagName,
            declaration: { name: declaration.name, module: module.path },
          });
        }
      }
    },
  };
}

export default {
  // The package's public modules: the entry, the element and its events, and what the entry
  // re-exports from elsewhere. Internals (job state, styles, locales) are not described.
  globs: [
    'src/index.ts',
    'src/atelier-studio/atelier-studio.ts',
    'src/atelier-studio/atelier-studio.component.ts',
    'src/events/*.ts',
    'src/realtime/realtime-client.ts',
    'src/i18n/translator.ts',
  ],
  outdir: 'dist',
  litelement: true,
  // The package.json names the manifest itself (`customElements`); the build must not edit it.
  packagejson: false,
  quiet: true,
  plugins: [namedEventsOnly(), publicMembersOnly(), definitionExports(), publishedPaths()],
};
