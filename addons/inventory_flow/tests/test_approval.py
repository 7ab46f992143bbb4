"Unit tests of the pure approval-chain logic (A2, D1)"
import doctest
import unittest
from decimal import Decimal

from hypothesis import given, settings, strategies as st

from trytond.modules.inventory_flow import approval
from trytond.modules.inventory_flow.approval import (
    ApprovalError, Document, Level, Rule, RuleSet, Step, acting_for,
    applicable_rules, build_chain, check_decision, check_rule,
    delegation_cycle, level_complete)

# Pure code: run once, not again on each database backend (tests/run.py)
BACKEND_INDEPENDENT = True

users = st.integers(min_value=1, max_value=8)
amounts = st.one_of(st.none(), st.integers(0, 100_000).map(Decimal))
steps = st.builds(
    Step, name=st.sampled_from(['Lead', 'Manager', 'CFO']),
    approvers=st.frozensets(users, min_size=1, max_size=4),
    mode=st.sampled_from(['any', 'all']))


@st.composite
def rules(draw, id_=None):
    low, high = draw(amounts), draw(amounts)
    if low is not None and high is not None and low >= high:
        low, high = high, None if low == high else low
    return Rule(
        id=id_ if id_ is not None else draw(st.integers(1, 10_000)),
        priority=draw(st.integers(0, 5)),
        amount_min=low, amount_max=high,
        categories=draw(st.frozensets(st.integers(1, 4), max_size=2)),
        suppliers=draw(st.frozensets(st.integers(1, 4), max_size=2)),
        warehouses=draw(st.frozensets(st.integers(1, 2), max_size=1)),
        exclusive=draw(st.booleans()),
        steps=tuple(draw(st.lists(steps, min_size=1, max_size=3))))


rule_lists = st.lists(st.integers(1, 10_000), unique=True, max_size=8).flatmap(
    lambda ids: st.tuples(*(rules(i) for i in ids)).map(list))
documents = st.builds(
    Document, amount=st.integers(0, 120_000).map(Decimal),
    supplier=st.integers(1, 4), warehouse=st.integers(1, 2),
    categories=st.frozensets(st.integers(1, 4), max_size=3))


class RuleMatchingTestCase(unittest.TestCase):
    "Which rules apply to a purchase"

    def test_empty_conditions_match_everything(self):
        rule = Rule(1, steps=(Step('Lead', {1}),))
        self.assertTrue(rule.matches(Document(Decimal(0))))
        self.assertTrue(rule.matches(Document(
                    Decimal('1e9'), supplier=3, warehouse=4,
                    categories={5})))

    def test_amount_window_min_included_max_excluded(self):
        rule = Rule(1, amount_min=Decimal(1000), amount_max=Decimal(5000),
            steps=(Step('Lead', {1}),))
        self.assertFalse(rule.matches(Document(Decimal(999))))
        self.assertTrue(rule.matches(Document(Decimal(1000))))
        self.assertTrue(rule.matches(Document(Decimal('4999.99'))))
        self.assertFalse(rule.matches(Document(Decimal(5000))))

    def test_combined_conditions(self):
        rule = Rule(1, suppliers={1}, categories={10, 11}, warehouses={7},
            steps=(Step('Lead', {1}),))
        self.assertTrue(rule.matches(Document(
                    Decimal(1), supplier=1, warehouse=7, categories={11, 99})))
        for document in [
                Document(Decimal(1), supplier=2, warehouse=7, categories={11}),
                Document(Decimal(1), supplier=1, warehouse=8, categories={11}),
                Document(Decimal(1), supplier=1, warehouse=7, categories={12}),
                ]:
            self.assertFalse(rule.matches(document), document)

    def test_priority_order_and_exclusive_rule(self):
        lead = Rule(1, priority=10, steps=(Step('Lead', {1}),))
        cfo = Rule(2, priority=20, amount_min=Decimal(50_000),
            steps=(Step('CFO', {2}),))
        stop = Rule(3, priority=5, suppliers={9}, exclusive=True,
            steps=(Step('Strategic supplier', {3}),))
        rules_ = [cfo, lead, stop]
        self.assertEqual(
            applicable_rules(rules_, Document(Decimal(60_000), supplier=1)),
            [lead, cfo])
        self.assertEqual(
            applicable_rules(rules_, Document(Decimal(60_000), supplier=9)),
            [stop])
        self.assertEqual(
            applicable_rules(rules_, Document(Decimal(100), supplier=1)),
            [lead])

    @given(rule_lists, documents)
    @settings(max_examples=100, deadline=None)
    def test_rule_set_equals_plain_matching(self, rules_, document):
        self.assertEqual(
            RuleSet(rules_).applicable(document),
            applicable_rules(rules_, document))

    @given(rule_lists, documents)
    @settings(max_examples=100, deadline=None)
    def test_applicable_rules_match_and_keep_priority(self, rules_, document):
        applying = applicable_rules(rules_, document)
        self.assertTrue(all(r.matches(document) for r in applying))
        self.assertEqual(applying, sorted(applying, key=lambda r: r.order))
        if not any(r.exclusive for r in applying):
            self.assertEqual(
                set(applying), {r for r in rules_ if r.matches(document)})


