import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { REALTIME_CLOSE, RUNNER_CLOSE } from '@atelier/protocol';
import {
  clientMessageSchema,
  imageFrameHeaderSchema,
  runnerMessageSchema,
  serverMessageSchema,
  serverToRunnerMessageSchema,
} from '@atelier/protocol/schemas';

/**
 * docs/realtime-protocol.md against the protocol package: every message type of either
 * socket (read from the schemas the server parses with) and every close code must be
 * described in that socket's section.
 */
const document = await readFile(new URL('../docs/realtime-protocol.md', import.meta.url), 'utf8');
const widgetSection = document.slice(document.indexOf('## Widget socket'), document.indexOf('## Runner socket'));
const runnerSection = document.slice(document.indexOf('## Runner socket'));

/** The `type` literals of a discriminated union of message schemas. */
function messageTypes(union: { options: readonly z.ZodObject[] }): string[] {
  return union.options.flatMap((option) => [...(option.shape.type as z.ZodLiteral<string>).values]);
}

/**
 * Whether the section's message table has a row for `type`, as `` `type {…}` `` or
 * `` `type` `` (cells may be padded: Prettier aligns tables).
 */
function describesMessage(section: string, type: string): boolean {
  return new RegExp(`^\\|\\s*[←→]\\s*\\|\\s*\`${type}( \\{[^\`]*\\})?\``, 'm').test(section);
}

/** Whether the section's close-code table has a row for `code`. */
function describesCloseCode(section: string, code: number): boolean {
  return new RegExp(`^\\|\\s*(\\d+, )*${code}(, \\d+)*\\s*\\|`, 'm').test(section);
}

/** What `ws` itself closes with on a broken (1002), non-UTF-8 (1007) or oversized (1009) frame. */
const WS_CLOSE_CODES = [1002, 1007, 1009];

describe('docs/realtime-protocol.md', () => {
  it('found both sockets', () => {
    expect(widgetSection.length).toBeGreaterThan(1000);
    expect(runnerSection.length).toBeGreaterThan(1000);
  });

  it.each([
    ['widget → server', () => widgetSection, messageTypes(clientMessageSchema)],
    ['server → widget', () => widgetSection, messageTypes(serverMessageSchema)],
    ['runner → server', () => runnerSection, messageTypes(runnerMessageSchema)],
    ['server → runner', () => runnerSection, messageTypes(serverToRunnerMessageSchema)],
  ])('describes every %s message', (_direction, section, types) => {
    expect(types.length).toBeGreaterThan(3);
    expect(types.filter((type) => !describesMessage(section(), type))).toEqual([]);
  });

  it('describes the binary image frame and its header', () => {
    const [type] = [...imageFrameHeaderSchema.shape.type.values];
    expect(runnerSection).toContain(
      `header \`{type: "${type}", ${Object.keys(imageFrameHeaderSchema.shape)
        .filter((key) => key !== 'type')
        .join(', ')}}\``,
    );
  });

  it.each([
    ['widget', () => widgetSection, [...Object.values(REALTIME_CLOSE), ...WS_CLOSE_CODES]],
    ['runner', () => runnerSection, [...Object.values(RUNNER_CLOSE), ...WS_CLOSE_CODES]],
  ])('describes every close code of the %s socket', (_socket, section, codes) => {
    expect(codes.filter((code) => !describesCloseCode(section(), code))).toEqual([]);
  });
});
