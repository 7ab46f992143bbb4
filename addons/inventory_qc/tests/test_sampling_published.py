"""The sampling tables of ``sampling_table.xml`` against published rows of
ISO 2859-1 (A4, issue 6): Table 2-A (normal) and Table 2-B (tightened)
row by row as printed in the standard's tables (MIL-STD-105E / ANSI Z1.4 /
ISO 2859-1 share them), Table 2-C (reduced) as ISO 2859-1:1999 gives it
(Re = Ac + 1, sample sizes of Table 2-C), and invariants of the lookup for
any lot size, level, AQL and severity.

Table 2-B rows A–L at AQL 0.65–10 were checked against two copies: a
transcription of MIL-STD-105E Table II-B, and the single tightened table of
a US public-works quality manual derived from it (NIBS, AC-TABLE.ASC, table
1-B, rejection numbers at AQL 0.65–15): the same cells.

A row is written as the printed table reads, AQL 0.65 to 10: ``v`` use the
first plan below, ``^`` the first plan above, ``Ac/Re`` a plan.
"""
import unittest

from hypothesis import given, settings
from hypothesis import strategies as st

from trytond.modules.inventory_qc.sampling import (
    LETTERS, LEVELS, SEVERITIES, code_letter, sampling_plan, single_plan)
from trytond.modules.inventory_qc.tests.test_sampling import (
    AQLS, LETTER_ROWS, PLANS)

BACKEND_INDEPENDENT = True
COLUMNS = [0.65, 1.0, 1.5, 2.5, 4.0, 6.5, 10.0]
LOW_COLUMNS = [0.010, 0.015, 0.025, 0.040, 0.065, 0.10, 0.15, 0.25, 0.40]

# Table 2-A, normal inspection: code letter, n, cells at AQL 0.65 … 10
NORMAL = [
    ('A', 2, 'v v v v v 0/1 ^'),
    ('B', 3, 'v v v v 0/1 ^ v'),
    ('C', 5, 'v v v 0/1 ^ v 1/2'),
    ('D', 8, 'v v 0/1 ^ v 1/2 2/3'),
    ('E', 13, 'v 0/1 ^ v 1/2 2/3 3/4'),
    ('F', 20, '0/1 ^ v 1/2 2/3 3/4 5/6'),
    ('G', 32, '^ v 1/2 2/3 3/4 5/6 7/8'),
    ('H', 50, 'v 1/2 2/3 3/4 5/6 7/8 10/11'),
    ('J', 80, '1/2 2/3 3/4 5/6 7/8 10/11 14/15'),
    ('K', 125, '2/3 3/4 5/6 7/8 10/11 14/15 21/22'),
    ('L', 200, '3/4 5/6 7/8 10/11 14/15 21/22 ^'),
    ('M', 315, '5/6 7/8 10/11 14/15 21/22 ^ ^'),
    ('N', 500, '7/8 10/11 14/15 21/22 ^ ^ ^'),
    ('P', 800, '10/11 14/15 21/22 ^ ^ ^ ^'),
    ('Q', 1250, '14/15 21/22 ^ ^ ^ ^ ^'),
    ('R', 2000, '21/22 ^ ^ ^ ^ ^ ^'),
    ]
# Table 2-A at the small AQLs 0.010 … 0.40
NORMAL_LOW = [
    ('K', 125, 'v v v v v 0/1 ^ v 1/2'),
    ('M', 315, 'v v v 0/1 ^ v 1/2 2/3 3/4'),
    ('Q', 1250, '0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11'),
    ('R', 2000, '^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15'),
    ]
# Table 2-B, tightened inspection, AQL 0.65 … 10: Ac 0 one letter lower
# than normal with two arrows down before Ac 1, Ac 8/12/18 for 7/10/14,
# and no plan at all in row A
TIGHTENED = [
    ('A', 2, 'v v v v v v v'),
    ('B', 3, 'v v v v v 0/1 v'),
    ('C', 5, 'v v v v 0/1 v v'),
    ('D', 8, 'v v v 0/1 v v 1/2'),
    ('E', 13, 'v v 0/1 v v 1/2 2/3'),
    ('F', 20, 'v 0/1 v v 1/2 2/3 3/4'),
    ('G', 32, '0/1 v v 1/2 2/3 3/4 5/6'),
    ('H', 50, 'v v 1/2 2/3 3/4 5/6 8/9'),
    ('J', 80, 'v 1/2 2/3 3/4 5/6 8/9 12/13'),
    ('K', 125, '1/2 2/3 3/4 5/6 8/9 12/13 18/19'),
    ('L', 200, '2/3 3/4 5/6 8/9 12/13 18/19 ^'),
    ('M', 315, '3/4 5/6 8/9 12/13 18/19 ^ ^'),
    ('N', 500, '5/6 8/9 12/13 18/19 ^ ^ ^'),
    ('P', 800, '8/9 12/13 18/19 ^ ^ ^ ^'),
    ('Q', 1250, '12/13 18/19 ^ ^ ^ ^ ^'),
    ('R', 2000, '18/19 ^ ^ ^ ^ ^ ^'),
    ]
