import { EventEmitter } from 'node:events';
import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { classifyFault, installLastResort } from './last-resort.js';

const withCode = (code: string, message = code) => Object.assign(new Error(message), { code });

describe('classifyFault', () => {
  it.each([
    ['ECONNRESET', withCode('ECONNRESET', 'read ECONNRESET')],
    ['EPIPE', withCode('EPIPE', 'write EPIPE')],
    ['ECONNABORTED', withCode('ECONNABORTED')],
    [
      'a frame ws refused (WS_ERR_INVALID_UTF8)',
      withCode('WS_ERR_INVALID_UTF8', 'Invalid WebSocket frame: invalid UTF-8 sequence'),
    ],
    ['an oversized frame (WS_ERR_UNSUPPORTED_MESSAGE_LENGTH)', withCode('WS_ERR_UNSUPPORTED_MESSAGE_LENGTH')],
    ['an unmasked frame (WS_ERR_EXPECTED_MASK)', withCode('WS_ERR_EXPECTED_MASK')],
    ['an invalid close code (WS_ERR_INVALID_CLOSE_CODE)', withCode('WS_ERR_INVALID_CLOSE_CODE')],
  ])('an uncaught %s is survived', (_label, error) => {
    expect(classifyFault('uncaughtException', error)).toMatchObject({ survive: true });
  });

  it.each([
    ['a TypeError', new TypeError("Cannot read properties of undefined (reading 'id')")],
    ['an error with an unrelated code', withCode('ERR_ASSERTION')],
    ['EADDRINUSE', withCode('EADDRINUSE')],
    ['a thrown string', 'boom'],
    ['null', null],
    ['an error whose code is not a string', Object.assign(new Error('x'), { code: 104 })],
  ])('an uncaught %s exits', (_label, error) => {
    expect(classifyFault('uncaughtException', error)).toMatchObject({ survive: false });
  });

  it.each([
    ['an Error', new Error('database gone')],
    ['a TypeError', new TypeError('x is not a function')],
    ['undefined', undefined],
  ])('an unhandled rejection with %s is survived', (_label, reason) => {
    expect(classifyFault('unhandledRejection', reason)).toMatchObject({ survive: true });
  });
});

describe('installLastResort', () => {
  function setUp() {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString('utf8').split('\n').filter(Boolean))
          lines.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    const exits: number[] = [];
    // Node's process is an EventEmitter; a plain one stands in so the test process is left alone.
    const process = new EventEmitter();
    installLastResort({ process, log: pino({ level: 'info' }, sink), exit: (code) => exits.push(code) });
    return { process, lines, exits };
  }

  it('logs a peer socket error in one structured line and carries on', () => {
    const { process, lines, exits } = setUp();
    process.emit('uncaughtException', withCode('WS_ERR_INVALID_UTF8', 'Invalid WebSocket frame: invalid UTF-8 sequence'));
    expect(exits).toEqual([]);
    expect(lines).toEqual([
      expect.objectContaining({
        level: 50,
        msg: 'uncaughtException; carrying on',
        origin: 'uncaughtException',
        survive: true,
        err: expect.objectContaining({ code: 'WS_ERR_INVALID_UTF8', message: 'Invalid WebSocket frame: invalid UTF-8 sequence' }),
      }),
    ]);
  });

  it('logs an unhandled rejection and carries on', () => {
    const { process, lines, exits } = setUp();
    process.emit('unhandledRejection', new Error('database gone'), Promise.resolve());
    expect(exits).toEqual([]);
    expect(lines).toEqual([expect.objectContaining({ msg: 'unhandledRejection; carrying on', survive: true })]);
  });

  it('logs any other uncaught exception as fatal and exits with status 1', () => {
    const { process, lines, exits } = setUp();
    process.emit('uncaughtException', new TypeError("Cannot read properties of undefined (reading 'id')"));
    expect(exits).toEqual([1]);
    expect(lines).toEqual([
      expect.objectContaining({
        level: 60,
        msg: 'uncaughtException; exiting',
        survive: false,
        err: expect.objectContaining({ type: 'TypeError', message: "Cannot read properties of undefined (reading 'id')" }),
      }),
    ]);
  });
});
