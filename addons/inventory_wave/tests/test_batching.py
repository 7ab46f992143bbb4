"""Unit tests of the pure order batching (no database)."""
import doctest
import random
import unittest

from hypothesis import HealthCheck, given, settings, strategies as st

from trytond.modules.inventory_wave import batching
from trytond.modules.inventory_wave.batching import (
    BatchingError, Capacity, Order, cut_waves, fcfs_batches, fits,
    largest_gap_distance, plan_batches, savings_batches)
from trytond.modules.inventory_wave.routing import (
    distance_of_sequence, optimal_route)

# Pure code: run once, not again on each database backend (tests/run.py)
BACKEND_INDEPENDENT = True

SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow])

LAYOUT = {
    'aisles': 8, 'aisle_spacing': 3, 'aisle_length': 20,
    'cross_aisles': [0, 20], 'depot': [0, 0]}


@st.composite
def instances(draw, max_orders=25):
    n = draw(st.integers(0, max_orders))
    orders = []
    for i in range(n):
        spots = draw(st.lists(
                st.tuples(st.integers(0, 7), st.integers(0, 20)),
                min_size=1, max_size=5))
        orders.append(Order(
                f'o{i}', tuple(spots), totes=draw(st.integers(1, 2)),
                volume=draw(st.integers(0, 5)),
                weight=draw(st.integers(0, 5))))
    capacity = Capacity(
        totes=draw(st.integers(2, 8)),
        volume=draw(st.sampled_from([None, 5, 12])),
        weight=draw(st.sampled_from([None, 6, 20])),
        orders=draw(st.sampled_from([None, 3, 6])),
        lines=draw(st.sampled_from([None, 5, 12])))
    return orders, capacity


def generated(seed, n=60, lines=3, aisles=10):
    rng = random.Random(seed)
    layout = dict(LAYOUT, aisles=aisles)
    orders = [Order(i, tuple(
                (rng.randrange(aisles), rng.randrange(21))
                for _ in range(rng.randint(1, lines))))
        for i in range(n)]
    return layout, orders


class BatchingPropertiesTestCase(unittest.TestCase):

    def check_partition(self, orders, capacity, batches):
        ids = [i for b in batches for i in b]
        self.assertEqual(sorted(ids), sorted(o.id for o in orders))
        self.assertEqual(len(ids), len(set(ids)))
        by_id = {o.id: o for o in orders}
        for batch in batches:
            self.assertTrue(batch)
            self.assertTrue(
                fits([by_id[i] for i in batch], capacity), batch)

    @settings(max_examples=120, **SETTINGS)
    @given(instances())
    def test_capacity_and_partition(self, instance):
        orders, capacity = instance
        try:
            plan = plan_batches(LAYOUT, orders, capacity)
        except BatchingError as error:
            order = next(o for o in orders if o.id == error.order)
            self.assertFalse(fits([order], capacity))
            return
        self.check_partition(
            orders, capacity, [b.orders for b in plan.batches])
        self.check_partition(orders, capacity, plan.fcfs)
        by_id = {o.id: o for o in orders}
        for batch in plan.batches:
            # The route visits every pick of the batch once
            expected = sorted((i, k) for i in batch.orders
                for k in range(len(by_id[i].spots)))
            self.assertEqual(sorted(batch.route), expected)
            picks = [{'id': n, 'aisle': by_id[i].spots[k][0],
                    'y': by_id[i].spots[k][1]}
                for n, (i, k) in enumerate(batch.route)]
            self.assertAlmostEqual(batch.distance, distance_of_sequence(
                    LAYOUT, picks, list(range(len(picks)))))
        self.assertAlmostEqual(
            plan.distance, sum(b.distance for b in plan.batches))

    @settings(max_examples=100, **SETTINGS)
    @given(st.lists(st.tuples(st.integers(0, 7), st.integers(0, 20)),
            max_size=12))
    def test_largest_gap_is_an_upper_bound(self, spots):
        picks = [{'id': n, 'aisle': a, 'y': y}
            for n, (a, y) in enumerate(spots)]
        self.assertGreaterEqual(
            largest_gap_distance(LAYOUT, spots) + 1e-9,
            optimal_route(LAYOUT, picks).distance)

    def test_savings_beats_fcfs(self):
        for seed in range(5):
            layout, orders = generated(seed)
            plan = plan_batches(layout, orders, Capacity(totes=6))
            with self.subTest(seed=seed):
                self.assertLess(plan.distance, plan.fcfs_distance)
                self.assertGreater(plan.saved, 0.15)

    def test_savings_beats_fcfs_with_optimal_routes(self):
        "Batching alone (same router on both sides) saves walking"
        layout, orders = generated(7, n=48)
        capacity = Capacity(totes=6)
        by_id = {o.id: o for o in orders}

        def walked(batches):
            total = 0
            for ids in batches:
                picks = [{'id': f'{i}.{k}', 'aisle': a, 'y': y}
                    for i in ids for k, (a, y) in enumerate(by_id[i].spots)]
                total += optimal_route(layout, picks).distance
            return total

        savings = savings_batches(
            orders, capacity,
            lambda p: batching._largest_gap(
                batching.routing.parse_layout(layout), p))
        self.assertLess(
            walked(savings), walked(fcfs_batches(orders, capacity)))


class BatchingErrorTestCase(unittest.TestCase):

    def test_order_too_big(self):
        orders = [Order('a', ((0, 1),)), Order('b', ((0, 1),) * 6)]
        with self.assertRaises(BatchingError) as cm:
            plan_batches(LAYOUT, orders, Capacity(totes=2, lines=5))
        error = cm.exception
        self.assertEqual(
            (error.order, error.field, error.value, error.limit),
            ('b', 'lines', 6, 5))
        self.assertIn("'b'", str(error))

    def test_bad_capacity(self):
        for capacity in (Capacity(totes=0), Capacity(totes=2, volume=0),
                Capacity(totes=None)):
            with self.subTest(capacity=capacity), \
                    self.assertRaises(BatchingError):
                fcfs_batches([], capacity)

    def test_duplicate_order(self):
        with self.assertRaises(ValueError):
            fcfs_batches([Order(1, ()), Order(1, ())], Capacity(totes=2))

    def test_cut_waves(self):
        orders = [Order(i, ((0, 1),) * (i + 1)) for i in range(4)]
        self.assertEqual(cut_waves(orders), [[0, 1, 2, 3]])
        self.assertEqual(cut_waves(orders, max_orders=3), [[0, 1, 2], [3]])
        self.assertEqual(
            cut_waves(orders, max_lines=3), [[0, 1], [2], [3]])


def load_tests(loader, tests, pattern):
    tests.addTests(doctest.DocTestSuite(batching))
    return tests
