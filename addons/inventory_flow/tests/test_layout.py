"""Unit tests of the pure rack layout arithmetic (no database)."""
import doctest
import unittest

from hypothesis import given, strategies as st

from trytond.modules.inventory_flow import layout
from trytond.modules.inventory_flow.layout import (
    LayoutError, RackBlock, bin_code, plan_block)


# Pure code: run once, not again on each database backend (tests/run.py)
BACKEND_INDEPENDENT = True


class LayoutTestCase(unittest.TestCase):

    @given(
        st.integers(1, 20), st.integers(1, 10), st.integers(1, 12),
        st.integers(1, 5))
    def test_plan_counts_and_unique_codes(
            self, first, aisles, positions, levels):
        plan = plan_block(RackBlock('B', first, aisles, positions, levels))
        codes = [c for _, _, bins in plan for c, _, _ in bins]
        self.assertEqual(len(codes), aisles * positions * levels)
        self.assertEqual(len(set(codes)), len(codes))
        self.assertEqual(
            [a for a, _, _ in plan], list(range(first, first + aisles)))

    def test_code_reads_warehouse_aisle_level_position(self):
        self.assertEqual(bin_code('A', 3, 2, 5), 'A-03-2-05')

    def test_invalid_parameters_name_the_field(self):
        for block, field in [
                (RackBlock('A', 1, 0, 1, 1), 'aisles'),
                (RackBlock('A', 1, 1, -2, 1), 'positions'),
                (RackBlock('A', 1, 1, 1, 0), 'levels'),
                (RackBlock('A', 0, 1, 1, 1), 'first_aisle'),
                (RackBlock('', 1, 1, 1, 1), 'prefix'),
                (RackBlock('A-B', 1, 1, 1, 1), 'prefix'),
                (RackBlock('A', 95, 10, 1, 1), 'aisles'),
                (RackBlock('A', 1, 1, 100, 1), 'positions'),
                (RackBlock('A', 1, 1, 1, 10), 'levels'),
                ]:
            with self.subTest(block=block):
                with self.assertRaises(LayoutError) as cm:
                    plan_block(block)
                self.assertEqual(cm.exception.field, field)


def load_tests(loader, tests, pattern):
    tests.addTests(doctest.DocTestSuite(layout))
    return tests
