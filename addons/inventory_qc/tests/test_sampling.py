"""ISO 2859-1 sampling lookups and switching rules (sampling.py), checked
against published rows of the standard as loaded from the module's data
(sampling_table.xml), and measurement entries (measurement.py)."""
import doctest
import os
import unittest
import xml.etree.ElementTree as ET

from hypothesis import given, settings
from hypothesis import strategies as st

from trytond.modules.inventory_qc import measurement, sampling
from trytond.modules.inventory_qc.sampling import (
    LETTERS, LEVELS, SamplingError, SwitchingState, code_letter, replay,
    sampling_plan, single_plan, switch)

BACKEND_INDEPENDENT = True
DATA = os.path.join(
    os.path.dirname(os.path.dirname(__file__)), 'sampling_table.xml')
LEVEL_FIELDS = ['level_s1', 'level_s2', 'level_s3', 'level_s4',
    'level_1', 'level_2', 'level_3']


def load_tables(path=DATA):
    "Read the tables from the module's XML data as the models give them"
    letters, plans = [], {}
    for record in ET.parse(path).getroot().iter('record'):
        values = {}
        for field in record.iter('field'):
            values[field.get('name')] = (
                eval(field.get('eval')) if field.get('eval') is not None
                else field.text)
        if record.get('model') == 'quality.sampling.letter':
            letters.append((values['lot_size_min'],
                    values.get('lot_size_max'),
                    {level: values[f]
                        for level, f in zip(LEVELS, LEVEL_FIELDS)}))
        else:
            _, cells = plans.setdefault(
                (values['severity'], values['letter']),
                (values['sample_size'], {}))
            cells[round(values['aql'], 3)] = (values.get('arrow')
                or (values['accept'], values['reject']))
    return letters, plans


LETTER_ROWS, PLANS = load_tables()
AQLS = sorted({aql for _, cells in PLANS.values() for aql in cells})


