// The bus: events sent before the collector (telemetry) subscribes wait for it, bounded.
import test from 'ava';
import { Bus, type AgentEvent } from '../../agent/daemon/bus.js';

const event = (i: number): AgentEvent => ({ name: 'test.event', severity: 'info', attributes: { i } });

test('events sent before anyone listens go to the first subscriber, in order; later ones directly', (t) => {
  const bus = new Bus();
  bus.event(event(1));
  bus.event(event(2));
  const got: number[] = [];
  bus.onEvent((e) => got.push(e.attributes.i as number));
  bus.event(event(3));
  t.deepEqual(got, [1, 2, 3]);
  const second: number[] = [];
  bus.onEvent((e) => second.push(e.attributes.i as number));
  bus.event(event(4));
  t.deepEqual(second, [4], 'a later subscriber gets no replay');
  t.deepEqual(got, [1, 2, 3, 4]);
});

test('at most pendingLimit events wait; the oldest are dropped and counted', (t) => {
  const bus = new Bus();
  for (let i = 0; i < Bus.pendingLimit + 5; i++) bus.event(event(i));
  t.is(bus.droppedBeforeSubscription, 5);
  const got: number[] = [];
  bus.onEvent((e) => got.push(e.attributes.i as number));
  t.is(got.length, Bus.pendingLimit);
  t.is(got[0], 5);
});

test('a listener that throws does not stop the others', (t) => {
  const errors: string[] = [];
  const bus = new Bus((where) => errors.push(where));
  const got: number[] = [];
  bus.onEvent(() => {
    throw new Error('boom');
  });
  bus.onEvent((e) => got.push(e.attributes.i as number));
  bus.event(event(7));
  t.deepEqual(got, [7]);
  t.deepEqual(errors, ['event']);
});
