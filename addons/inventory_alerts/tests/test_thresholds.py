"""Unit tests of the pure parts of thresholds and alerts (B1, B2), no
database."""
import datetime as dt
import doctest
import unittest

from hypothesis import given, settings, strategies as st

from trytond.modules.inventory_alerts import thresholds
from trytond.modules.inventory_alerts.thresholds import (
    AGE_BOUNDS, LevelError, age_bucket, alert_transitions, check_levels,
    crossed_kinds, days_of_cover, expiry_state, format_threshold_csv,
    order_quantity, parse_threshold_csv)

# Pure code: run once, not again on each database backend (tests/run.py)
BACKEND_INDEPENDENT = True

levels = st.one_of(st.none(), st.integers(-5, 100).map(float))
quantities = st.floats(-100, 200, allow_nan=False)


class CheckLevelsTestCase(unittest.TestCase):

    @given(levels, levels, levels)
    def test_accepts_exactly_the_coherent_levels(self, safety, minimum,
            maximum):
        values = [v for v in (safety, minimum, maximum) if v is not None]
        coherent = (all(v >= 0 for v in values)
            and (minimum is None or safety is None or minimum <= safety)
            and (safety is None or maximum is None or safety <= maximum)
            and (minimum is None or maximum is None or minimum <= maximum))
        try:
            check_levels(safety, minimum, maximum)
        except LevelError:
            self.assertFalse(coherent)
        else:
            self.assertTrue(coherent)

    def test_codes(self):
        for args, code in [
                ((50, 5, 40), 'safety_above_maximum'),
                ((10, 12, 40), 'minimum_above_safety'),
                ((None, 50, 40), 'minimum_above_maximum'),
                ((-1, None, None), 'negative'),
                ]:
            with self.assertRaises(LevelError) as context:
                check_levels(*args)
            self.assertEqual(context.exception.code, code)


class CrossingTestCase(unittest.TestCase):

    @given(quantities, st.integers(0, 50), st.integers(0, 50),
        st.integers(0, 50))
    def test_crossed_kinds(self, projected, a, b, c):
        minimum, safety, maximum = sorted([a, b, c])
        crossed = crossed_kinds(projected, safety, minimum, maximum)
        self.assertEqual('safety' in crossed, projected < safety)
        self.assertEqual('minimum' in crossed, projected < minimum)
        self.assertEqual('maximum' in crossed, projected > maximum)
        # below minimum is always below safety; never both low and high
        if 'minimum' in crossed:
            self.assertIn('safety', crossed)
        self.assertFalse({'safety', 'maximum'} <= crossed)

    @given(st.lists(st.sets(st.integers(0, 8)), min_size=1, max_size=12))
    def test_one_alert_per_crossing(self, history):
        """Replaying a history of crossed sets: an alert opens once per
        crossing and is resolved at recovery; never two open for a key."""
        open_keys = set()
        opened = resolved = 0
        previous = set()
        for crossed in history:
            to_open, to_resolve = alert_transitions(open_keys, crossed)
            self.assertFalse(set(to_open) & open_keys)
            self.assertEqual(set(to_open), crossed - previous)
            self.assertEqual(set(to_resolve), previous - crossed)
            open_keys = (open_keys | set(to_open)) - set(to_resolve)
            self.assertEqual(open_keys, crossed)
            opened += len(to_open)
            resolved += len(to_resolve)
            previous = crossed
        self.assertEqual(opened - resolved, len(open_keys))

    def test_idempotent(self):
        crossed = {('p', 'safety')}
        to_open, _ = alert_transitions(set(), crossed)
        self.assertEqual(alert_transitions(set(to_open), crossed), ([], []))

    @given(quantities, st.integers(0, 50), st.one_of(st.none(),
            st.integers(50, 100)))
    def test_order_quantity_reaches_target(self, projected, safety, maximum):
        quantity = order_quantity(projected, safety, maximum)
        self.assertGreaterEqual(quantity, 0)
        target = maximum if maximum is not None else safety
        self.assertGreaterEqual(projected + quantity, target - 1e-9)


class FiguresTestCase(unittest.TestCase):

    @given(st.integers(0, 2000))
    def test_age_buckets_are_ordered_and_cover(self, days):
        label = age_bucket(days)
        labels = [age_bucket(b) for b in AGE_BOUNDS] + [
            age_bucket(AGE_BOUNDS[-1] + 1)]
        self.assertIn(label, labels)
        if days > AGE_BOUNDS[-1]:
            self.assertEqual(label, labels[-1])

    @given(st.floats(0, 1e6), st.floats(0.01, 1e6), st.integers(1, 365))
    def test_days_of_cover(self, on_hand, consumed, period):
        cover = days_of_cover(on_hand, consumed, period)
        self.assertAlmostEqual(cover * consumed / period, on_hand,
            delta=1e-6 * max(on_hand, 1))

    def test_no_consumption_is_infinite_cover(self):
        self.assertIsNone(days_of_cover(10, 0, 30))

    @given(st.dates(), st.integers(-400, 400), st.integers(0, 90))
    def test_expiry_state(self, today, delta, days):
        try:
            expiry = today + dt.timedelta(days=delta)
        except OverflowError:
            return
        state = expiry_state(expiry, today, days)
        if delta < 0:
            self.assertEqual(state, 'expired')
        elif delta <= days:
            self.assertEqual(state, 'near')
        else:
            self.assertIsNone(state)


class CsvTestCase(unittest.TestCase):
    codes = {'A', 'B', 'C'}
    warehouses = {'WH', 'W2'}

    @settings(max_examples=50)
    @given(st.lists(st.tuples(st.sampled_from(sorted(codes)),
                st.sampled_from(sorted(warehouses)),
                st.integers(5, 10).map(float),
                st.integers(0, 5).map(float),
                st.one_of(st.none(), st.integers(10, 50).map(float))),
            unique_by=lambda r: r[:2]))
    def test_round_trip(self, rows):
        text = format_threshold_csv(rows)
        parsed, errors = parse_threshold_csv(text, self.codes,
            self.warehouses)
        self.assertEqual(errors, [])
        self.assertEqual([tuple(r[1:]) for r in parsed], rows)

    def test_every_bad_line_reported(self):
        text = ('sku,warehouse,safety,minimum,maximum\n'
            'A,WH,10,5,40\n'
            'Z,WH,1,,\n'
            'B,XX,1,,\n'
            'C,WH,abc,,\n'
            'A,W2,50,5,40\n'
            'A,WH,10,5,40\n'
            'B,WH,-1,,\n')
        rows, errors = parse_threshold_csv(text, self.codes,
            self.warehouses)
        self.assertEqual([(e[0], e[1]) for e in errors], [
                (3, 'unknown_sku'), (4, 'unknown_warehouse'),
                (5, 'bad_number'), (6, 'safety_above_maximum'),
                (7, 'duplicate'), (8, 'negative')])

    def test_bad_header(self):
        rows, errors = parse_threshold_csv('a,b\nA,WH', self.codes,
            self.warehouses)
        self.assertEqual((rows, errors[0][1]), ([], 'bad_header'))

    def test_nan_refused(self):
        _, errors = parse_threshold_csv(
            'sku,warehouse,safety,minimum,maximum\nA,WH,nan,,\n',
            self.codes, self.warehouses)
        self.assertEqual(errors[0][1], 'bad_number')


def load_tests(loader, tests, pattern):
    tests.addTests(doctest.DocTestSuite(thresholds))
    return tests