class ChainTestCase(unittest.TestCase):
    "Building the chain and deciding its levels"

    def test_levels_follow_rules_then_steps(self):
        rule1 = Rule(1, priority=1, steps=(
                Step('Lead', {1, 2}), Step('Manager', {3}, 'all')))
        rule2 = Rule(2, priority=2, steps=(Step('CFO', {4}),))
        chain = build_chain([rule2, rule1], Document(Decimal(10)))
        self.assertEqual(
            [(l.sequence, l.name, l.mode) for l in chain],
            [(1, 'Lead', 'any'), (2, 'Manager', 'all'), (3, 'CFO', 'any')])

    def test_requester_never_approver(self):
        rule = Rule(1, steps=(Step('Lead', {1, 2}),))
        chain = build_chain([rule], Document(Decimal(10)), requester=1)
        self.assertEqual(chain[0].approvers, frozenset({2}))
        with self.assertRaises(ApprovalError) as cm:
            build_chain([Rule(1, steps=(Step('Lead', {1}),))],
                Document(Decimal(10)), requester=1)
        self.assertEqual(cm.exception.code, 'only_requester')

    @given(rule_lists, documents, users)
    @settings(max_examples=100, deadline=None)
    def test_chain_never_contains_requester(self, rules_, document, requester):
        try:
            chain = build_chain(rules_, document, requester)
        except ApprovalError as error:
            self.assertEqual(error.code, 'only_requester')
            return
        for level in chain:
            self.assertNotIn(requester, level.approvers)
            self.assertTrue(level.approvers)
        self.assertEqual(
            [l.sequence for l in chain], list(range(1, len(chain) + 1)))

    def test_level_complete(self):
        self.assertFalse(level_complete('any', {1, 2}, set()))
        self.assertTrue(level_complete('any', {1, 2}, {2}))
        self.assertFalse(level_complete('all', {1, 2}, {2}))
        self.assertTrue(level_complete('all', {1, 2}, {1, 2}))
        # an approval for someone who is not an approver counts for nothing
        self.assertFalse(level_complete('any', {1, 2}, {3}))

    def _level(self, approvers, mode='any'):
        step = Step('Lead', approvers, mode)
        return Level(1, Rule(1, steps=(step,)), step, frozenset(approvers))

    def test_check_decision_refusals(self):
        level = self._level({1, 2}, 'all')

        def code(**kwargs):
            values = dict(user=1, requester=9, approved_for=set(),
                earlier_deciders=set(), delegations={})
            values.update(kwargs)
            try:
                check_decision(level, **values)
            except ApprovalError as error:
                return error.code
        self.assertEqual(code(user=9, requester=9), 'self_approval')
        self.assertEqual(code(user=5), 'not_approver')
        self.assertEqual(code(approved_for={1}), 'already_decided')
        self.assertEqual(code(earlier_deciders={1}), 'two_levels')
        self.assertIsNone(code())
        self.assertEqual(check_decision(level, 5, 9, set(), set(), {2: 5}),
            {2})
        self.assertEqual(
            check_decision(level, 7, 9, {1}, set(), {}, fallback=7), {2})


class RuleCheckTestCase(unittest.TestCase):
    "Inconsistent rules are refused naming the field"

    def _refused(self, rule):
        with self.assertRaises(ApprovalError) as cm:
            check_rule(rule)
        return cm.exception.code, cm.exception.field

    def test_refusals(self):
        step = Step('Lead', {1})
        self.assertEqual(self._refused(Rule(1, amount_min=Decimal(5),
                    amount_max=Decimal(5), steps=(step,))),
            ('amount_min_above_max', 'amount_min'))
        self.assertEqual(self._refused(Rule(1, amount_min=Decimal(-1),
                    steps=(step,))), ('amount_negative', 'amount_min'))
        self.assertEqual(self._refused(Rule(1)), ('rule_without_step', 'steps'))
        self.assertEqual(self._refused(Rule(1, steps=(Step('X', set()),))),
            ('step_without_approver', 'approvers'))
        self.assertEqual(self._refused(Rule(1, steps=(Step('X', {1}, 'two'),))),
            ('step_mode', 'mode'))
        check_rule(Rule(1, amount_min=Decimal(1), amount_max=Decimal(2),
                steps=(step,)))


class DelegationTestCase(unittest.TestCase):
    "Delegation chains and their loops"

    @given(st.dictionaries(users, users, max_size=8))
    def test_cycle_found_iff_walk_repeats(self, delegations):
        def has_cycle():
            for start in delegations:
                seen, user = set(), start
                while user in delegations:
                    if user in seen:
                        return True
                    seen.add(user)
                    user = delegations[user]
            return False
        cycle = delegation_cycle(delegations)
        self.assertEqual(cycle is not None, has_cycle())
        if cycle:
            self.assertEqual(cycle[0], cycle[-1])
            for a, b in zip(cycle, cycle[1:]):
                self.assertEqual(delegations[a], b)

    def test_acting_for_through_chain_but_not_backwards(self):
        self.assertEqual(acting_for(3, {1}, {1: 2, 2: 3}), {1})
        self.assertEqual(acting_for(1, {3}, {1: 2, 2: 3}), set())
        # a loop does not hang
        self.assertEqual(acting_for(4, {1}, {1: 2, 2: 1}), set())


def load_tests(loader, tests, pattern):
    tests.addTests(doctest.DocTestSuite(approval))
    return tests
