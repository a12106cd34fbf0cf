import test from 'ava';
import fc from 'fast-check';
import { combine, sourceReports } from '../../agent/clock/combine.js';
import { failure, sample } from '../helpers/sources.js';

const addresses = (xs: { address: string }[]) => xs.map((x) => x.address);

test('two agreeing sources at +92 s outvote one at 0 s', (t) => {
  const a = sample(92_001, 5, 'a');
  const b = sample(91_999, 5, 'b');
  const c = sample(0, 5, 'c');
  const r = combine([a, b, c]);
  t.true(r.confident);
  t.deepEqual(addresses(r.agreeing), ['a', 'b']);
  t.deepEqual(addresses(r.falsetickers), ['c']);
  t.is(r.offsetMs, 92_000);
  // Intersection is [91_996, 91_004]: the estimate ± 4 covers it.
  t.is(r.uncertaintyMs, 4);
  t.is(r.uncertainReason, null);
});

test('two sources that disagree are uncertain and name no winner', (t) => {
  const r = combine([sample(92_000, 5, 'a'), sample(0, 5, 'b')]);
  t.false(r.confident);
  t.is(r.uncertainReason, 'no_agreement');
  t.is(r.offsetMs, null);
  t.deepEqual(r.agreeing, []);
});

test('one source is never confident', (t) => {
  const r = combine([sample(92_000, 5, 'a'), failure('b'), failure('c')]);
  t.false(r.confident);
  t.is(r.uncertainReason, 'single_source');
  t.is(r.offsetMs, 92_000);
  t.is(r.usable, 1);
  t.is(r.total, 3);
  t.deepEqual(addresses(r.failures), ['b', 'c']);
});

test('nothing answered', (t) => {
  const r = combine([failure('a')]);
  t.is(r.uncertainReason, 'no_sources');
  t.is(combine([]).uncertainReason, 'no_sources');
});

test('two of four agreeing is not a majority', (t) => {
  const r = combine([sample(0, 5), sample(1, 5), sample(92_000, 5), sample(50_000, 5)]);
  t.false(r.confident);
  t.is(r.uncertainReason, 'no_majority');
  t.is(r.agreeing.length, 2);
});

test('a wide source bridging two groups is a tie', (t) => {
  const r = combine([sample(50, 50, 'wide'), sample(5, 5, 'low'), sample(95, 5, 'high')]);
  t.false(r.confident);
  t.is(r.uncertainReason, 'tie');
});

test('touching intervals overlap', (t) => {
  const r = combine([sample(0, 10), sample(20, 10)]);
  t.true(r.confident);
  t.is(r.offsetMs, 10);
  t.is(r.uncertaintyMs, 0);
});

test('the uncertainty covers the intersection when the median lies outside it', (t) => {
  // [0, 10] and [9, 100]: intersection [9, 10], median 29.75.
  const r = combine([sample(5, 5), sample(54.5, 45.5)]);
  t.is(r.offsetMs, 29.75);
  t.is(r.uncertaintyMs, 20.75);
});

test('non-finite samples are reported as failures', (t) => {
  const r = combine([sample(Number.NaN, 5, 'nan'), sample(0, 5), sample(1, 5)]);
  t.true(r.confident);
  t.deepEqual(addresses(r.failures), ['nan']);
  t.deepEqual(
    r.failures.map((f) => f.code),
    ['non_finite'],
  );
  t.is(r.usable, 2);
  t.deepEqual(
    sourceReports(r).map((s) => [s.status, s.code]),
    [
      ['error', 'non_finite'],
      ['ok', null],
      ['ok', null],
    ],
  );
});

test("source rows carry a code: the failure's, or falseticker outside the agreeing set; null when agreeing", (t) => {
  const r = combine([sample(92_001, 5, 'a'), failure('x'), sample(91_999, 5, 'b'), sample(0, 5, 'c')]);
  const rows = sourceReports(r);
  t.deepEqual(
    rows.map((s) => [s.address, s.status, s.code]),
    [
      ['a', 'ok', null],
      ['x', 'error', 'timeout'],
      ['b', 'ok', null],
      ['c', 'falseticker', 'falseticker'],
    ],
  );
  t.is(rows[1]!.error, 'no reply within 1000 ms');
  t.is(rows[3]!.error, null);
});

// Properties. Offsets and uncertainties in whole milliseconds within ±10 minutes.
const arbSample = fc.record({
  offset: fc.integer({ min: -600_000, max: 600_000 }),
  unc: fc.integer({ min: 0, max: 5_000 }),
});
const arbSamples = fc
  .array(arbSample, { minLength: 0, maxLength: 9 })
  .map((xs) => xs.map((x, i) => sample(x.offset, x.unc, `s${i}`)));

