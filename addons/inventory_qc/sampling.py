"""Acceptance sampling by attributes: ISO 2859-1 single sampling plans and
their switching rules (requirement A4).

Pure Python (no Tryton import).  The tables themselves are data: the
module loads them as records an administrator can edit
(``sampling_table.xml``), gathers them into the plain structures below and
calls these functions.

Reference: ISO 2859-1:1999, *Sampling procedures for inspection by
attributes — Part 1: Sampling schemes indexed by acceptance quality limit
(AQL) for lot-by-lot inspection* (identical in structure to ANSI/ASQ Z1.4):

* Table 1 — sample size code letter by lot size and inspection level
  (special levels S-1…S-4, general levels I, II, III);
* Tables 2-A, 2-B, 2-C — single sampling plans for normal, tightened and
  reduced inspection: per code letter a sample size ``n``, per AQL an
  acceptance number ``Ac`` and a rejection number ``Re``, or an arrow
  telling to use the first plan below (``down``) or above (``up``) it, with
  that plan's sample size (clause 10.2, "the arrow rule");
* clause 9 — switching rules between normal, tightened and reduced
  inspection, the switching score (with steady production and the
  authority's approval for reduced), discontinuation and resumption;
* ISO 2859-3 — skip-lot: a supplier with a long clean record has only a
  fraction of the lots inspected.

Structures:

``letters``
    list of ``(lot_min, lot_max, {level: letter})``; ``lot_max`` ``None``
    for "and over".
``plans``
    dict ``{(severity, letter): (sample_size, {aql: cell})}`` where a cell
    is ``(ac, re)`` or ``'up'`` / ``'down'``; the letters of one severity
    are ordered by :data:`LETTERS`.
"""
from dataclasses import dataclass, field

__all__ = ['LETTERS', 'LEVELS', 'SEVERITIES', 'Plan', 'SamplingError',
    'code_letter', 'single_plan', 'sampling_plan', 'SwitchingState',
    'switch', 'resume', 'replay', 'tighter_aql']

LETTERS = 'ABCDEFGHJKLMNPQRS'
LEVELS = ('S-1', 'S-2', 'S-3', 'S-4', 'I', 'II', 'III')
SEVERITIES = ('normal', 'tightened', 'reduced')


class SamplingError(ValueError):
    "A lookup that the tables cannot answer; ``code`` names why"

    def __init__(self, code, value=None):
        super().__init__(f'{code}: {value!r}')
        self.code = code
        self.value = value


@dataclass(frozen=True)
class Plan:
    """A single sampling plan: inspect ``sample_size`` units of the lot,
    accept it if at most ``accept`` are defective, reject it from
    ``reject`` defective on.  ``letter`` is the code letter whose plan
    applies after the arrow rule; ``full`` is true when the sample is the
    whole lot (the plan's sample is not smaller than the lot)."""
    letter: str
    severity: str
    aql: float
    sample_size: int
    accept: int
    reject: int
    full: bool = False

    def accepts(self, defective):
        """Whether the lot is accepted with ``defective`` units found.

        >>> Plan('K', 'normal', 1.0, 125, 3, 4).accepts(3)
        True
        >>> Plan('K', 'normal', 1.0, 125, 3, 4).accepts(4)
        False
        """
        return defective <= self.accept


def code_letter(lot_size, level, letters):
    """Return the sample size code letter of Table 1 for ``lot_size`` units
    at inspection ``level`` (one of :data:`LEVELS`).

    Complexity: O(r) for r lot size ranges.

    >>> rows = [(1201, 3200, {'II': 'K', 'I': 'H'})]
    >>> code_letter(2000, 'II', rows)
    'K'
    """
    if not isinstance(lot_size, int) or isinstance(lot_size, bool):
        raise SamplingError('lot_size', lot_size)
    if lot_size < 1:
        raise SamplingError('lot_size', lot_size)
    if level not in LEVELS:
        raise SamplingError('level', level)
    for lot_min, lot_max, by_level in letters:
        if lot_min <= lot_size and (lot_max is None or lot_size <= lot_max):
            letter = by_level.get(level)
            if not letter:
                raise SamplingError('level', level)
            return letter
    raise SamplingError('lot_size', lot_size)