# Table 2-B at AQL 0.010 … 0.40, with the extra letter S (3 150 units)
TIGHTENED_LOW = [
    ('K', 125, 'v v v v v v 0/1 v v'),
    ('M', 315, 'v v v v 0/1 v v 1/2 2/3'),
    ('Q', 1250, 'v 0/1 v v 1/2 2/3 3/4 5/6 8/9'),
    ('R', 2000, '0/1 v v 1/2 2/3 3/4 5/6 8/9 12/13'),
    ('S', 3150, '^ ^ 1/2 2/3 3/4 5/6 8/9 12/13 18/19'),
    ]
# Table 2-C, reduced inspection (ISO 2859-1:1999): the arrows of Table 2-A,
# the smaller samples, Re = Ac + 1
REDUCED = [
    ('A', 2, 'v v v v v 0/1 ^'),
    ('B', 2, 'v v v v 0/1 ^ v'),
    ('C', 2, 'v v v 0/1 ^ v 1/2'),
    ('D', 3, 'v v 0/1 ^ v 1/2 1/2'),
    ('E', 5, 'v 0/1 ^ v 1/2 1/2 2/3'),
    ('F', 8, '0/1 ^ v 1/2 1/2 2/3 3/4'),
    ('G', 13, '^ v 1/2 1/2 2/3 3/4 5/6'),
    ('H', 20, 'v 1/2 1/2 2/3 3/4 5/6 6/7'),
    ('J', 32, '1/2 1/2 2/3 3/4 5/6 6/7 8/9'),
    ('K', 50, '1/2 2/3 3/4 5/6 6/7 8/9 10/11'),
    ('L', 80, '2/3 3/4 5/6 6/7 8/9 10/11 ^'),
    ('M', 125, '3/4 5/6 6/7 8/9 10/11 ^ ^'),
    ('N', 200, '5/6 6/7 8/9 10/11 ^ ^ ^'),
    ('P', 315, '6/7 8/9 10/11 ^ ^ ^ ^'),
    ('Q', 500, '8/9 10/11 ^ ^ ^ ^ ^'),
    ('R', 800, '10/11 ^ ^ ^ ^ ^ ^'),
    ]


def cells(text):
    result = []
    for cell in text.split():
        if cell in {'v', '^'}:
            result.append({'v': 'down', '^': 'up'}[cell])
        else:
            accept, reject = cell.split('/')
            result.append((int(accept), int(reject)))
    return result


