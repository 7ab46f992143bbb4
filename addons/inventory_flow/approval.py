"""Purchase approval chains as data (A2, D1): rule matching, chain building,
decisions and delegation — pure Python, no Tryton import.

A *rule* has conditions (untaxed amount in company currency between
``amount_min`` included and ``amount_max`` excluded, product categories,
suppliers, warehouses; an empty condition matches everything) and ordered
*steps*; a step names approvers and a mode: ``any`` (one of them decides for
the step) or ``all`` (each of them, in parallel).

Every rule that matches a document applies, in priority order (lower number
first, then id); a rule marked ``exclusive`` stops the lower-priority rules.
The steps of the applying rules, in that order, are the sequential *levels*
of the chain: a conditional branch ("over 50 000 also the CFO") is simply a
rule whose conditions add its steps.

>>> small = Rule(1, 10, steps=(Step('Buyer lead', {10, 11}),))
>>> big = Rule(2, 20, amount_min=50000, steps=(Step('CFO', {30}),))
>>> doc = Document(amount=60000, supplier=7)
>>> [level.name for level in build_chain([big, small], doc, requester=10)]
['Buyer lead', 'CFO']
>>> build_chain([big, small], doc, requester=10)[0].approvers
frozenset({11})
"""
import bisect
from dataclasses import dataclass, field
from decimal import Decimal

MODES = ('any', 'all')


class ApprovalError(ValueError):
    """A refused rule, chain or decision.  ``code`` names the problem for the
    caller's message, ``field`` the offending field when there is one."""

    def __init__(self, code, field=None, **values):
        self.code = code
        self.field = field
        self.values = values
        super().__init__(code, field, values)


@dataclass(frozen=True)
class Step:
    name: str
    approvers: frozenset = frozenset()
    mode: str = 'any'
    key: object = None

    def __post_init__(self):
        object.__setattr__(self, 'approvers', frozenset(self.approvers))


@dataclass(frozen=True)
class Rule:
    id: int
    priority: int = 10
    amount_min: Decimal = None
    amount_max: Decimal = None
    categories: frozenset = frozenset()
    suppliers: frozenset = frozenset()
    warehouses: frozenset = frozenset()
    exclusive: bool = False
    steps: tuple = ()
    name: str = ''

    def __post_init__(self):
        for name in ('categories', 'suppliers', 'warehouses'):
            object.__setattr__(self, name, frozenset(getattr(self, name)))
        object.__setattr__(self, 'steps', tuple(self.steps))

    @property
    def order(self):
        return (self.priority, self.id)

    def matches(self, document):
        "Whether every condition of the rule holds for the document"
        if self.amount_min is not None and document.amount < self.amount_min:
            return False
        if (self.amount_max is not None
                and document.amount >= self.amount_max):
            return False
        if self.suppliers and document.supplier not in self.suppliers:
            return False
        if self.warehouses and document.warehouse not in self.warehouses:
            return False
        if self.categories and not (self.categories & document.categories):
            return False
        return True


@dataclass(frozen=True)
class Document:
    "What the rules look at on a purchase"
    amount: Decimal
    supplier: int = None
    warehouse: int = None
    categories: frozenset = field(default_factory=frozenset)

    def __post_init__(self):
        object.__setattr__(self, 'categories', frozenset(self.categories))


@dataclass(frozen=True)
class Level:
    "One sequential level of a chain, its approvers fixed at submission"
    sequence: int
    rule: Rule
    step: Step
    approvers: frozenset

    @property
    def name(self):
        return self.step.name

    @property
    def mode(self):
        return self.step.mode


def _as_set(users):
    "One user id, None or a collection of them, as a set"
    if users is None:
        return set()
    if isinstance(users, (set, frozenset, list, tuple)):
        return set(users) - {None}
    return {users}


def check_rule(rule):
    """Refuse an inconsistent rule with the field that is wrong.

    >>> def refused(rule):
    ...     try:
    ...         check_rule(rule)
    ...     except ApprovalError as error:
    ...         return error.code, error.field
    >>> refused(Rule(1, amount_min=10, amount_max=5, steps=(Step('a', {1}),)))
    ('amount_min_above_max', 'amount_min')
    >>> refused(Rule(1, steps=(Step('Lead', ()),)))
    ('step_without_approver', 'approvers')
    """
    if rule.amount_min is not None and rule.amount_min < 0:
        raise ApprovalError('amount_negative', 'amount_min')
    if rule.amount_max is not None and rule.amount_max < 0:
        raise ApprovalError('amount_negative', 'amount_max')
    if (rule.amount_min is not None and rule.amount_max is not None
            and rule.amount_min >= rule.amount_max):
        raise ApprovalError('amount_min_above_max', 'amount_min')
    if not rule.steps:
        raise ApprovalError('rule_without_step', 'steps')
    for step in rule.steps:
        if step.mode not in MODES:
            raise ApprovalError('step_mode', 'mode', step=step.name)
        if not step.approvers:
            raise ApprovalError(
                'step_without_approver', 'approvers', step=step.name)