class SamplingTableTestCase(unittest.TestCase):
    "Published rows of ISO 2859-1 Table 1 and Tables 2-A/2-B/2-C"

    def test_code_letter_published(self):
        for lot_size, level, letter in [
                (2000, 'II', 'K'), (1201, 'II', 'K'), (3200, 'II', 'K'),
                (3201, 'II', 'L'), (1200, 'II', 'J'), (500, 'I', 'F'),
                (100, 'III', 'G'), (10, 'S-1', 'A'), (600000, 'III', 'R'),
                (40000, 'S-4', 'J')]:
            with self.subTest(lot_size=lot_size, level=level):
                self.assertEqual(
                    code_letter(lot_size, level, LETTER_ROWS), letter)

    def test_normal_plan_published(self):
        "Lot 1 201–3 200, level II → K, n = 125; AQL 1.0 → Ac 3, Re 4"
        plan = sampling_plan(2000, 'II', 1.0, 'normal', LETTER_ROWS, PLANS)
        self.assertEqual(
            (plan.letter, plan.sample_size, plan.accept, plan.reject),
            ('K', 125, 3, 4))
        for letter, aql, expected in [
                ('K', 0.65, (125, 2, 3)), ('K', 1.5, (125, 5, 6)),
                ('K', 2.5, (125, 7, 8)), ('K', 0.10, (125, 0, 1)),
                ('J', 1.0, (80, 2, 3)), ('L', 1.0, (200, 5, 6)),
                ('H', 1.0, (50, 1, 2)), ('G', 2.5, (32, 2, 3)),
                ('N', 0.65, (500, 7, 8)), ('M', 4.0, (315, 21, 22))]:
            with self.subTest(letter=letter, aql=aql):
                plan = single_plan(letter, aql, 'normal', PLANS)
                self.assertEqual(
                    (plan.sample_size, plan.accept, plan.reject), expected)

    def test_arrow_rule(self):
        "An arrow uses the plan below (↓) or above (↑) with its n"
        # F at 1.0 is ↑: E's plan, 13 units, Ac 0
        plan = single_plan('F', 1.0, 'normal', PLANS)
        self.assertEqual((plan.letter, plan.sample_size, plan.accept),
            ('E', 13, 0))
        # G at 1.0 is ↓: H's plan, 50 units, Ac 1
        plan = single_plan('G', 1.0, 'normal', PLANS)
        self.assertEqual((plan.letter, plan.sample_size, plan.accept),
            ('H', 50, 1))
        # A at 0.65 is ↓ down to F (20 units, Ac 0)
        plan = single_plan('A', 0.65, 'normal', PLANS)
        self.assertEqual((plan.letter, plan.sample_size, plan.accept),
            ('F', 20, 0))

    def test_tightened_and_reduced(self):
        tightened = single_plan('K', 1.0, 'tightened', PLANS)
        reduced = single_plan('K', 1.0, 'reduced', PLANS)
        normal = single_plan('K', 1.0, 'normal', PLANS)
        self.assertEqual((tightened.sample_size, tightened.accept), (125, 2))
        self.assertEqual(reduced.sample_size, 50)
        self.assertLess(tightened.accept, normal.accept)
        # The tightened table has the extra letter S (3 150 units) below R
        plan = single_plan('R', 0.025, 'tightened', PLANS)
        self.assertEqual((plan.letter, plan.sample_size, plan.accept),
            ('S', 3150, 1))

    def test_small_lot_inspected_whole(self):
        plan = sampling_plan(5, 'III', 0.65, 'normal', LETTER_ROWS, PLANS)
        self.assertTrue(plan.full)
        self.assertEqual(plan.sample_size, 5)

    def test_refusals(self):
        for call, code in [
                (lambda: code_letter(0, 'II', LETTER_ROWS), 'lot_size'),
                (lambda: code_letter(10, 'IV', LETTER_ROWS), 'level'),
                (lambda: code_letter('x', 'II', LETTER_ROWS), 'lot_size'),
                (lambda: single_plan('K', 0.3, 'normal', PLANS), 'aql'),
                (lambda: single_plan('Z', 1.0, 'normal', PLANS), 'letter'),
                (lambda: single_plan('K', 1.0, 'lax', PLANS), 'severity')]:
            with self.assertRaises(SamplingError) as context:
                call()
            self.assertEqual(context.exception.code, code)

    @settings(max_examples=300, deadline=None)
    @given(st.integers(1, 2_000_000), st.sampled_from(LEVELS),
        st.sampled_from(AQLS), st.sampled_from(sampling.SEVERITIES))
    def test_every_lookup_gives_a_plan(self, lot_size, level, aql, severity):
        "Every lot size, level, AQL and severity has a consistent plan"
        plan = sampling_plan(lot_size, level, aql, severity, LETTER_ROWS,
            PLANS)
        self.assertTrue(1 <= plan.sample_size <= lot_size)
        self.assertTrue(0 <= plan.accept < plan.reject)
        self.assertLessEqual(plan.accept, plan.sample_size)

    @settings(max_examples=200, deadline=None)
    @given(st.integers(2, 1_000_000), st.sampled_from(LEVELS))
    def test_larger_lots_never_smaller_letters(self, lot_size, level):
        smaller = code_letter(lot_size - 1, level, LETTER_ROWS)
        letter = code_letter(lot_size, level, LETTER_ROWS)
        self.assertLessEqual(LETTERS.index(smaller), LETTERS.index(letter))

    @settings(max_examples=200, deadline=None)
    @given(st.sampled_from(LETTERS[:16]), st.sampled_from(AQLS))
    def test_tightened_never_more_lenient(self, letter, aql):
        "For the same n, tightened accepts at most what normal accepts"
        normal = single_plan(letter, aql, 'normal', PLANS)
        tightened = single_plan(letter, aql, 'tightened', PLANS)
        if normal.sample_size == tightened.sample_size:
            self.assertLessEqual(tightened.accept, normal.accept)