def _cell(plans, severity, letter, aql):
    entry = plans.get((severity, letter))
    if entry is None:
        return None, None
    sample_size, cells = entry
    return sample_size, cells.get(aql)


def single_plan(letter, aql, severity, plans):
    """Return the :class:`Plan` of Tables 2-A/2-B/2-C for code ``letter``,
    ``aql`` (percent nonconforming) and ``severity``, following the arrows:
    ``down`` uses the first plan below in the same AQL column (larger
    sample), ``up`` the first one above; when the arrow leads off the
    table, the first plan in the other direction is used.

    Complexity: O(l) for l code letters.

    >>> plans = {('normal', 'J'): (80, {1.0: (2, 3)}),
    ...     ('normal', 'K'): (125, {1.0: (3, 4), 0.1: 'down'}),
    ...     ('normal', 'L'): (200, {1.0: (5, 6), 0.1: (0, 1)})}
    >>> plan = single_plan('K', 0.1, 'normal', plans)
    >>> plan.letter, plan.sample_size, plan.accept, plan.reject
    ('L', 200, 0, 1)
    """
    if severity not in SEVERITIES:
        raise SamplingError('severity', severity)
    order = [l for l in LETTERS if (severity, l) in plans]
    if letter not in order:
        raise SamplingError('letter', letter)
    index = order.index(letter)
    _, cell = _cell(plans, severity, letter, aql)
    if cell is None:
        raise SamplingError('aql', aql)
    step = {'down': 1, 'up': -1}.get(cell, 0)
    for direction in ([step, -step] if step else [0]):
        position = index
        seen = set()
        while 0 <= position < len(order) and position not in seen:
            seen.add(position)
            size, cell = _cell(plans, severity, order[position], aql)
            if isinstance(cell, (tuple, list)):
                accept, reject = cell
                return Plan(order[position], severity, aql, size,
                    int(accept), int(reject))
            if cell not in ('up', 'down') or not direction:
                break
            position += direction
    raise SamplingError('no_plan', (letter, aql, severity))


def sampling_plan(lot_size, level, aql, severity, letters, plans):
    """Return the :class:`Plan` for a lot of ``lot_size`` units: the code
    letter of Table 1, then the single sampling plan of the severity's
    table; when the sample would not be smaller than the lot, the whole
    lot is inspected with the plan's acceptance number (clause 10.2).

    >>> letters = [(1201, 3200, {'II': 'K'}), (1, 8, {'II': 'A'})]
    >>> plans = {('normal', 'K'): (125, {1.0: (3, 4)}),
    ...     ('normal', 'A'): (2, {1.0: 'down'}),
    ...     ('normal', 'B'): (3, {1.0: 'down'}),
    ...     ('normal', 'C'): (5, {1.0: (0, 1)})}
    >>> sampling_plan(2000, 'II', 1.0, 'normal', letters, plans).sample_size
    125
    >>> plan = sampling_plan(4, 'II', 1.0, 'normal', letters, plans)
    >>> plan.sample_size, plan.accept, plan.full
    (4, 0, True)
    """
    letter = code_letter(lot_size, level, letters)
    plan = single_plan(letter, aql, severity, plans)
    if plan.sample_size >= lot_size:
        plan = Plan(plan.letter, plan.severity, plan.aql, lot_size,
            plan.accept, plan.reject, full=True)
    return plan


# --- Switching rules (clause 9) and skip-lot (ISO 2859-3) -----------------

@dataclass(frozen=True)
class SwitchingState:
    """Where a supplier's inspection stands.

    ``severity`` is normal, tightened, reduced or ``'discontinued'``;
    ``recent`` the results (True accepted) of the lots since the last
    switch, newest last; ``score`` the switching score of clause 9.3.3;
    ``tightened_rejections`` the lots not accepted since tightened
    inspection began (5 discontinue it, clause 9.4); ``skip_count`` the
    consecutive accepted lots at reduced inspection (skip-lot qualifies at
    ``skip_after``)."""
    severity: str = 'normal'
    recent: tuple = field(default_factory=tuple)
    score: int = 0
    tightened_rejections: int = 0
    skip_count: int = 0

    def skip_lot(self, skip_after=10):
        """Whether the supplier qualifies for skip-lot inspection: at
        reduced inspection with ``skip_after`` consecutive lots accepted.

        >>> SwitchingState('reduced', skip_count=10).skip_lot()
        True
        """
        return self.severity == 'reduced' and self.skip_count >= skip_after