test('property: the answer does not depend on the order of the sources', (t) => {
  fc.assert(
    fc.property(arbSamples, fc.infiniteStream(fc.nat()), (xs, seeds) => {
      const shuffled = [...xs];
      for (let i = shuffled.length - 1; i > 0; i--) {
        const j = seeds.next().value % (i + 1);
        [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
      }
      const a = combine(xs);
      const b = combine(shuffled);
      const sorted = (s: { address: string }[]) => addresses(s).sort();
      return (
        a.confident === b.confident &&
        a.offsetMs === b.offsetMs &&
        a.uncertaintyMs === b.uncertaintyMs &&
        a.uncertainReason === b.uncertainReason &&
        sorted(a.agreeing).join() === sorted(b.agreeing).join() &&
        sorted(a.falsetickers).join() === sorted(b.falsetickers).join()
      );
    }),
  );
  t.pass();
});

test('property: a majority of truechimers around the true offset is always selected', (t) => {
  fc.assert(
    fc.property(
      fc.integer({ min: -600_000, max: 600_000 }),
      fc.array(fc.record({ err: fc.integer({ min: -1000, max: 1000 }), extra: fc.integer({ min: 0, max: 1000 }) }), {
        minLength: 2,
        maxLength: 6,
      }),
      fc.array(fc.integer({ min: -600_000, max: 600_000 }), { maxLength: 5 }),
      (truth, honest, liars) => {
        fc.pre(liars.length < honest.length);
        // An honest source's interval contains the truth.
        const truechimers = honest.map((h, i) => sample(truth + h.err, Math.abs(h.err) + h.extra, `t${i}`));
        // Falsetickers: narrow intervals far from the truth and from each other.
        const falsetickers = liars.map((l, i) => sample(truth + 10_000 + Math.abs(l) + i * 20_000, 1, `f${i}`));
        const r = combine([...falsetickers, ...truechimers]);
        return (
          r.confident &&
          addresses(r.agreeing).sort().join() === addresses(truechimers).sort().join() &&
          r.offsetMs! - r.uncertaintyMs! <= truth &&
          truth <= r.offsetMs! + r.uncertaintyMs!
        );
      },
    ),
  );
  t.pass();
});

test('property: adding a far-away source never changes a majority selection', (t) => {
  // A cluster around a centre plus random others, so that a majority often exists.
  const arbClustered = fc
    .tuple(
      fc.integer({ min: -600_000, max: 600_000 }),
      fc.array(fc.integer({ min: 0, max: 2_000 }), { minLength: 2, maxLength: 5 }),
      fc.array(arbSample, { maxLength: 4 }),
    )
    .map(([centre, uncs, others]) => [
      ...uncs.map((u, i) => sample(centre + (i % 2 ? u : -u), u + 1, `c${i}`)),
      ...others.map((o, i) => sample(o.offset, o.unc, `o${i}`)),
    ]);
  fc.assert(
    fc.property(arbClustered, fc.integer({ min: 1, max: 5_000 }), (xs, unc) => {
      const before = combine(xs);
      fc.pre(before.confident);
      const far = sample(10_000_000, unc, 'far');
      const after = combine([...xs, far]);
      return (
        addresses(after.agreeing).join() === addresses(before.agreeing).join() &&
        addresses(after.falsetickers).includes('far') &&
        after.offsetMs === before.offsetMs
      );
    }),
  );
  t.pass();
});

test('property: the agreeing set shares a common point and is the largest such set', (t) => {
  fc.assert(
    fc.property(arbSamples, (xs) => {
      const r = combine(xs);
      if (r.agreeing.length < 2 || r.uncertainReason === 'single_source') return true;
      const low = Math.max(...r.agreeing.map((s) => s.offsetMs - s.uncertaintyMs));
      const high = Math.min(...r.agreeing.map((s) => s.offsetMs + s.uncertaintyMs));
      if (low > high) return false;
      // No point covered by more intervals: check at every endpoint.
      const points = xs.flatMap((s) => [s.offsetMs - s.uncertaintyMs, s.offsetMs + s.uncertaintyMs]);
      const depthAt = (p: number) =>
        xs.filter((s) => s.offsetMs - s.uncertaintyMs <= p && p <= s.offsetMs + s.uncertaintyMs).length;
      return points.every((p) => depthAt(p) <= r.agreeing.length);
    }),
  );
  t.pass();
});
