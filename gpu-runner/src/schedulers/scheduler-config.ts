/**
 * Reading a diffusers `scheduler_config.json` into a port's camelCase config, the way
 * `SchedulerClass.from_config(config, **overrides)` does: keys the scheduler does not have
 * are ignored (SDXL's Euler config carries DDIM/PNDM keys), missing ones take the
 * constructor defaults, and values this port does not implement are refused by name.
 */

export interface ConfigRules<C> {
  /** The allowed values of enumerated options. */
  allowed?: { [K in keyof C]?: readonly C[K][] };
  /** snake_case options whose given value the port does not implement. */
  unsupported?: readonly (readonly [string, unknown])[];
}

export function readSchedulerConfig<C extends object>(
  name: string,
  json: Readonly<Record<string, unknown>>,
  defaults: C,
  rules: ConfigRules<C> = {},
): C {
  for (const [key, value] of rules.unsupported ?? []) {
    if (json[key] === value) throw new Error(`${name}: ${key}=${JSON.stringify(value)} is not supported`);
  }
  const config = { ...defaults };
  for (const key of Object.keys(defaults) as (keyof C & string)[]) {
    const value = json[snake(key)];
    if (value === undefined || (value === null && defaults[key] !== null)) continue;
    const fallback = defaults[key];
    const ok =
      fallback === null
        ? value === null || Array.isArray(value)
        : typeof value === typeof fallback && (typeof value !== 'number' || Number.isFinite(value));
    if (!ok) throw new Error(`${name}: ${snake(key)} must be a ${fallback === null ? 'list or null' : typeof fallback}`);
    const allowed = rules.allowed?.[key] as readonly unknown[] | undefined;
    if (allowed && !allowed.includes(value)) {
      throw new Error(
        `${name}: ${snake(key)}=${JSON.stringify(value)} is not supported (${allowed.map((a) => JSON.stringify(a)).join(', ')})`,
      );
    }
    (config as Record<string, unknown>)[key] = value;
  }
  return config;
}

function snake(camel: string): string {
  return camel.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}