def switch(state, accepted, accept_number=1, accepted_tighter=None,
        steady=True, approved=False):
    """Return the :class:`SwitchingState` after one lot's result.

    ``accepted``: the lot was accepted on original inspection (a lot
    released by concession was not); ``accept_number``: the Ac of the plan
    used; ``accepted_tighter``: the lot would also have been accepted with
    the AQL one step tighter (for the switching score when Ac ≥ 2;
    defaults to ``accepted``); ``steady``: production is at a steady rate;
    ``approved``: the responsible authority considers reduced inspection
    desirable.

    * normal → tightened when 2 of 5 or fewer consecutive lots are not
      accepted (9.3.1);
    * tightened → normal after 5 consecutive accepted lots (9.3.2);
      5 lots not accepted while tightened discontinue inspection (9.4),
      until :func:`resume` after corrective action;
    * normal → reduced when the switching score reaches 30 **and**
      production is steady **and** the authority approves (9.3.3): the
      score starts at 0, adds 2 per accepted lot when Ac ≤ 1 (else back
      to 0), adds 3 per lot accepted at the tighter AQL when Ac ≥ 2 (else
      back to 0) — so at least 10 accepted lots; without the other two
      conditions the lot stays at normal and the score is kept;
    * reduced → normal when a lot is not accepted or production is not
      steady (9.3.4).

    >>> s = SwitchingState()
    >>> s = switch(switch(s, False), False)
    >>> s.severity
    'tightened'
    >>> for _ in range(5):
    ...     s = switch(s, True)
    >>> s.severity
    'normal'
    """
    if accepted_tighter is None:
        accepted_tighter = accepted
    severity = state.severity
    if severity == 'discontinued':
        return state
    recent = (state.recent + (bool(accepted),))[-5:]
    if severity == 'normal':
        if recent.count(False) >= 2:
            return SwitchingState('tightened')
        if not accepted:
            score = 0
        elif accept_number <= 1:
            score = state.score + 2
        else:
            score = state.score + 3 if accepted_tighter else 0
        if score >= 30 and steady and approved:
            return SwitchingState('reduced')
        return SwitchingState('normal', recent, score)
    if severity == 'tightened':
        rejections = state.tightened_rejections + (0 if accepted else 1)
        if rejections >= 5:
            return SwitchingState('discontinued', recent, 0, rejections)
        if len(recent) == 5 and all(recent):
            return SwitchingState('normal')
        return SwitchingState('tightened', recent, 0, rejections)
    # reduced
    if not accepted or not steady:
        return SwitchingState('normal')
    return SwitchingState('reduced', recent, 0, 0, state.skip_count + 1)


def resume(state):
    """Return the state once corrective action was taken after inspection
    was discontinued: tightened inspection, as if 2 lots had just been
    rejected (9.4).

    >>> resume(SwitchingState('discontinued', tightened_rejections=5))
    SwitchingState(severity='tightened', recent=(), score=0, \
tightened_rejections=0, skip_count=0)
    """
    if state.severity != 'discontinued':
        return state
    return SwitchingState('tightened')


def replay(results, state=None, steady=True, approved=False):
    """Return the :class:`SwitchingState` after a history of lot results,
    oldest first; each result is ``(accepted, accept_number,
    accepted_tighter)`` or just ``accepted``; ``steady`` and ``approved``
    as for :func:`switch`.

    >>> replay([True] * 15, approved=True).severity
    'reduced'
    >>> replay([True] * 15).severity, replay([True] * 15).score
    ('normal', 30)
    """
    state = state or SwitchingState()
    for result in results:
        if not isinstance(result, (tuple, list)):
            result = (result,)
        state = switch(state, *result, steady=steady, approved=approved)
    return state


def tighter_aql(aql, aqls):
    """Return the AQL one step tighter than ``aql`` in the sorted
    ``aqls`` of the table, or None for the tightest (switching score,
    9.3.3).

    >>> tighter_aql(1.0, [0.65, 1.0, 1.5])
    0.65
    """
    smaller = [a for a in aqls if a < aql]
    return max(smaller) if smaller else None
