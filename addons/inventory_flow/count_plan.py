"""Cycle count planning and the tolerance of a count (B4).

Pure Python, no trytond import.  The model gathers the bins with their
class and last count, calls :func:`plan` and inserts the tasks in one
statement; :func:`within_tolerance` decides whether a counted variance
posts at once or needs a recount and a manager's approval.

Reference: cycle counting by ABC class as described in APICS CPIM
"Inventory record accuracy" and Brooks & Wilson, *Inventory Record
Accuracy*, 2nd ed. (2007), ch. 7: each item is counted at its class's
frequency, the counts are levelled over the working days.
"""

from collections import namedtuple
from decimal import Decimal

__all__ = ['plan', 'within_tolerance', 'Plan', 'PlanError', 'interval']

#: the result of :func:`plan`: ``days`` maps a working-day index to the bins
#: counted that day, ``unplanned`` lists bins that found no day with room
Plan = namedtuple('Plan', ['days', 'unplanned'])


class PlanError(ValueError):
    "The plan is impossible: the message says why"


def interval(counts_per_year, working_days_per_year):
    """The number of working days between two counts of a class.

    >>> interval(12, 240)
    20
    >>> interval(1, 250)
    250
    """
    if counts_per_year <= 0:
        raise PlanError("counts per year must be positive")
    return max(1, round(working_days_per_year / counts_per_year))


def plan(bins, intervals, days, capacity):
    """Spread the counts of ``bins`` over ``days`` working days.

    Parameters
    ----------
    bins : iterable of (bin, class, last)
        Each bin with its class and the index of its last count relative
        to the first day of the plan (negative: before it; ``None``: never
        counted).  A bin's class is the highest class of the products it
        holds (the caller's rule).
    intervals : dict
        ``{class: working days between two counts}`` (see :func:`interval`).
    days : int
        The number of working days of the plan.
    capacity : int
        The most counts a day may hold.

    Returns
    -------
    Plan
        ``days``: ``{day index: [bin, ...]}`` — a bin counted last on day
        L is due on L + interval, then every interval; a bin never counted
        is due at its rank in its class × interval / bins of the class, so
        that the first round of each class is spread evenly; an overdue bin
        is due on day 0.  Each count goes to its due day or, when that day
        is full, to the nearest day with room within half an interval
        (later days first), never beyond ``capacity``.  ``unplanned``:
        counts that found no room.

    Raises :class:`PlanError` when the average load (counts due / days)
    exceeds the capacity: no levelling can help, the capacity or the
    frequencies must change.

    Complexity: O(c · w) for c counts and a search window of w days.

    >>> p = plan([(1, 'A', None), (2, 'A', None), (3, 'C', -12)],
    ...     {'A': 2, 'C': 10}, 4, 2)
    >>> p.days
    {0: [1, 3], 1: [2], 2: [1], 3: [2]}
    >>> p.unplanned
    []
    """
    if capacity <= 0:
        raise PlanError("the daily capacity must be positive")
    if days <= 0:
        return Plan({}, [])
    by_class = {}
    for bin_, class_, last in bins:
        if class_ not in intervals:
            raise PlanError("no count frequency for class %r" % (class_,))
        by_class.setdefault(class_, []).append((bin_, last))
    occurrences = []
    for class_, members in by_class.items():
        step = intervals[class_]
        fresh = [b for b, last in members if last is None]
        size = len(fresh)
        first = {b: (rank * step) // size for rank, b in enumerate(fresh)}
        for bin_, last in members:
            due = first[bin_] if last is None else max(0, last + step)
            while due < days:
                occurrences.append((due, step, bin_))
                due += step
    if len(occurrences) > capacity * days:
        raise PlanError(
            "%d counts are due over %d working days: a capacity of %d a "
            "day is too small" % (len(occurrences), days, capacity))
    occurrences.sort(key=lambda o: (o[0], o[1], str(o[2])))
    load = [0] * days
    result, unplanned = {}, []
    for due, step, bin_ in occurrences:
        slack = max(1, step // 2)
        chosen = None
        for offset in range(slack + 1):
            for day in (due + offset, due - offset):
                if 0 <= day < days and load[day] < capacity:
                    chosen = day
                    break
            if chosen is not None:
                break
        if chosen is None:
            unplanned.append(bin_)
            continue
        load[chosen] += 1
        result.setdefault(chosen, []).append(bin_)
    return Plan(dict(sorted(result.items())), unplanned)


def within_tolerance(expected, counted, unit_value, quantity_percent,
        value_limit):
    """Whether a counted quantity is within the tolerance of its class.

    Parameters: ``expected`` what the book says the bin held when it was
    counted, ``counted`` what was found, ``unit_value`` the cost of one
    unit, ``quantity_percent`` the tolerated variance as a percentage of
    the expected quantity, ``value_limit`` the tolerated variance value.
    Both limits must hold; a variance on an expected 0 is beyond any
    percentage.

    >>> within_tolerance(100, 98, 1, 5, 10)
    True
    >>> within_tolerance(100, 90, 1, 5, 100)
    False
    >>> within_tolerance(100, 98, 20, 5, 10)
    False
    >>> within_tolerance(0, 0, 5, 0, 0)
    True
    """
    expected = Decimal(str(expected))
    variance = abs(Decimal(str(counted)) - expected)
    if not variance:
        return True
    quantity_ok = variance <= abs(expected) * Decimal(
        str(quantity_percent)) / 100
    value_ok = variance * abs(Decimal(str(unit_value))) <= Decimal(
        str(value_limit))
    return quantity_ok and value_ok
