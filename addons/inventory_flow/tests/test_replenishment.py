"""Unit tests of the pure pick-face replenishment (B3), no database."""
import datetime as dt
import doctest
import unittest

from hypothesis import given, settings, strategies as st

from trytond.modules.inventory_flow import replenishment
from trytond.modules.inventory_flow.allocation import Candidate
from trytond.modules.inventory_flow.replenishment import (
    Face, need, propose)
from trytond.modules.inventory_flow.tests.test_allocation import (
    TODAY, candidates)

# Pure code: run once, not again on each database backend (tests/run.py)
BACKEND_INDEPENDENT = True

faces = st.lists(
    st.builds(
        lambda key, minimum, extra, on_hand, reserved, demand: Face(
            key, 'p', minimum, minimum + extra, on_hand, min(reserved,
                on_hand), demand, location='A-01'),
        st.integers(0, 1000), st.integers(0, 30), st.integers(0, 50),
        st.integers(0, 60), st.integers(0, 20), st.integers(0, 10)),
    max_size=4, unique_by=lambda f: f.key)


class ReplenishmentTestCase(unittest.TestCase):

    @settings(max_examples=300, deadline=None)
    @given(faces, candidates, st.sampled_from(['fefo', 'fifo']))
    def test_invariants(self, rules, stock, strategy):
        proposals = propose(rules, {'p': stock}, {'p': strategy}, TODAY)
        by_key = {c.key: c for c in stock}
        # One proposal per face under its minimum, none for the others
        self.assertEqual(
            {p.face for p in proposals},
            {f.key for f in rules if need(f) > 0})
        taken = {}
        for proposal in proposals:
            face = next(f for f in rules if f.key == proposal.face)
            quantities = [q for _, q in proposal.lines]
            self.assertTrue(all(q > 0 for q in quantities))
            self.assertEqual(sum(quantities) + proposal.shortfall,
                proposal.need)
            # Back to the maximum when reserve holds enough
            self.assertEqual(proposal.need,
                face.maximum - (face.on_hand - face.reserved - face.demand))
            for candidate, quantity in proposal.lines:
                original = by_key[candidate.key]
                # Only reserve bins, never quarantine, blocked, expired
                self.assertEqual(original.zone, 'reserve')
                self.assertFalse(original.blocked)
                self.assertTrue(original.expiry is None
                    or original.expiry >= TODAY)
                self.assertNotEqual(original.location, face.location)
                taken[candidate.key] = taken.get(candidate.key, 0) + quantity
        # The faces share the reserve stock: never more than available
        for key, quantity in taken.items():
            self.assertLessEqual(quantity, by_key[key].available)

    def test_fefo_order_of_lots(self):
        "The lot expiring first is proposed first, then the next"
        stock = [
            Candidate('late', 'R-1', 'L-late', 50,
                expiry=dt.date(2027, 3, 1), zone='reserve'),
            Candidate('early', 'R-2', 'L-early', 8,
                expiry=dt.date(2026, 12, 10), zone='reserve'),
            Candidate('expired', 'R-3', 'L-old', 99,
                expiry=dt.date(2026, 11, 1), zone='reserve'),
            Candidate('quarantine', 'Q-1', 'L-q', 99,
                expiry=dt.date(2026, 11, 30), zone='quarantine'),
            ]
        proposal, = propose(
            [Face('f', 'p', 10, 30, on_hand=4, location='P-1')],
            {'p': stock}, today=TODAY)
        self.assertEqual(
            [(c.key, q) for c, q in proposal.lines],
            [('early', 8), ('late', 18)])

    def test_fifo_order(self):
        "Without expiry the oldest receipt comes first"
        stock = [
            Candidate('new', 'R-1', None, 50,
                received=dt.date(2026, 11, 1), zone='reserve'),
            Candidate('old', 'R-2', None, 5,
                received=dt.date(2026, 9, 1), zone='reserve'),
            ]
        proposal, = propose(
            [Face('f', 'p', 1, 10, on_hand=0, location='P-1')],
            {'p': stock}, {'p': 'fifo'}, TODAY)
        self.assertEqual(
            [(c.key, q) for c, q in proposal.lines], [('old', 5), ('new', 5)])

    def test_shortfall_and_no_need(self):
        "Reserve short: the rest is the shortfall; at the minimum: nothing"
        stock = [Candidate('r', 'R-1', None, 3, zone='reserve')]
        proposal, = propose(
            [Face('f', 'p', 5, 10, on_hand=2),
                Face('g', 'q', 5, 10, on_hand=5)],
            {'p': stock}, today=TODAY)
        self.assertEqual((proposal.face, proposal.need, proposal.shortfall),
            ('f', 8, 5))

    def test_wave_demand(self):
        "A wave needing more than the face holds triggers a proposal"
        face = Face('f', 'p', 2, 20, on_hand=10, demand=12)
        self.assertEqual(need(face), 22)

    def test_maximum_under_minimum(self):
        with self.assertRaises(ValueError):
            need(Face('f', 'p', 10, 5))


def load_tests(loader, tests, pattern):
    tests.addTests(doctest.DocTestSuite(replenishment))
    return tests
