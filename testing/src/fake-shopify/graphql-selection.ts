/**
 * Just enough of GraphQL for the fake Admin API: the selection set of a query document
 * (aliases, fragments and variables are not understood; a field's arguments are kept as
 * text), resolved against a plain object, and priced as Shopify prices a query (an
 * object costs 1, a scalar 0, a connection 2 plus `first` times its nodes' cost).
 */
export interface Selection {
  name: string;
  /** The field's arguments as written, without the parentheses; '' for none. */
  args: string;
  children: Selection[];
}

/** The top-level selections of the document's first operation. */
export function parseSelection(document: string): Selection[] {
  const tokens = document.replace(/#[^\n]*/g, ' ').match(/\([^)]*\)|[{}]|[A-Za-z_][A-Za-z0-9_]*/g);
  if (!tokens) throw new Error('empty document');
  let position = tokens.indexOf('{');
  if (position < 0) throw new Error('no selection set');
  const readSet = (): Selection[] => {
    const selections: Selection[] = [];
    position += 1;
    while (position < tokens.length && tokens[position] !== '}') {
      const name = tokens[position]!;
      if (name === '{' || name.startsWith('(')) throw new Error('a selection set without a field');
      position += 1;
      let args = '';
      if (tokens[position]?.startsWith('(')) {
        args = tokens[position]!.slice(1, -1).trim();
        position += 1;
      }
      const children = tokens[position] === '{' ? readSet() : [];
      selections.push({ name, args, children });
    }
    if (tokens[position] !== '}') throw new Error('unbalanced braces');
    position += 1;
    return selections;
  };
  return readSet();
}

/** The part of `value` the selections ask for; an unknown field is an error, as on Shopify. */
export function resolve(selections: Selection[], value: Record<string, unknown>, path: string[] = []): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const selection of selections) {
    if (selection.name === '__typename') {
      // Asked of a union or interface, the fake's objects say their type themselves.
      if ('__typename' in value) out.__typename = value.__typename;
      continue;
    }
    if (!(selection.name in value))
      throw new Error(`Field '${selection.name}' doesn't exist on type '${path.at(-1) ?? 'QueryRoot'}'`);
    const field = value[selection.name];
    const inner = (item: unknown) =>
      item === null ? null : resolve(selection.children, item as Record<string, unknown>, [...path, selection.name]);
    if (selection.children.length === 0) out[selection.name] = field;
    else out[selection.name] = Array.isArray(field) ? field.map(inner) : inner(field);
  }
  return out;
}

/**
 * Shopify's calculated cost of an operation: one point per object field, connections by
 * their `first`, and ten for each mutation field (plus what its payload selects).
 */
export function operationCost(document: string, selections: Selection[]): number {
  const mutation = /^\s*mutation\b/.test(document.replace(/#[^\n]*/g, ' '));
  return mutation ? selections.reduce((sum, s) => sum + 10 + queryCost(s.children), 0) : queryCost(selections);
}

/** Shopify's calculated cost of a query: one point per object field, connections by their `first`. */
export function queryCost(selections: Selection[]): number {
  return selections.reduce((sum, selection) => {
    if (selection.children.length === 0) return sum;
    const first = /\b(?:first|last):\s*([0-9]+)/.exec(selection.args)?.[1];
    if (first === undefined) return sum + 1 + queryCost(selection.children);
    // A connection: 2, plus each of the `first` objects it may return.
    return sum + 2 + Number(first) * Math.max(1, queryCost(selection.children));
  }, 0);
}