class SwitchingTestCase(unittest.TestCase):
    "Switching rules of ISO 2859-1 clause 9"

    def test_normal_to_tightened(self):
        state = replay([True, False, True, False])
        self.assertEqual(state.severity, 'tightened')
        # 2 rejections more than 5 lots apart do not switch
        state = replay([False, True, True, True, True, False])
        self.assertEqual(state.severity, 'normal')

    def test_tightened_back_to_normal_or_discontinued(self):
        state = SwitchingState('tightened')
        self.assertEqual(replay([True] * 5, state).severity, 'normal')
        self.assertEqual(replay([True] * 4, state).severity, 'tightened')
        self.assertEqual(
            replay([False, True] * 5, state).severity, 'discontinued')

    def test_switching_score_to_reduced(self):
        # Ac 0/1: +2 per accepted lot, 30 reached after 15 lots
        self.assertEqual(
            replay([(True, 0, True)] * 14, approved=True).severity, 'normal')
        self.assertEqual(
            replay([(True, 0, True)] * 15, approved=True).severity, 'reduced')
        # Ac ≥ 2: +3 only when also accepted at the tighter AQL
        self.assertEqual(
            replay([(True, 3, True)] * 10, approved=True).severity, 'reduced')
        self.assertEqual(
            replay([(True, 3, True)] * 9 + [(True, 3, False)]).score, 0)

    def test_reduced_back_to_normal_and_skip_lot(self):
        state = SwitchingState('reduced')
        self.assertEqual(switch(state, False).severity, 'normal')
        state = replay([True] * 10, state)
        self.assertTrue(state.skip_lot(10))
        self.assertFalse(state.skip_lot(11))

    @settings(max_examples=200, deadline=None)
    @given(st.lists(st.booleans(), max_size=60))
    def test_all_accepted_never_tightens(self, results):
        state = replay([True] * len(results))
        self.assertIn(state.severity, {'normal', 'reduced'})

    @settings(max_examples=200, deadline=None)
    @given(st.lists(st.booleans(), max_size=60))
    def test_states_stay_valid(self, results):
        state = replay(results)
        self.assertIn(state.severity,
            {'normal', 'tightened', 'reduced', 'discontinued'})
        self.assertLessEqual(len(state.recent), 5)


class MeasurementTestCase(unittest.TestCase):
    "Entries of the inspector (measurement.py)"

    def test_entries(self):
        parse = measurement.parse_entry
        self.assertEqual(parse('float', '10,5 mm', 'mm'), 10.5)
        self.assertEqual(parse('float', ' 10.5 ', 'mm'), 10.5)
        self.assertEqual(parse('integer', '3'), 3)
        self.assertIs(parse('boolean', '合格'), True)
        self.assertIs(parse('boolean', 'NO'), False)
        self.assertEqual(parse('char', ' burrs '), 'burrs')
        for kind, value, unit, code in [
                ('float', 'ten', 'mm', 'number'),
                ('float', '1.2 cm', 'mm', 'unit'),
                ('float', '1.2 mm', None, 'unit'),
                ('float', 'nan', None, 'number'),
                ('integer', '2.5', None, 'number'),
                ('boolean', 'maybe', None, 'boolean'),
                ('float', '  ', 'mm', 'empty')]:
            with self.assertRaises(measurement.EntryError) as context:
                parse(kind, value, unit)
            self.assertEqual(context.exception.code, code)

    @settings(max_examples=200, deadline=None)
    @given(st.floats(-1e6, 1e6, allow_nan=False))
    def test_numbers_round_trip(self, number):
        self.assertAlmostEqual(
            measurement.parse_entry('float', f'{number!r} mm', 'mm'), number)


def load_tests(loader, tests, pattern):
    for module in [sampling, measurement]:
        tests.addTests(doctest.DocTestSuite(module))
    return tests
