// keepPendingWaits: a read wait never drops a write wait on serialport's poller (the cause of stalled pty writes).
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { keepPendingWaits } from '../../../../engine/transports/serial/serial-port';

/**
 * A stand-in for @serialport/bindings-cpp's JS Poller over its native one: `once` polls then listens, as the real
 * one does, and `started` is what uv_poll_start was last given (each call replaces the last, as libuv does). The
 * real native poller cannot be observed from JavaScript, hence the fake; the pty test runs the real one.
 */
class FakePoller extends EventEmitter {
  started = 0;
  poll(flags = 0): void {
    this.started = flags;
  }
  override once(event: string, cb: (...a: unknown[]) => void): this {
    this.poll(event === 'readable' ? 1 : event === 'writable' ? 2 : 4);
    return super.once(event, cb);
  }
}

describe('serial port poller waits', () => {
  it('keeps a pending write wait when a read starts waiting, and the other way round', () => {
    const p = new FakePoller();
    keepPendingWaits(p);
    p.once('writable', () => undefined); // a write got EAGAIN on a full line
    p.once('readable', () => undefined); // then the reader drained its data and waits again
    assert.equal(p.started & 2, 2, 'the write still waits for writable');
    assert.equal(p.started & 1, 1);
    p.emit('writable');
    p.once('writable', () => undefined);
    assert.equal(p.started, 3, 'the read still waits for readable');
  });

  it('asks only for what is waited for', () => {
    const p = new FakePoller();
    keepPendingWaits(p);
    p.once('readable', () => undefined);
    assert.equal(p.started, 1);
    p.emit('readable');
    p.once('readable', () => undefined);
    assert.equal(p.started, 1);
  });
});
