"""Unit tests of the pure cycle-count algorithms (B4): ABC classes, the
count planner and the tolerance check."""
import unittest
from collections import Counter
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from trytond.modules.inventory_flow.abc_class import (
    ClassificationError, classify)
from trytond.modules.inventory_flow.count_plan import (
    PlanError, interval, plan, within_tolerance)

BACKEND_INDEPENDENT = True
SHARES = [('A', 80), ('B', 15), ('C', 5)]


class ABCClassTestCase(unittest.TestCase):
    "Test the ABC classification"

    def test_pareto(self):
        values = {i: v for i, v in enumerate(
                [500, 300, 100, 50, 30, 10, 5, 5, 0])}
        classes = classify(values, SHARES)
        self.assertEqual([classes[i] for i in range(9)],
            ['A', 'A', 'B', 'B', 'C', 'C', 'C', 'C', 'C'])

    def test_no_consumption(self):
        self.assertEqual(classify({1: 0, 2: 0}, SHARES), {1: 'C', 2: 'C'})

    def test_bad_shares(self):
        for shares in [[], [('A', 80), ('B', 15)], [('A', 110), ('B', -10)]]:
            with self.assertRaises(ClassificationError):
                classify({1: 1}, shares)
        with self.assertRaises(ClassificationError):
            classify({1: -1}, SHARES)

    @given(st.dictionaries(st.integers(0, 500),
            st.decimals(0, 10000, places=2), max_size=60))
    @settings(deadline=None, max_examples=60)
    def test_properties(self, values):
        classes = classify(values, SHARES)
        self.assertEqual(set(classes), set(values))
        order = 'ABC'
        # a more valuable product never has a lower class
        for a in values:
            for b in values:
                if values[a] > values[b]:
                    self.assertLessEqual(order.index(classes[a]),
                        order.index(classes[b]))
        total = sum(values.values())
        if total:
            # the A products, without the one crossing the line, take
            # less than 80 % of the value
            a_values = sorted((values[k] for k in values
                    if classes[k] == 'A'), reverse=True)
            self.assertLess(sum(a_values[:-1]), total * Decimal('0.8'))


class CountPlanTestCase(unittest.TestCase):
    "Test the count planner"

    def test_interval(self):
        self.assertEqual(interval(12, 250), 21)
        self.assertEqual(interval(4, 250), 62)
        with self.assertRaises(PlanError):
            interval(0, 250)

    def test_frequency_and_spread(self):
        bins = ([(('A', i), 'A', None) for i in range(40)]
            + [(('B', i), 'B', None) for i in range(60)]
            + [(('C', i), 'C', None) for i in range(100)])
        intervals = {'A': 20, 'B': 60, 'C': 240}
        result = plan(bins, intervals, 240, 10)
        self.assertEqual(result.unplanned, [])
        counts = Counter(b for day in result.days.values() for b in day)
        for (class_, i), n in counts.items():
            self.assertEqual(n, 240 // intervals[class_], (class_, i))
        self.assertEqual(len(counts), 200)
        loads = [len(result.days.get(d, [])) for d in range(240)]
        self.assertLessEqual(max(loads), 10)
        # even: 40/20 + 60/60 + 100/240 = 3.4 a day
        self.assertLessEqual(max(loads) - min(loads), 2)

    def test_last_count(self):
        result = plan([(1, 'A', -5), (2, 'A', -30)], {'A': 20}, 20, 5)
        self.assertEqual(result.days, {0: [2], 15: [1]})

    def test_capacity_too_small(self):
        with self.assertRaises(PlanError):
            plan([(i, 'A', None) for i in range(50)], {'A': 5}, 10, 2)
        with self.assertRaises(PlanError):
            plan([(1, 'X', None)], {'A': 5}, 10, 2)

    @given(st.lists(st.tuples(st.sampled_from('ABC'),
                st.one_of(st.none(), st.integers(-300, 0))), max_size=120),
        st.integers(1, 60), st.integers(1, 20))
    @settings(deadline=None, max_examples=80)
    def test_never_overloaded(self, bins, days, capacity):
        bins = [(i, c, last) for i, (c, last) in enumerate(bins)]
        intervals = {'A': 20, 'B': 60, 'C': 240}
        try:
            result = plan(bins, intervals, days, capacity)
        except PlanError:
            return
        for day, planned in result.days.items():
            self.assertTrue(0 <= day < days)
            self.assertLessEqual(len(planned), capacity)
        planned = [b for d in result.days.values() for b in d]
        # a bin is counted at most once per interval (+ levelling slack)
        by_bin = {}
        for day, bins_ in result.days.items():
            for b in bins_:
                by_bin.setdefault(b, []).append(day)
        for b, days_ in by_bin.items():
            step = intervals[bins[b][1]]
            days_.sort()
            for x, y in zip(days_, days_[1:]):
                self.assertGreaterEqual(y - x, step - 2 * (step // 2))
        self.assertLessEqual(len(planned) + len(result.unplanned),
            capacity * days)


class ToleranceTestCase(unittest.TestCase):
    "Test the tolerance of a count"

    def test_tolerance(self):
        self.assertTrue(within_tolerance(100, 100, 10, 0, 0))
        self.assertTrue(within_tolerance(150, 148, 1, 2, 100))
        self.assertFalse(within_tolerance(40, 35, 2, 1, 50))
        self.assertFalse(within_tolerance(0, 1, 0, 100, 100))
        self.assertFalse(within_tolerance(1000, 990, 100, 5, 50))

    @given(st.decimals(0, 1000, places=2), st.decimals(0, 1000, places=2),
        st.decimals(0, 100, places=2), st.decimals(0, 50, places=2),
        st.decimals(0, 500, places=2))
    def test_symmetric_and_exact(self, expected, counted, value, percent,
            limit):
        self.assertTrue(within_tolerance(expected, expected, value, percent,
                limit))
        if within_tolerance(expected, counted, value, percent, limit):
            variance = abs(counted - expected)
            self.assertLessEqual(variance * value, limit)


