"""Unit tests of the pure FIFO/FEFO allocation (B5), no database."""
import datetime as dt
import doctest
import unittest

from hypothesis import given, settings, strategies as st

from trytond.modules.inventory_flow import allocation
from trytond.modules.inventory_flow.allocation import (
    Candidate, allocate, is_allocatable)

# Pure code: run once, not again on each database backend (tests/run.py)
BACKEND_INDEPENDENT = True


TODAY = dt.date(2026, 11, 25)

candidates = st.lists(
    st.builds(
        Candidate,
        key=st.integers(0, 10 ** 6),
        location=st.sampled_from(['A-01', 'A-02', 'R-01', 'Q-01']),
        lot=st.one_of(st.none(), st.sampled_from(['L1', 'L2', 'L3'])),
        available=st.integers(-3, 50),
        expiry=st.one_of(st.none(), st.dates(
                TODAY - dt.timedelta(days=30), TODAY + dt.timedelta(days=90))),
        received=st.one_of(st.none(), st.dates(
                TODAY - dt.timedelta(days=200), TODAY)),
        zone=st.sampled_from(['pick', 'reserve', 'quarantine', 'dispatch',
                None]),
        blocked=st.booleans()),
    max_size=12, unique_by=lambda c: c.key)


class AllocationTestCase(unittest.TestCase):

    @settings(max_examples=300, deadline=None)
    @given(st.integers(1, 200), candidates, st.sampled_from(['fefo', 'fifo']),
        st.integers(0, 30), st.booleans())
    def test_invariants(self, quantity, stock, strategy, shelf, partial):
        "Never over-allocates, never touches forbidden stock, accounts all"
        min_shelf_life = dt.timedelta(days=shelf)
        result = allocate(
            quantity, stock, strategy, today=TODAY,
            min_shelf_life=min_shelf_life, partial=partial)
        by_key = {c.key: c for c in stock}
        allocated = sum(q for _, q in result.lines)
        self.assertEqual(allocated + result.shortfall, quantity)
        self.assertEqual(
            len({k for k, _ in result.lines}), len(result.lines))
        for key, qty in result.lines:
            c = by_key[key]
            self.assertGreater(qty, 0)
            self.assertLessEqual(qty, c.available)
            self.assertFalse(c.blocked)
            self.assertNotEqual(c.zone, 'quarantine')
            if c.expiry:
                self.assertGreaterEqual(c.expiry, TODAY + min_shelf_life)
        usable = sum(c.available for c in stock
            if is_allocatable(c, TODAY, min_shelf_life))
        if partial:
            self.assertEqual(allocated, min(quantity, usable))
        else:
            self.assertIn(allocated, {0, quantity})
            self.assertEqual(allocated == quantity, usable >= quantity)

    @settings(max_examples=200, deadline=None)
    @given(st.integers(1, 200), candidates)
    def test_fefo_order(self, quantity, stock):
        "A later-expiring lot is used only when earlier ones are exhausted"
        result = allocate(quantity, stock, 'fefo', today=TODAY)
        by_key = {c.key: c for c in stock}
        used = [by_key[k] for k, _ in result.lines]
        expiries = [c.expiry or dt.date.max for c in used]
        self.assertEqual(expiries, sorted(expiries))
        # every allocation but the last empties its candidate
        for (key, qty) in result.lines[:-1]:
            self.assertEqual(qty, by_key[key].available)
        if result.lines:
            last = max(expiries)
            for c in stock:
                if (is_allocatable(c, TODAY)
                        and (c.expiry or dt.date.max) < last):
                    self.assertIn(c.key, {k for k, _ in result.lines})

    @settings(max_examples=200, deadline=None)
    @given(st.integers(1, 200), candidates)
    def test_fifo_order(self, quantity, stock):
        "FIFO takes the oldest receipt first"
        result = allocate(quantity, stock, 'fifo', today=TODAY)
        by_key = {c.key: c for c in stock}
        received = [by_key[k].received or dt.date.max for k, _ in result.lines]
        self.assertEqual(received, sorted(received))

    def test_expired_never_allocated(self):
        stock = [Candidate('old', 'A', 'L0', 100,
                expiry=TODAY - dt.timedelta(days=1))]
        self.assertEqual(allocate(5, stock, today=TODAY).shortfall, 5)

    def test_min_shelf_life(self):
        stock = [
            Candidate('soon', 'A', 'L1', 10, expiry=TODAY + dt.timedelta(5)),
            Candidate('late', 'A', 'L2', 10, expiry=TODAY + dt.timedelta(60)),
            ]
        self.assertEqual(
            allocate(4, stock, today=TODAY).lines, [('soon', 4)])
        self.assertEqual(
            allocate(4, stock, today=TODAY,
                min_shelf_life=dt.timedelta(days=30)).lines, [('late', 4)])

    def test_pick_face_before_reserve(self):
        stock = [
            Candidate('r', 'R', None, 10, zone='reserve'),
            Candidate('p', 'P', None, 3, zone='pick'),
            ]
        self.assertEqual(
            allocate(5, stock, today=TODAY).lines, [('p', 3), ('r', 2)])

    def test_blocked_and_quarantine_excluded(self):
        stock = [
            Candidate('b', 'B', None, 10, blocked=True),
            Candidate('q', 'Q', None, 10, zone='quarantine'),
            ]
        self.assertEqual(allocate(1, stock, today=TODAY).lines, [])

    def test_invalid_arguments(self):
        for quantity in [0, -1, None]:
            with self.assertRaises(ValueError):
                allocate(quantity, [], today=TODAY)
        with self.assertRaises(ValueError):
            allocate(1, [], 'lifo', today=TODAY)


def load_tests(loader, tests, pattern):
    tests.addTests(doctest.DocTestSuite(allocation))
    return tests