class PublishedRowsTestCase(unittest.TestCase):
    "Every row of Tables 2-A, 2-B and 2-C cell by cell"

    def check(self, severity, rows, columns):
        for letter, size, text in rows:
            with self.subTest(severity=severity, letter=letter):
                sample_size, table = PLANS[(severity, letter)]
                self.assertEqual(sample_size, size)
                self.assertEqual(
                    [tuple(c) if isinstance(c, (list, tuple)) else c
                        for c in (table[round(a, 3)] for a in columns)],
                    cells(text))

    def test_normal(self):
        self.check('normal', NORMAL, COLUMNS)
        self.check('normal', NORMAL_LOW, LOW_COLUMNS)

    def test_tightened(self):
        self.check('tightened', TIGHTENED, COLUMNS)
        self.check('tightened', TIGHTENED_LOW, LOW_COLUMNS)

    def test_reduced(self):
        self.check('reduced', REDUCED, COLUMNS)

    def test_reduced_has_the_arrows_of_normal(self):
        "Table 2-C points where Table 2-A points, with smaller samples"
        for letter in LETTERS[:16]:
            normal_size, normal = PLANS[('normal', letter)]
            reduced_size, reduced = PLANS[('reduced', letter)]
            self.assertLessEqual(reduced_size, normal_size)
            for aql in AQLS:
                with self.subTest(letter=letter, aql=aql):
                    self.assertEqual(
                        isinstance(reduced[aql], str) and reduced[aql],
                        isinstance(normal[aql], str) and normal[aql])

    def test_arrow_rule_published_examples(self):
        "Arrows lead to the first plan below or above, with its n"
        for letter, aql, severity, expected in [
                # normal: F at 1.0 ↑ to E; D at 1.0 ↓ to E
                ('F', 1.0, 'normal', ('E', 13, 0, 1)),
                ('D', 1.0, 'normal', ('E', 13, 0, 1)),
                ('G', 0.65, 'normal', ('F', 20, 0, 1)),
                ('A', 2.5, 'normal', ('C', 5, 0, 1)),
                # tightened: two arrows down after Ac 0 lead to Ac 1
                ('F', 1.5, 'tightened', ('H', 50, 1, 2)),
                ('F', 2.5, 'tightened', ('G', 32, 1, 2)),
                ('A', 10, 'tightened', ('D', 8, 1, 2)),
                ('A', 1.0, 'tightened', ('F', 20, 0, 1)),
                ('R', 0.025, 'tightened', ('S', 3150, 1, 2)),
                ('P', 0.015, 'tightened', ('Q', 1250, 0, 1)),
                # reduced: the same arrows with Table 2-C's samples
                ('F', 1.0, 'reduced', ('E', 5, 0, 1)),
                ('A', 2.5, 'reduced', ('C', 2, 0, 1)),
                ('K', 0.25, 'reduced', ('L', 80, 1, 2)),
                ]:
            with self.subTest(letter=letter, aql=aql, severity=severity):
                plan = single_plan(letter, aql, severity, PLANS)
                self.assertEqual((plan.letter, plan.sample_size,
                        plan.accept, plan.reject), expected)

    def test_lot_to_plan_published_examples(self):
        "From the lot size to the plan, as the standard's examples read"
        for lot_size, level, aql, severity, expected in [
                (2000, 'II', 1.0, 'normal', ('K', 125, 3, 4)),
                (2000, 'II', 1.0, 'tightened', ('K', 125, 2, 3)),
                (2000, 'II', 1.0, 'reduced', ('K', 50, 2, 3)),
                (1000, 'II', 2.5, 'normal', ('J', 80, 5, 6)),
                (1000, 'II', 2.5, 'tightened', ('J', 80, 3, 4)),
                (1000, 'II', 2.5, 'reduced', ('J', 32, 3, 4)),
                (5000, 'II', 0.65, 'tightened', ('L', 200, 2, 3)),
                (150, 'II', 4.0, 'tightened', ('F', 20, 1, 2)),
                (40, 'I', 6.5, 'normal', ('D', 8, 1, 2))]:
            with self.subTest(lot_size=lot_size, aql=aql, severity=severity):
                plan = sampling_plan(lot_size, level, aql, severity,
                    LETTER_ROWS, PLANS)
                self.assertEqual((plan.letter, plan.sample_size,
                        plan.accept, plan.reject), expected)


class InvariantsTestCase(unittest.TestCase):
    "What holds for every lookup"

    @settings(max_examples=400, deadline=None)
    @given(st.integers(1, 3_000_000), st.sampled_from(LEVELS),
        st.sampled_from(AQLS), st.sampled_from(SEVERITIES))
    def test_plan_is_consistent(self, lot_size, level, aql, severity):
        "Ac < Re (= Ac + 1), n ≤ lot size or the whole lot inspected"
        plan = sampling_plan(lot_size, level, aql, severity, LETTER_ROWS,
            PLANS)
        self.assertLess(plan.accept, plan.reject)
        self.assertEqual(plan.reject, plan.accept + 1)
        self.assertGreaterEqual(plan.sample_size, 1)
        if plan.full:
            self.assertEqual(plan.sample_size, lot_size)
        else:
            self.assertLess(plan.sample_size, lot_size)

    @settings(max_examples=300, deadline=None)
    @given(st.integers(1, 2_000_000), st.integers(1, 500_000),
        st.sampled_from(LEVELS), st.sampled_from(AQLS),
        st.sampled_from(SEVERITIES))
    def test_monotonic_in_lot_size(self, lot_size, more, level, aql,
            severity):
        "A larger lot never gets a smaller sample nor an earlier letter"
        small = sampling_plan(lot_size, level, aql, severity, LETTER_ROWS,
            PLANS)
        large = sampling_plan(lot_size + more, level, aql, severity,
            LETTER_ROWS, PLANS)
        self.assertLessEqual(small.sample_size, large.sample_size)
        self.assertLessEqual(
            LETTERS.index(code_letter(lot_size, level, LETTER_ROWS)),
            LETTERS.index(code_letter(lot_size + more, level, LETTER_ROWS)))

    @settings(max_examples=300, deadline=None)
    @given(st.integers(2, 2_000_000), st.sampled_from(LEVELS),
        st.sampled_from(AQLS))
    def test_reduced_never_larger_tightened_never_laxer(
            self, lot_size, level, aql):
        """Reduced inspects at most the normal sample; tightened accepts
        at most what normal accepts from a sample at least as large"""
        normal = sampling_plan(lot_size, level, aql, 'normal',
            LETTER_ROWS, PLANS)
        reduced = sampling_plan(lot_size, level, aql, 'reduced',
            LETTER_ROWS, PLANS)
        tightened = sampling_plan(lot_size, level, aql, 'tightened',
            LETTER_ROWS, PLANS)
        self.assertLessEqual(reduced.sample_size, normal.sample_size)
        if tightened.sample_size == normal.sample_size:
            self.assertLessEqual(tightened.accept, normal.accept)
        else:
            self.assertGreater(tightened.sample_size, normal.sample_size)