def applicable_rules(rules, document):
    """The rules that apply to the document, in priority order; an
    exclusive rule stops the ones after it."""
    result = []
    for rule in sorted(rules, key=lambda r: r.order):
        if rule.matches(document):
            result.append(rule)
            if rule.exclusive:
                break
    return result


class RuleSet:
    """Rules compiled once for matching many documents (batch submission,
    bench): sorted by priority once, and rules whose amount window cannot
    contain the document's amount are skipped through a sorted index."""

    def __init__(self, rules):
        self.rules = sorted(rules, key=lambda r: r.order)
        # rules without lower bound always pass the lower bound test; the
        # others only when amount >= amount_min
        self._by_min = sorted(
            (r.amount_min, i) for i, r in enumerate(self.rules)
            if r.amount_min is not None)
        self._mins = [m for m, _ in self._by_min]
        self._unbounded = [
            i for i, r in enumerate(self.rules) if r.amount_min is None]

    def applicable(self, document):
        cut = bisect.bisect_right(self._mins, document.amount)
        candidates = sorted(
            self._unbounded + [i for _, i in self._by_min[:cut]])
        result = []
        for i in candidates:
            rule = self.rules[i]
            if rule.matches(document):
                result.append(rule)
                if rule.exclusive:
                    break
        return result


def build_chain(rules, document, requester=None, rule_set=None):
    """The levels of the chain for the document: the steps of the applicable
    rules in order.  The requester (one user or several: the creator and
    the submitter) is never one of the approvers; a level left without
    approver is refused (nobody could ever decide it)."""
    excluded = _as_set(requester)
    applying = (rule_set.applicable(document) if rule_set is not None
        else applicable_rules(rules, document))
    levels = []
    for rule in applying:
        for step in rule.steps:
            approvers = step.approvers - excluded
            if not approvers:
                raise ApprovalError(
                    'only_requester', 'approvers', step=step.name)
            levels.append(Level(len(levels) + 1, rule, step, approvers))
    return levels


def delegation_cycle(delegations):
    """A cycle among delegations (user -> substitute) or None.

    >>> delegation_cycle({1: 2, 2: 3})
    >>> delegation_cycle({1: 2, 2: 3, 3: 1})
    [1, 2, 3, 1]
    """
    for start in sorted(delegations):
        path, seen, user = [start], {start}, start
        while user in delegations:
            user = delegations[user]
            path.append(user)
            if user in seen:
                return path[path.index(user):]
            seen.add(user)
    return None


def acting_for(user, approvers, delegations, fallback=None):
    """The approvers the user may decide for: themself if an approver, every
    approver who delegated to them (directly or through a chain of
    delegations) and, once a step is escalated, the fallback stands for
    every approver.

    >>> sorted(acting_for(5, {1, 2}, {1: 5}))
    [1]
    >>> sorted(acting_for(5, {1, 2}, {1: 4, 4: 5}))
    [1]
    >>> sorted(acting_for(9, {1, 2}, {}, fallback=9))
    [1, 2]
    """
    result = set()
    for approver in approvers:
        current, seen = approver, set()
        while current is not None and current not in seen:
            if current == user:
                result.add(approver)
                break
            seen.add(current)
            current = delegations.get(current)
    if fallback is not None and user == fallback:
        result |= set(approvers)
    return result


def level_complete(mode, approvers, approved_for):
    """Whether a level is complete given the approvers already represented
    by an approval (``approved_for``)."""
    approved_for = set(approved_for) & set(approvers)
    if mode == 'any':
        return bool(approved_for)
    return approved_for == set(approvers)


def check_decision(level, user, requester, approved_for, earlier_deciders,
        delegations, fallback=None):
    """The approvers the user decides for at this level, or refuse with the
    reason: self-approval, not an approver, already decided this level, or
    already decided an earlier level of the same chain."""
    if user in _as_set(requester):
        raise ApprovalError('self_approval')
    acting = acting_for(user, level.approvers, delegations, fallback)
    if not acting:
        raise ApprovalError('not_approver', step=level.name)
    if user in earlier_deciders:
        raise ApprovalError('two_levels', step=level.name)
    remaining = acting - set(approved_for)
    if not remaining:
        raise ApprovalError('already_decided', step=level.name)
    return remaining
