"""Unit tests of the putaway scoring (no database)."""
import doctest
import unittest

from hypothesis import given, strategies as st

from trytond.modules.inventory_flow import putaway
from trytond.modules.inventory_flow.putaway import (
    STRATEGIES, Bin, Item, recommend, refusal)

# Pure code: run once, not again on each database backend (tests/run.py)
BACKEND_INDEPENDENT = True


WAREHOUSE = 1


@st.composite
def bins(draw):
    capacity_volume = draw(st.one_of(st.none(), st.floats(0.1, 10)))
    capacity_weight = draw(st.one_of(st.none(), st.floats(1, 1000)))
    return Bin(
        id=draw(st.integers(1, 10 ** 6)),
        warehouse=draw(st.sampled_from([WAREHOUSE, WAREHOUSE, 2])),
        zone=draw(st.sampled_from(
                ['pick', 'reserve', 'quarantine', 'dispatch', None])),
        blocked=draw(st.booleans()),
        aisle=draw(st.integers(1, 20)),
        position=draw(st.integers(1, 30)),
        level=draw(st.integers(1, 5)),
        capacity_volume=capacity_volume,
        capacity_weight=capacity_weight,
        used_volume=draw(st.floats(0, capacity_volume or 10)),
        used_weight=draw(st.floats(0, capacity_weight or 1000)),
        contents=frozenset(draw(st.sets(st.tuples(
                        st.integers(1, 3), st.sampled_from([None, 1, 2])),
                    max_size=3))))


@st.composite
def items(draw):
    return Item(
        product=draw(st.integers(1, 3)),
        warehouse=WAREHOUSE,
        quantity=draw(st.floats(0.5, 50)),
        lot=draw(st.sampled_from([None, 1, 2])),
        unit_volume=draw(st.one_of(st.none(), st.floats(0, 0.5))),
        unit_weight=draw(st.one_of(st.none(), st.floats(0, 20))),
        abc_class=draw(st.sampled_from([None, 'A', 'B', 'C'])),
        home_bins=frozenset(draw(st.sets(st.integers(1, 10 ** 6),
                    max_size=2))))


def unique(candidates):
    seen, result = set(), []
    for bin_ in candidates:
        if bin_.id not in seen:
            seen.add(bin_.id)
            result.append(bin_)
    return result


class PutawayTestCase(unittest.TestCase):

    @given(items(), st.lists(bins(), max_size=30),
        st.permutations(STRATEGIES))
    def test_never_proposes_an_invalid_bin(self, item, candidates, order):
        candidates = unique(candidates)
        by_id = {b.id: b for b in candidates}
        ranked = recommend(item, candidates, order)
        for recommendation in ranked:
            bin_ = by_id[recommendation.bin]
            self.assertEqual(bin_.warehouse, item.warehouse)
            self.assertFalse(bin_.blocked)
            self.assertIn(bin_.zone, {'pick', 'reserve'})
            for unit, capacity, used in [
                    (item.unit_volume, bin_.capacity_volume,
                        bin_.used_volume),
                    (item.unit_weight, bin_.capacity_weight,
                        bin_.used_weight)]:
                if capacity is not None:
                    self.assertLess(used, capacity)
                    self.assertLessEqual(
                        used + (unit or 0) * item.quantity, capacity + 1e-6)
        # every valid bin is ranked exactly once
        self.assertEqual(
            sorted(r.bin for r in ranked),
            sorted(b.id for b in candidates if refusal(item, b) is None))

    @given(items(), st.lists(bins(), max_size=30))
    def test_deterministic_and_order_independent(self, item, candidates):
        candidates = unique(candidates)
        self.assertEqual(
            recommend(item, candidates), recommend(item, candidates[::-1]))

    @given(items(), st.lists(bins(), min_size=1, max_size=30))
    def test_home_bin_first_when_fixed_leads(self, item, candidates):
        candidates = unique(candidates)
        valid = [b for b in candidates if refusal(item, b) is None]
        if not valid:
            return
        home = valid[-1]
        item = Item(**{**item.__dict__, 'home_bins': frozenset({home.id})})
        self.assertEqual(recommend(item, candidates)[0].bin, home.id)

    def test_consolidation_prefers_same_lot(self):
        item = Item(7, WAREHOUSE, 1, lot=3)
        candidates = [
            Bin(1, WAREHOUSE), Bin(2, WAREHOUSE, contents={(7, 4)}),
            Bin(3, WAREHOUSE, contents={(7, 3)})]
        self.assertEqual(
            [r.bin for r in recommend(item, candidates, ['consolidation'])],
            [3, 2, 1])

    def test_capacity_prefers_most_room(self):
        item = Item(7, WAREHOUSE, 2, unit_volume=0.1, unit_weight=1)
        candidates = [
            Bin(1, WAREHOUSE, capacity_volume=1, used_volume=0.7),
            Bin(2, WAREHOUSE, capacity_volume=1, used_volume=0.1),
            Bin(3, WAREHOUSE, capacity_volume=1, used_volume=0.85),
            Bin(4, WAREHOUSE, capacity_weight=10, used_weight=10)]
        self.assertEqual(
            [r.bin for r in recommend(item, candidates, ['capacity'])],
            [2, 1])

    def test_abc_classes_by_walking_distance(self):
        candidates = [
            Bin(i, WAREHOUSE, aisle=1 + i // 10, position=i % 10 + 1)
            for i in range(40)]
        dispatch = [(1, 0)]
        fast = recommend(
            Item(1, WAREHOUSE, 1, abc_class='A'), candidates, ['abc'],
            dispatch=dispatch)
        slow = recommend(
            Item(1, WAREHOUSE, 1, abc_class='C'), candidates, ['abc'],
            dispatch=dispatch)
        self.assertEqual(fast[0].bin, 0)
        self.assertEqual(slow[0].bin, 39)

    def test_refusal_reasons(self):
        item = Item(1, WAREHOUSE, 4, unit_volume=1, unit_weight=10)
        for bin_, reason in [
                (Bin(1, 2), 'warehouse'),
                (Bin(1, WAREHOUSE, blocked=True), 'blocked'),
                (Bin(1, WAREHOUSE, zone='quarantine'), 'quarantine'),
                (Bin(1, WAREHOUSE, zone='dispatch'), 'zone'),
                (Bin(1, WAREHOUSE, capacity_volume=3), 'volume'),
                (Bin(1, WAREHOUSE, capacity_weight=100, used_weight=70),
                    'weight'),
                (Bin(1, WAREHOUSE, capacity_volume=5, used_volume=5),
                    'volume'),
                (Bin(1, WAREHOUSE, capacity_volume=4, capacity_weight=40),
                    None),
                ]:
            with self.subTest(bin=bin_):
                self.assertEqual(refusal(item, bin_), reason)

    def test_unknown_strategy(self):
        with self.assertRaises(ValueError):
            recommend(Item(1, WAREHOUSE, 1), [], ['nearest'])


def load_tests(loader, tests, pattern):
    tests.addTests(doctest.DocTestSuite(putaway))
    return tests