class SwitchingClause9TestCase(unittest.TestCase):
    "The switching rules of ISO 2859-1:1999 clause 9, rule by rule"

    def test_normal_to_tightened_2_of_5(self):
        from trytond.modules.inventory_qc.sampling import replay
        for results, severity in [
                ([False, True, True, True, False], 'tightened'),
                ([False, False], 'tightened'),
                ([False, True, True, True, True, False], 'normal'),
                ([True] * 20 + [False], 'normal')]:
            with self.subTest(results=results):
                self.assertEqual(replay(results).severity, severity)

    def test_tightened_to_normal_5_consecutive(self):
        from trytond.modules.inventory_qc.sampling import (
            SwitchingState, replay)
        tightened = SwitchingState('tightened')
        state = replay([True] * 4 + [False] + [True] * 4, tightened)
        self.assertEqual(state.severity, 'tightened')
        state = replay([True], state)
        self.assertEqual(state.severity, 'normal')
        # back at normal the switching score starts from 0
        self.assertEqual(state.score, 0)

    def test_discontinue_after_5_not_accepted_then_resume(self):
        from trytond.modules.inventory_qc.sampling import (
            SwitchingState, replay, resume, switch)
        tightened = SwitchingState('tightened')
        state = replay([False, True, False, True, False, True, False],
            tightened)
        self.assertEqual(state.severity, 'tightened')
        state = switch(state, False)
        self.assertEqual(state.severity, 'discontinued')
        # nothing changes until the corrective action
        self.assertEqual(replay([True] * 10, state), state)
        self.assertEqual(resume(state).severity, 'tightened')
        self.assertEqual(resume(tightened), tightened)

    def test_normal_to_reduced_needs_score_steady_and_approval(self):
        from trytond.modules.inventory_qc.sampling import replay
        lots = [(True, 3, True)] * 10     # +3 each: score 30 at lot 10
        self.assertEqual(replay(lots[:9], approved=True).severity, 'normal')
        self.assertEqual(replay(lots, approved=True).severity, 'reduced')
        # without the authority's approval or steady production: normal,
        # the score kept
        state = replay(lots)
        self.assertEqual((state.severity, state.score), ('normal', 30))
        state = replay(lots, approved=True, steady=False)
        self.assertEqual((state.severity, state.score), ('normal', 30))
        # Ac ≤ 1: +2 per accepted lot, 15 lots
        self.assertEqual(
            replay([(True, 1, False)] * 15, approved=True).severity,
            'reduced')
        # a lot not accepted, or Ac ≥ 2 not accepted at the tighter AQL,
        # resets the score
        self.assertEqual(replay(lots[:9] + [(False, 3, False)]).score, 0)
        self.assertEqual(replay(lots[:9] + [(True, 3, False)]).score, 0)

    def test_reduced_to_normal(self):
        from trytond.modules.inventory_qc.sampling import (
            SwitchingState, switch)
        reduced = SwitchingState('reduced', skip_count=3)
        self.assertEqual(switch(reduced, False).severity, 'normal')
        self.assertEqual(
            switch(reduced, True, steady=False).severity, 'normal')
        self.assertEqual(switch(reduced, True).severity, 'reduced')
        self.assertEqual(switch(reduced, True).skip_count, 4)

    @settings(max_examples=300, deadline=None)
    @given(st.lists(st.tuples(st.booleans(), st.integers(0, 21),
                st.booleans()), max_size=80))
    def test_never_reduced_without_approval(self, results):
        from trytond.modules.inventory_qc.sampling import replay
        self.assertNotEqual(replay(results).severity, 'reduced')
        self.assertNotEqual(
            replay(results, approved=True, steady=False).severity,
            'reduced')

    @settings(max_examples=300, deadline=None)
    @given(st.lists(st.booleans(), max_size=80))
    def test_reduced_only_after_a_clean_run(self, results):
        "Reduced needs at least 15 accepted lots in a row at Ac ≤ 1"
        from trytond.modules.inventory_qc.sampling import replay
        if replay(results, approved=True).severity == 'reduced':
            run = 0
            for accepted in results:
                run = run + 1 if accepted else 0
                if run >= 15:
                    break
            self.assertGreaterEqual(run, 15)
