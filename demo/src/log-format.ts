const LEVELS: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };

/** Turns a child's pino JSON line into one short readable line; other lines pass through. */
export function formatLogLine(name: string, line: string): string {
  try {
    const {
      level,
      time,
      msg,
      module,
      pid: _pid,
      hostname: _hostname,
      service: _service,
      name: _name,
      v: _v,
      ...rest
    } = JSON.parse(line) as Record<string, unknown>;
    const clock = new Date(typeof time === 'number' ? time : Date.now()).toTimeString().slice(0, 8);
    const extra = Object.entries(rest)
      .filter(([, value]) => typeof value !== 'object')
      .map(([key, value]) => `${key}=${String(value)}`)
      .join(' ');
    const tag = typeof module === 'string' ? `[${module}] ` : '';
    const text = typeof msg === 'string' ? msg : '';
    return `${clock} ${name.padEnd(8)} ${(LEVELS[level as number] ?? '').padEnd(5)} ${tag}${text}${extra ? `  ${extra}` : ''}`;
  } catch {
    return `${name.padEnd(8)} ${line}`;
  }
}
