"""Cycle counting by ABC class (B4) and record accuracy (D5).

* ``stock.count.class`` — per ABC class: its share of the consumption
  value, its count frequency and its tolerance (rules are data);
* ``stock.count.plan`` — spreads the bins of a warehouse over the working
  days of a period (:mod:`.count_plan`), one ``stock.count.task`` each;
* ``stock.count.task`` — a blind count of one bin: the book quantities are
  snapshotted when the count starts and the moves done in the bin since
  then are added to them, so counting never stops the warehouse; within
  the class's tolerance the adjustment posts through Tryton's
  ``stock.inventory``, beyond it another operator recounts and a manager
  approves;
* opportunistic counts ("does bin X hold N?") asked by a short pick, an
  emptied bin or a putaway;
* ``stock.count.accuracy`` and ``stock.count.variance.bin`` — the reports.
"""
import datetime as dt
from collections import defaultdict
from decimal import Decimal

from sql import Literal, Null, Union
from sql.aggregate import Count, Max, Min, Sum
from sql.conditionals import Case
from sql.functions import Abs

from trytond.cache import Cache
from trytond.exceptions import UserError
from trytond.i18n import gettext
from trytond.model import (
    ModelSingleton, ModelSQL, ModelView, Unique, Workflow, fields)
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval, If
from trytond.rpc import RPC
from trytond.transaction import Transaction, without_check_access

from .abc_class import classify
from .count_plan import PlanError, interval, plan, within_tolerance
from .product import ABC_CLASSES

WEEKDAYS = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday',
    'saturday', 'sunday']
TRIGGERS = [
    (None, ''),
    ('short_pick', "Short Pick"),
    ('emptied', "Emptied Bin"),
    ('putaway', "Putaway"),
    ]
STATES = [
    ('draft', "Planned"),
    ('counting', "Counting"),
    ('recount', "Recount Required"),
    ('approval', "Waiting Approval"),
    ('done', "Done"),
    ('cancelled', "Cancelled"),
    ]


def bin_book(location_ids, keys=None):
    """The done-move quantities (default unit) of the bins, as
    ``{(location, product, lot): quantity}`` in one query; ``keys`` limits
    it to some ``(product, lot)``."""
    Move = Pool().get('stock.move')
    cursor = Transaction().connection.cursor()
    move = Move.__table__()
    result = defaultdict(float)
    if not location_ids:
        return result
    location_ids = list(location_ids)
    # What came into the bins less what left them, one query (two
    # selects, each on its own index)
    selects = []
    for location_column, sign in [(move.to_location, 1),
            (move.from_location, -1)]:
        where = ((move.state == 'done')
            & location_column.in_(location_ids))
        if keys:
            where &= move.product.in_(sorted({k[0] for k in keys}))
        selects.append(move.select(
                location_column.as_('location'), move.product, move.lot,
                (Sum(move.internal_quantity) * sign).as_('quantity'),
                where=where,
                group_by=[location_column, move.product, move.lot]))
    cursor.execute(*Union(*selects, all_=True))
    for location, product, lot, quantity in cursor:
        if keys and (product, lot) not in keys:
            continue
        result[(location, product, lot)] += quantity or 0
    return result


class CountClass(ModelSQL, ModelView):
    "Count Class"
    __name__ = 'stock.count.class'

    abc_class = fields.Selection(ABC_CLASSES[1:], "ABC Class", required=True,
        help="The class of products this rule is about.")
    consumption_share = fields.Numeric("Consumption Share %", digits=(5, 2),
        required=True, domain=[
            ('consumption_share', '>=', 0),
            ('consumption_share', '<=', 100)],
        help="The share of the period's consumption value taken by the "
        "products of this class (e.g. 80 for A, 15 for B, 5 for C).")
    counts_per_year = fields.Integer("Counts per Year", required=True,
        domain=[('counts_per_year', '>', 0)],
        help="How often each bin of this class is counted in a year "
        "(12: monthly, 4: quarterly, 1: yearly).")
    tolerance_quantity = fields.Numeric("Quantity Tolerance %",
        digits=(5, 2), required=True,
        domain=[('tolerance_quantity', '>=', 0)],
        help="The variance tolerated without recount, as a percentage of "
        "the expected quantity.")
    tolerance_value = fields.Numeric("Value Tolerance", digits=(16, 2),
        required=True, domain=[('tolerance_value', '>=', 0)],
        help="The variance value (at cost) tolerated without recount.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('abc_class_unique', Unique(t, t.abc_class),
                'inventory_flow.msg_count_class_unique'),
            ]
        cls._order = [('abc_class', 'ASC'), ('id', 'ASC')]

    def get_rec_name(self, name):
        return self.abc_class

    @classmethod
    def rules(cls):
        "Return the rules ``{class: record}`` and the last class"
        classes = cls.search([], order=[('abc_class', 'ASC')])
        if not classes:
            raise UserError(gettext('inventory_flow.msg_count_no_class'))
        return {c.abc_class: c for c in classes}, classes[-1].abc_class


class CountReason(ModelSQL, ModelView):
    "Count Adjustment Reason"
    __name__ = 'stock.count.reason'

    code = fields.Char("Code", required=True,
        help="The short code printed on adjustments.")
    name = fields.Char("Name", required=True, translate=True,
        help="What caused the variance.")
    active = fields.Boolean("Active",
        help="Uncheck to stop offering the reason.")

    @staticmethod
    def default_active():
        return True

    def get_rec_name(self, name):
        return f'{self.code} - {self.name}'


class CountConfiguration(ModelSingleton, ModelSQL, ModelView):
    "Count Configuration"
    __name__ = 'stock.count.configuration'
    _questions_cache = Cache(
        'stock.count.configuration.questions', context=False)

    daily_capacity = fields.Integer("Daily Capacity", required=True,
        domain=[('daily_capacity', '>', 0)],
        help="The most bins the team counts in a working day.")
    monday = fields.Boolean("Monday", help="Counts are planned on Mondays.")
    tuesday = fields.Boolean("Tuesday",
        help="Counts are planned on Tuesdays.")
    wednesday = fields.Boolean("Wednesday",
        help="Counts are planned on Wednesdays.")
    thursday = fields.Boolean("Thursday",
        help="Counts are planned on Thursdays.")
    friday = fields.Boolean("Friday", help="Counts are planned on Fridays.")
    saturday = fields.Boolean("Saturday",
        help="Counts are planned on Saturdays.")
    sunday = fields.Boolean("Sunday", help="Counts are planned on Sundays.")
    abc_period_days = fields.Integer("ABC Period (days)", required=True,
        domain=[('abc_period_days', '>', 0)],
        help="The consumption of the last so many days classifies products.")
    default_reason = fields.Many2One('stock.count.reason', "Default Reason",
        help="The reason given to adjustments that post within tolerance.")
    ask_on_putaway = fields.Boolean("Ask after Putaway",
        help="After a putaway the scanner asks whether the bin holds the "
        "quantity the system expects.")
    ask_on_emptied_bin = fields.Boolean("Ask for Emptied Bins",
        help="A move that empties a bin asks an operator to confirm that "
        "the bin is empty.")

    @staticmethod
    def default_daily_capacity():
        return 40

    @staticmethod
    def default_abc_period_days():
        return 90

    @staticmethod
    def default_default_reason():
        ModelData = Pool().get('ir.model.data')
        try:
            return ModelData.get_id('inventory_flow', 'count_reason_cycle')
        except KeyError:
            return None

    @staticmethod
    def default_ask_on_putaway():
        return True

    @staticmethod
    def default_ask_on_emptied_bin():
        return True

    @classmethod
    def asks(cls, question):
        """Whether the scanner asks ``question`` ('ask_on_putaway',
        'ask_on_emptied_bin'): kept in a cache cleared when the
        configuration changes (a scan step asks it; the singleton's read
        is two queries)"""
        questions = cls._questions_cache.get(None)
        if questions is None:
            with without_check_access():
                config = cls(1)
                questions = {name: bool(getattr(config, name))
                    for name in ['ask_on_putaway', 'ask_on_emptied_bin']}
            cls._questions_cache.set(None, questions)
        return questions[question]

    @classmethod
    def on_modification(cls, mode, records, field_names=None):
        super().on_modification(mode, records, field_names=field_names)
        cls._questions_cache.clear()

    def working_weekdays(self):
        days = {i for i, name in enumerate(WEEKDAYS) if getattr(self, name)}
        return days or {0, 1, 2, 3, 4}


for _day in WEEKDAYS[:5]:
    setattr(CountConfiguration, 'default_' + _day,
        staticmethod(lambda: True))


def working_days(start, end, weekdays):
    "The dates from start to end (included) whose weekday is worked"
    days, day = [], start
    while day <= end:
        if day.weekday() in weekdays:
            days.append(day)
        day += dt.timedelta(days=1)
    return days


class Product(metaclass=PoolMeta):
    __name__ = 'product.product'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__rpc__.update({
                'compute_abc_classes': RPC(readonly=False),
                })

    @classmethod
    def compute_abc_classes(cls, date=None):
        """Classify the goods by the consumption value of the configured
        period before ``date`` (outgoing done moves to customers and
        production × cost) and write the classes, one write per class.
        Run by ``ir.cron``; return ``{class: number of products}``."""
        pool = Pool()
        Move = pool.get('stock.move')
        Location = pool.get('stock.location')
        Template = pool.get('product.template')
        Date = pool.get('ir.date')
        Configuration = pool.get('stock.count.configuration')
        CountClass = pool.get('stock.count.class')
        cursor = Transaction().connection.cursor()
        rules, last = CountClass.rules()
        shares = [(c, rules[c].consumption_share) for c in sorted(rules)]
        date = date or Date.today()
        start = date - dt.timedelta(
            days=Configuration(1).abc_period_days)

        move = Move.__table__()
        to_location = Location.__table__()
        product = cls.__table__()
        template = Template.__table__()
        cursor.execute(*move
            .join(to_location, condition=move.to_location == to_location.id)
            .select(move.product, move.cost_price,
                Sum(move.internal_quantity),
                where=(move.state == 'done')
                & to_location.type.in_(['customer', 'production'])
                & (move.effective_date > start)
                & (move.effective_date <= date),
                group_by=[move.product, move.cost_price]))
        rows = cursor.fetchall()
        cursor.execute(*product
            .join(template, condition=product.template == template.id)
            .select(product.id,
                where=(template.type == 'goods') & (product.active == True)))
        values = {p: Decimal(0) for p, in cursor}
        no_cost = {}
        for product_id, cost_price, quantity in rows:
            if product_id not in values or not quantity:
                continue
            if cost_price is not None:
                values[product_id] += (Decimal(str(quantity))
                    * Decimal(str(cost_price)))
            else:
                no_cost[product_id] = no_cost.get(product_id, 0) + quantity
        for record in cls.browse(list(no_cost)):
            values[record.id] += (Decimal(str(no_cost[record.id]))
                * (record.cost_price or 0))
        classes = classify(values, shares)
        by_class = defaultdict(list)
        for product_id, class_ in classes.items():
            by_class[class_].append(product_id)
        to_write = []
        for class_, ids in sorted(by_class.items()):
            to_write.extend([cls.browse(ids), {'abc_class': class_}])
        if to_write:
            # Who may edit the class rules may reclassify the products
            pool.get('ir.model.access').check('stock.count.class', 'write')
            with without_check_access():
                cls.write(*to_write)
        return {c: len(ids) for c, ids in by_class.items()}


class CountPlan(Workflow, ModelSQL, ModelView):
    "Count Plan"
    __name__ = 'stock.count.plan'
    _rec_name = 'name'

    name = fields.Char("Name", required=True,
        help="What the plan covers, e.g. the month.")
    company = fields.Many2One('company.company', "Company", required=True,
        readonly=True, help="The company whose bins are counted.")
    warehouse = fields.Many2One('stock.location', "Warehouse", required=True,
        domain=[('type', '=', 'warehouse')],
        states={'readonly': Eval('state') != 'draft'},
        help="The warehouse whose bins are counted.")
    start_date = fields.Date("Start Date", required=True,
        states={'readonly': Eval('state') != 'draft'},
        help="The first day of the plan.")
    end_date = fields.Date("End Date", required=True,
        domain=[('end_date', '>=', Eval('start_date', None))],
        states={'readonly': Eval('state') != 'draft'},
        help="The last day of the plan.")
    tasks = fields.One2Many('stock.count.task', 'plan', "Tasks",
        readonly=True, help="The counts planned, one bin each.")
    task_count = fields.Function(fields.Integer("Counts",
            help="The number of counts planned."), 'get_task_count')
    unplanned = fields.Integer("Unplanned", readonly=True,
        help="Counts due in the period that found no day with room.")
    state = fields.Selection([
            ('draft', "Draft"),
            ('planned', "Planned"),
            ('cancelled', "Cancelled"),
            ], "State", required=True, readonly=True,
        help="Draft until the counts are planned.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('start_date', 'DESC'), ('id', 'DESC')]
        cls._transitions |= {('draft', 'planned'), ('planned', 'cancelled'),
            ('draft', 'cancelled')}
        cls._buttons.update({
                'plan': {
                    'invisible': Eval('state') != 'draft',
                    'depends': ['state'],
                    },
                'cancel': {
                    'invisible': Eval('state') == 'cancelled',
                    'depends': ['state'],
                    },
                })

    @staticmethod
    def default_company():
        return Transaction().context.get('company')

    @staticmethod
    def default_state():
        return 'draft'

    @classmethod
    def get_task_count(cls, plans, name):
        Task = Pool().get('stock.count.task')
        task = Task.__table__()
        cursor = Transaction().connection.cursor()
        result = {p.id: 0 for p in plans}
        cursor.execute(*task.select(task.plan, Count(task.id),
                where=task.plan.in_(list(result)), group_by=[task.plan]))
        result.update(dict(cursor))
        return result

    @classmethod
    @ModelView.button
    @Workflow.transition('planned')
    def plan(cls, plans):
        for record in plans:
            record.generate()

    @classmethod
    @ModelView.button
    @Workflow.transition('cancelled')
    def cancel(cls, plans):
        Task = Pool().get('stock.count.task')
        Task.cancel(Task.search([
                    ('plan', 'in', [p.id for p in plans]),
                    ('state', '=', 'draft'),
                    ]))

    def bins_to_count(self):
        """Return ``[(bin, class, last count date)]`` of the warehouse's
        bins in two queries: a bin's class is the highest class of the
        products it holds (the last class when empty)."""
        pool = Pool()
        Location = pool.get('stock.location')
        Product = pool.get('product.product')
        Task = pool.get('stock.count.task')
        CountClass = pool.get('stock.count.class')
        Move = pool.get('stock.move')
        cursor = Transaction().connection.cursor()
        _, last = CountClass.rules()
        location = Location.__table__()
        move = Move.__table__()
        product = Product.__table__()
        task = Task.__table__()
        warehouse = self.warehouse
        bins = {}
        cursor.execute(*location.select(location.id,
                where=(location.zone != Null) & (location.active == True)
                & (location.type == 'storage')
                & (location.left >= warehouse.left)
                & (location.right <= warehouse.right),
                order_by=[location.id]))
        for location_id, in cursor:
            bins[location_id] = last
        # The products in each bin: stock moved in and not all out
        ids = list(bins)
        for i in range(0, len(ids), 10000):
            chunk = ids[i:i + 10000]
            ledger = {}
            for column, sign in [(move.to_location, 1),
                    (move.from_location, -1)]:
                cursor.execute(*move.join(product,
                        condition=move.product == product.id).select(
                        column, product.abc_class,
                        Sum(move.internal_quantity),
                        where=(move.state == 'done') & column.in_(chunk),
                        group_by=[column, product.abc_class]))
                for location_id, class_, quantity in cursor:
                    key = (location_id, class_ or last)
                    ledger[key] = ledger.get(key, 0) + sign * (quantity or 0)
            for (location_id, class_), quantity in ledger.items():
                if quantity > 0 and class_ < bins[location_id]:
                    bins[location_id] = class_
        counted = {}
        cursor.execute(*task.select(task.location, Max(task.count_date),
                where=(task.state == 'done')
                & (task.kind == 'cycle')
                & task.location.in_(ids) if ids else Literal(False),
                group_by=[task.location]))
        for location_id, date in cursor:
            if isinstance(date, dt.datetime):
                date = date.date()
            counted[location_id] = date
        return [(b, c, counted.get(b)) for b, c in bins.items()]

    def generate(self):
        """Plan the counts of the period and insert them in one statement
        per thousand rows; return the number of counts planned."""
        pool = Pool()
        Task = pool.get('stock.count.task')
        CountClass = pool.get('stock.count.class')
        Configuration = pool.get('stock.count.configuration')
        config = Configuration(1)
        rules, _ = CountClass.rules()
        weekdays = config.working_weekdays()
        days = working_days(self.start_date, self.end_date, weekdays)
        year = len(working_days(self.start_date,
                self.start_date + dt.timedelta(days=364), weekdays))
        intervals = {c: interval(r.counts_per_year, year)
            for c, r in rules.items()}
        per_week = len(weekdays)
        bins = []
        for bin_, class_, last in self.bins_to_count():
            if last is not None:
                # working days between the last count and the start
                last = -round((self.start_date - last).days * per_week / 7)
            bins.append((bin_, class_, last))
        try:
            result = plan(bins, intervals, len(days), config.daily_capacity)
        except PlanError as error:
            raise UserError(gettext('inventory_flow.msg_count_plan_error',
                    plan=self.rec_name, error=str(error)))
        class_of = {b: c for b, c, _ in bins}
        rows = []
        for index, bin_ids in result.days.items():
            for bin_id in bin_ids:
                rows.append((bin_id, days[index], class_of[bin_id]))
        Task.insert_planned(self, rows)
        self.unplanned = len(result.unplanned)
        self.save()
        return len(rows)


class CountTask(Workflow, ModelSQL, ModelView):
    "Count Task"
    __name__ = 'stock.count.task'

    company = fields.Many2One('company.company', "Company", required=True,
        readonly=True, help="The company owning the stock.")
    plan = fields.Many2One('stock.count.plan', "Plan", readonly=True,
        ondelete='CASCADE', help="The plan that scheduled the count.")
    warehouse = fields.Many2One('stock.location', "Warehouse",
        required=True, readonly=True, domain=[('type', '=', 'warehouse')],
        help="The warehouse of the bin.")
    location = fields.Many2One('stock.location', "Bin", required=True,
        readonly=True, ondelete='CASCADE',
        help="The bin to count.")
    planned_date = fields.Date("Planned Date", required=True, readonly=True,
        help="The day the count is due.")
    abc_class = fields.Selection(ABC_CLASSES, "ABC Class", readonly=True,
        help="The class whose frequency and tolerance apply.")
    kind = fields.Selection([
            ('cycle', "Cycle Count"),
            ('opportunistic', "Opportunistic Count"),
            ], "Kind", required=True, readonly=True,
        help="Planned by ABC class, or asked during the work.")
    trigger = fields.Selection(TRIGGERS, "Trigger", readonly=True,
        help="What asked for an opportunistic count.")
    origin = fields.Reference("Origin", selection='get_origin',
        readonly=True, help="The document that asked for the count.")
    question_product = fields.Many2One('product.product', "Asked Product",
        readonly=True, context={'company': Eval('company', -1)},
        depends={'company'}, help="The product of the question \"does the bin "
        "hold N?\" (none: is the bin empty?).")
    question_lot = fields.Many2One('stock.lot', "Asked Lot", readonly=True,
        help="The lot of the question.")
    question_quantity = fields.Float("Asked Quantity", readonly=True,
        help="The quantity the question asks about (default unit).")
    snapshot_date = fields.DateTime("Snapshot", readonly=True,
        help="When the book quantities were taken; moves done after it are "
        "added to them.")
    count_date = fields.DateTime("Counted", readonly=True,
        help="When the (last) count was confirmed.")
    counted_by = fields.Many2One('res.user', "Counted by", readonly=True,
        help="The operator of the first count.")
    recounted_by = fields.Many2One('res.user', "Recounted by",
        readonly=True, help="The operator of the recount (not the first).")
    approved_by = fields.Many2One('res.user', "Approved by", readonly=True,
        help="The warehouse manager who approved the adjustment.")
    reason = fields.Many2One('stock.count.reason', "Reason",
        states={'readonly': Eval('state').in_(['done', 'cancelled'])},
        help="Why the bin's quantity is adjusted.")
    inventory = fields.Many2One('stock.inventory', "Adjustment",
        readonly=True, help="The inventory that posted the adjustment.")
    lines = fields.One2Many('stock.count.task.line', 'task', "Lines",
        readonly=True, help="The counted products of the bin.")
    variance_value = fields.Numeric("Variance Value", digits=(16, 2),
        readonly=True, help="The value (at cost) of the adjustment.")
    accurate = fields.Boolean("Accurate", readonly=True,
        help="Every line of the count was within tolerance.")
    state = fields.Selection(STATES, "State", required=True, readonly=True,
        help="Planned, counting, recount required, waiting approval, "
        "done.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('planned_date', 'ASC'), ('id', 'ASC')]
        cls._transitions |= {
            ('draft', 'counting'),
            ('counting', 'recount'), ('recount', 'approval'),
            ('counting', 'done'), ('recount', 'done'), ('approval', 'done'),
            ('draft', 'cancelled'), ('counting', 'cancelled'),
            ('recount', 'cancelled'), ('approval', 'cancelled'),
            }
        cls._buttons.update({
                'start': {
                    'invisible': Eval('state') != 'draft',
                    'depends': ['state'],
                    },
                'post': {
                    'invisible': ~Eval('state').in_(
                        ['counting', 'recount', 'approval']),
                    'depends': ['state'],
                    },
                'approve': {
                    'invisible': Eval('state') != 'approval',
                    'depends': ['state'],
                    },
                'cancel': {
                    'invisible': Eval('state').in_(['done', 'cancelled']),
                    'depends': ['state'],
                    },
                })

    @staticmethod
    def default_company():
        return Transaction().context.get('company')

    @staticmethod
    def default_state():
        return 'draft'

    @staticmethod
    def default_kind():
        return 'cycle'

    @classmethod
    def _get_origin(cls):
        "The models that may ask for an opportunistic count"
        return ['stock.move']

    @classmethod
    def get_origin(cls):
        IrModel = Pool().get('ir.model')
        models = cls._get_origin()
        return [(None, '')] + [(m, IrModel.get_name(m)) for m in models]

    def get_rec_name(self, name):
        return (f'{self.location.code or self.location.rec_name}'
            f' @ {self.planned_date}')

    @classmethod
    def search_rec_name(cls, name, clause):
        return [('location.rec_name',) + tuple(clause[1:])]

    @classmethod
    def view_attributes(cls):
        return super().view_attributes() + [
            ('/tree', 'visual', If(Eval('state') == 'approval', 'warning',
                    If(Eval('state') == 'cancelled', 'muted', ''))),
            ]

    @classmethod
    def insert_planned(cls, plan, rows):
        "Insert the draft tasks ``[(bin, date, class)]`` of plan at once"
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        user, now = Transaction().user, dt.datetime.now()
        columns = [table.create_uid, table.create_date, table.company,
            table.plan, table.warehouse, table.location, table.planned_date,
            table.abc_class, table.kind, table.state]
        for i in range(0, len(rows), 1000):
            cursor.execute(*table.insert(columns, [
                        [user, now, plan.company.id, plan.id,
                            plan.warehouse.id, b, d, c, 'cycle', 'draft']
                        for b, d, c in rows[i:i + 1000]]))

    @classmethod
    def ask(cls, location, product=None, lot=None, quantity=None,
            trigger=None, origin=None, company=None):
        """Ask whether bin ``location`` holds ``quantity`` of product (lot):
        create and return an opportunistic count task; without product the
        question is whether the bin is empty."""
        pool = Pool()
        Date = pool.get('ir.date')
        CountClass = pool.get('stock.count.class')
        _, last = CountClass.rules()
        task, = cls.create([{
                    'company': company.id if company
                    else Transaction().context.get('company'),
                    'warehouse': location.warehouse.id,
                    'location': location.id,
                    'planned_date': Date.today(),
                    'abc_class': (product.abc_class if product else None)
                    or last,
                    'kind': 'opportunistic',
                    'trigger': trigger,
                    'origin': str(origin) if origin else None,
                    'question_product': product.id if product else None,
                    'question_lot': lot.id if lot else None,
                    'question_quantity': quantity or 0,
                    }])
        return task

    @classmethod
    def answer(cls, task, quantity=None):
        """Record the answer to the question of ``task``: ``None`` means
        yes (the bin holds what was asked), else the quantity found."""
        if task.state != 'draft':
            raise UserError(gettext('inventory_flow.msg_count_not_open',
                    task=task.rec_name))
        cls.start([task])
        if quantity is None:
            quantity = task.question_quantity
        counts = {}
        if task.question_product:
            counts[(task.question_product.id,
                    task.question_lot.id if task.question_lot else None)] = (
                float(quantity))
        elif quantity:
            raise UserError(gettext('inventory_flow.msg_count_empty_answer',
                    bin=task.location.rec_name))
        return cls.count(task, counts)

    @classmethod
    def record_answer(cls, location, product, lot, quantity, trigger,
            origin=None, company=None):
        """Ask whether the bin holds its book quantity and answer
        ``quantity`` at once (a short pick says what the bin held)"""
        key = (product.id, lot.id if lot else None)
        book = bin_book([location.id], {key}).get((location.id,) + key, 0)
        task = cls.ask(location, product, lot, book, trigger, origin,
            company)
        return cls.answer(task, quantity)

    @classmethod
    @ModelView.button
    @Workflow.transition('counting')
    def start(cls, tasks):
        """Take the snapshot: the book quantities of each bin (of the asked
        product only for a question about one product)."""
        pool = Pool()
        Line = pool.get('stock.count.task.line')
        now = dt.datetime.now()
        lines = []
        for task in tasks:
            keys = None
            if task.question_product:
                keys = {(task.question_product.id, task.question_lot.id
                        if task.question_lot else None)}
            book = bin_book([task.location.id], keys)
            if keys:
                for product, lot in keys:
                    book.setdefault((task.location.id, product, lot), 0)
            for (_, product, lot), quantity in sorted(
                    book.items(), key=lambda i: (i[0][1], i[0][2] or 0)):
                if quantity or keys:
                    lines.append(Line(task=task, product=product, lot=lot,
                            snapshot_quantity=quantity))
        Line.save(lines)
        cls.write(list(tasks), {'snapshot_date': now})

    @classmethod
    def count(cls, task, counts):
        """Record one count round of ``task``: ``counts`` maps (product,
        lot) ids to the quantity found (default unit); a line of a cycle
        count not named was found empty.  The moves done in the bin since
        the snapshot are added to the expected quantities.  Within
        tolerance the adjustment posts; beyond it the first round asks for
        a recount by another operator and the recount for a manager's
        approval.  Return the task's new state."""
        pool = Pool()
        Line = pool.get('stock.count.task.line')
        User = pool.get('res.user')
        Product = pool.get('product.product')
        CountClass = pool.get('stock.count.class')
        user = Transaction().user
        task = cls(task.id)
        if task.state not in {'counting', 'recount'}:
            raise UserError(gettext('inventory_flow.msg_count_not_open',
                    task=task.rec_name))
        recount = task.state == 'recount'
        if recount and task.counted_by and task.counted_by.id == user:
            raise UserError(gettext(
                    'inventory_flow.msg_count_recount_same_user',
                    task=task.rec_name, user=User(user).rec_name))
        for key, quantity in counts.items():
            if quantity is None or quantity < 0:
                raise UserError(gettext(
                        'inventory_flow.msg_count_quantity_negative',
                        value=quantity))
        lines = {(l.product.id, l.lot.id if l.lot else None): l
            for l in task.lines}
        keys = set(lines) | set(counts)
        book = bin_book([task.location.id], keys)
        rules, last = CountClass.rules()
        rule = rules.get(task.abc_class or last) or rules[last]
        products = {p.id: p for p in Product.browse(
                sorted({k[0] for k in keys}))}
        to_save, accurate, total = [], True, Decimal(0)
        for key in sorted(keys, key=lambda k: (k[0], k[1] or 0)):
            line = lines.get(key)
            if line is None:
                line = Line(task=task, product=key[0], lot=key[1],
                    snapshot_quantity=0)
            found = counts.get(key)
            if found is None:
                found = (0 if task.kind == 'cycle'
                    else (line.recounted_quantity if recount
                        else line.counted_quantity) or 0)
            # Moves done since the snapshot changed the book: they are
            # not a variance
            line.moved_quantity = (book.get((task.location.id,) + key, 0)
                - line.snapshot_quantity)
            if recount:
                line.recounted_quantity = found
            else:
                line.counted_quantity = found
            product = products[key[0]]
            unit_value = Decimal(str(product.cost_price or 0))
            expected = line.snapshot_quantity + line.moved_quantity
            line.variance_quantity = product.default_uom.round(
                found - expected)
            line.unit_value = unit_value
            line.variance_value = (Decimal(str(line.variance_quantity))
                * unit_value).quantize(Decimal('0.01'))
            line.accurate = within_tolerance(expected, found, unit_value,
                rule.tolerance_quantity, rule.tolerance_value)
            accurate &= line.accurate
            total += line.variance_value
            to_save.append(line)
        Line.save(to_save)
        values = {'count_date': dt.datetime.now(), 'accurate': accurate,
            'variance_value': total}
        if recount:
            values['recounted_by'] = user
        else:
            values['counted_by'] = user
        cls.write([task], values)
        if accurate:
            cls.done([task])
        elif recount:
            cls.ask_approval([task])
        else:
            cls.ask_recount([task])
        return cls(task.id).state

    @classmethod
    @Workflow.transition('recount')
    def ask_recount(cls, tasks):
        pass

    @classmethod
    @Workflow.transition('approval')
    def ask_approval(cls, tasks):
        pass

    @classmethod
    @ModelView.button
    def post(cls, tasks):
        """Post the adjustments of counted tasks; a task beyond tolerance
        must have been recounted by another operator and approved."""
        for task in tasks:
            if task.state == 'recount':
                raise UserError(gettext(
                        'inventory_flow.msg_count_needs_recount',
                        task=task.rec_name))
            if task.state == 'approval' and not task.approved_by:
                raise UserError(gettext(
                        'inventory_flow.msg_count_needs_approval',
                        task=task.rec_name))
            if task.state == 'counting' and task.count_date is None:
                raise UserError(gettext(
                        'inventory_flow.msg_count_not_counted',
                        task=task.rec_name))
            if task.state == 'counting' and not task.accurate:
                raise UserError(gettext(
                        'inventory_flow.msg_count_needs_recount',
                        task=task.rec_name))
        cls.done(tasks)

    @classmethod
    @ModelView.button
    def approve(cls, tasks):
        "A warehouse manager accepts the recounted variance"
        for task in tasks:
            if task.state != 'approval':
                raise UserError(gettext(
                        'inventory_flow.msg_count_not_waiting_approval',
                        task=task.rec_name))
        cls.write(list(tasks), {'approved_by': Transaction().user})
        cls.done(tasks)

    @classmethod
    @Workflow.transition('done')
    def done(cls, tasks):
        "Post the variances through one stock.inventory per bin"
        pool = Pool()
        Inventory = pool.get('stock.inventory')
        InventoryLine = pool.get('stock.inventory.line')
        Configuration = pool.get('stock.count.configuration')
        Date = pool.get('ir.date')
        default_reason = Configuration(1).default_reason
        with without_check_access(), Transaction().set_context(
                _count_posting=True):
            for task in tasks:
                variances = [l for l in task.lines if l.variance_quantity]
                if not task.reason and default_reason:
                    task.reason = default_reason
                    task.save()
                if not variances:
                    continue
                if not task.reason:
                    raise UserError(gettext(
                            'inventory_flow.msg_count_reason_required',
                            task=task.rec_name))
                with Transaction().set_context(company=task.company.id):
                    today = Date.today()
                inventory = Inventory(location=task.location,
                    company=task.company, date=today,
                    empty_quantity='keep',
                    lines=[InventoryLine(product=l.product, lot=l.lot)
                        for l in variances])
                inventory.save()
                Inventory.complete_lines([inventory], fill=False)
                inventory = Inventory(inventory.id)
                delta = {(l.product.id, l.lot.id if l.lot else None):
                    l.variance_quantity for l in variances}
                for line in inventory.lines:
                    line.quantity = line.unit.round(line.expected_quantity
                        + delta[(line.product.id,
                                line.lot.id if line.lot else None)])
                InventoryLine.save(inventory.lines)
                Inventory.confirm([inventory])
                task.inventory = inventory
                task.save()

    @classmethod
    @ModelView.button
    @Workflow.transition('cancelled')
    def cancel(cls, tasks):
        pass

    @classmethod
    def due_for(cls, location, user):
        """The open count of bin ``location`` the user may do now: a
        question, a recount (not of their own count) or a count due."""
        Date = Pool().get('ir.date')
        tasks = cls.search([
                ('location', '=', location.id),
                ['OR',
                    ('state', 'in', ['counting', 'recount']),
                    [('state', '=', 'draft'),
                        ('planned_date', '<=', Date.today())]],
                ], order=[('kind', 'DESC'), ('planned_date', 'ASC'),
                ('id', 'ASC')])
        return tasks


class CountTaskLine(ModelSQL, ModelView):
    "Count Task Line"
    __name__ = 'stock.count.task.line'

    task = fields.Many2One('stock.count.task', "Task", required=True,
        ondelete='CASCADE', help="The count of the bin.")
    product = fields.Many2One('product.product', "Product", required=True,
        readonly=True, help="The product counted.")
    lot = fields.Many2One('stock.lot', "Lot", readonly=True,
        help="The lot counted.")
    snapshot_quantity = fields.Float("Snapshot Quantity", readonly=True,
        help="What the book said the bin held when the count started "
        "(default unit).")
    moved_quantity = fields.Float("Moved since Snapshot", readonly=True,
        help="The net quantity of the moves done in the bin since the "
        "snapshot: not a variance.")
    expected_quantity = fields.Function(fields.Float("Expected Quantity",
            help="The snapshot plus the moves since."), 'get_expected')
    counted_quantity = fields.Float("Counted Quantity", readonly=True,
        help="What the first operator found.")
    recounted_quantity = fields.Float("Recounted Quantity", readonly=True,
        help="What the second operator found.")
    variance_quantity = fields.Float("Variance", readonly=True,
        help="Found minus expected: the adjustment.")
    unit_value = fields.Numeric("Unit Value", digits=(16, 4), readonly=True,
        help="The cost of one unit when counted.")
    variance_value = fields.Numeric("Variance Value", digits=(16, 2),
        readonly=True, help="The variance at cost.")
    accurate = fields.Boolean("Accurate", readonly=True,
        help="The count was within the class's tolerance.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('task', 'ASC'), ('product', 'ASC'), ('id', 'ASC')]

    @staticmethod
    def default_moved_quantity():
        return 0

    def get_expected(self, name):
        return (self.snapshot_quantity or 0) + (self.moved_quantity or 0)


class Move(metaclass=PoolMeta):
    __name__ = 'stock.move'

    @classmethod
    def do(cls, moves):
        super().do(moves)
        if Transaction().context.get('_count_posting'):
            return
        cls._ask_emptied_bins(moves)

    @classmethod
    def _ask_emptied_bins(cls, moves):
        "Ask whether the bins these moves emptied are really empty"
        pool = Pool()
        Configuration = pool.get('stock.count.configuration')
        Task = pool.get('stock.count.task')
        bins = {m.from_location for m in moves if m.from_location.zone
            and m.from_location.type == 'storage'}
        if not bins:
            return
        with without_check_access():
            if not Configuration.asks('ask_on_emptied_bin'):
                return
            book = bin_book([b.id for b in bins])
            held = defaultdict(float)
            for (location, _, _), quantity in book.items():
                held[location] += quantity
            emptied = [b for b in bins if abs(held[b.id]) < 1e-9]
            if not emptied:
                return
            asked = {t.location.id for t in Task.search([
                        ('location', 'in', [b.id for b in emptied]),
                        ('state', '=', 'draft'),
                        ('trigger', '=', 'emptied'),
                        ])}
            origin = {m.from_location.id: m for m in moves}
            for location in emptied:
                if location.id not in asked and location.warehouse:
                    move = origin[location.id]
                    Task.ask(location, trigger='emptied', origin=move,
                        company=move.company)


class CountAccuracyContext(ModelView):
    "Count Accuracy Context"
    __name__ = 'stock.count.accuracy.context'

    from_date = fields.Date("From Date",
        help="The first day of the counts reported.")
    to_date = fields.Date("To Date", help="The last day of the counts.")
    warehouse = fields.Many2One('stock.location', "Warehouse",
        domain=[('type', '=', 'warehouse')],
        help="Only the counts of this warehouse.")

    @classmethod
    def default_from_date(cls):
        Date = Pool().get('ir.date')
        return Date.today() - dt.timedelta(days=30)

    @classmethod
    def default_to_date(cls):
        return Pool().get('ir.date').today()


def _done_lines_query(extra_columns, group_by):
    "The lines of the done counts of the context's period, grouped"
    pool = Pool()
    Task = pool.get('stock.count.task')
    Line = pool.get('stock.count.task.line')
    Location = pool.get('stock.location')
    context = Transaction().context
    task = Task.__table__()
    line = Line.__table__()
    location = Location.__table__()
    where = task.state == 'done'
    if context.get('from_date'):
        where &= task.count_date >= dt.datetime.combine(
            context['from_date'], dt.time.min)
    if context.get('to_date'):
        where &= task.count_date <= dt.datetime.combine(
            context['to_date'], dt.time.max)
    if context.get('warehouse'):
        where &= task.warehouse == context['warehouse']
    tables = (line.join(task, condition=line.task == task.id)
        .join(location, condition=task.location == location.id))
    columns = extra_columns(task, line, location) + [
        Count(line.id).as_('records'),
        Sum(Case((line.accurate == True, 1), else_=0)).as_(
            'accurate_records'),
        Sum(line.variance_value).as_('variance_value'),
        Sum(Abs(line.variance_value)).as_('absolute_value'),
        ]
    return tables.select(*columns, where=where,
        group_by=group_by(task, line, location))


class _AccuracyMixin:
    __slots__ = ()
    records = fields.Integer("Records",
        help="The product lines counted.")
    accurate_records = fields.Integer("Accurate Records",
        help="The lines found within tolerance.")
    accuracy = fields.Function(fields.Float("Accuracy %", digits=(5, 2),
            help="Accurate records over records (target: at least 99 %)."),
        'get_accuracy')
    variance_value = fields.Numeric("Adjustment Value", digits=(16, 2),
        help="The net value of the adjustments (at cost).")
    absolute_value = fields.Numeric("Absolute Adjustment Value",
        digits=(16, 2),
        help="The value of the adjustments, gains and losses both counted.")

    def get_accuracy(self, name):
        if not self.records:
            return None
        return round(100.0 * (self.accurate_records or 0) / self.records, 2)


class CountAccuracy(_AccuracyMixin, ModelSQL, ModelView):
    "Count Accuracy"
    __name__ = 'stock.count.accuracy'

    abc_class = fields.Selection(ABC_CLASSES, "ABC Class",
        help="The class of the counts.")
    zone = fields.Selection('get_zones', "Zone",
        help="The zone of the bins counted.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('abc_class', 'ASC'), ('zone', 'ASC'), ('id', 'ASC')]

    @classmethod
    def get_zones(cls):
        Location = Pool().get('stock.location')
        return Location.fields_get(['zone'])['zone']['selection']

    @classmethod
    def table_query(cls):
        return _done_lines_query(
            lambda task, line, location: [
                Min(line.id).as_('id'),
                task.abc_class.as_('abc_class'),
                location.zone.as_('zone'),
                ],
            lambda task, line, location: [task.abc_class, location.zone])


class CountVarianceBin(_AccuracyMixin, ModelSQL, ModelView):
    "Count Variance by Bin"
    __name__ = 'stock.count.variance.bin'

    location = fields.Many2One('stock.location', "Bin",
        help="The bin counted.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('absolute_value', 'DESC'), ('id', 'ASC')]

    @classmethod
    def table_query(cls):
        return _done_lines_query(
            lambda task, line, location: [
                task.location.as_('id'),
                task.location.as_('location'),
                ],
            lambda task, line, location: [task.location])


# --- The scanner: blind counts and the questions of putaway (B4, D4) -------

from http import HTTPStatus  # noqa: E402

from .gs1 import ScanError, parse_scan  # noqa: E402
from .scanner import (  # noqa: E402
    QUANTITY, ScanFailure, Step, _bin_label, _format_quantity,
    product_by_gtin, read_quantity, read_scan, register_step)

#: a typed zero is a count ("none left"), unlike a received quantity
ZERO = {'0', '0.0', '0,0', '00'}


def count_quantity(value, digits=None):
    "Read a counted quantity: a positive number or zero"
    if isinstance(value, str) and value.strip() in ZERO:
        return Decimal(0)
    return read_quantity(value, digits)


def find_bin(text):
    "The bin whose barcode or code is text, or a ScanFailure"
    Location = Pool().get('stock.location')
    locations = Location.search([
            ('barcode', '=', text), ('zone', '!=', None)], limit=1)
    if not locations:
        locations = Location.search([
                ('code', '=', text), ('type', '=', 'storage')], limit=1)
    if not locations:
        raise ScanFailure('unknown', gettext(
                'inventory_flow.msg_scan_unknown', value=text),
            HTTPStatus.NOT_FOUND)
    return locations[0]


def putaway_question(screen, move, location):
    """Turn the putaway's success screen into the question "does bin X
    now hold N?" (when configured); nothing is stored until answered."""
    Configuration = Pool().get('stock.count.configuration')
    if not Configuration.asks('ask_on_putaway'):
        return screen
    product, lot = move.product, move.lot
    key = (product.id, lot.id if lot else None)
    quantity = bin_book([location.id], {key}).get((location.id,) + key, 0)
    screen['state'] = {'question': {
            'location': location.id, 'product': product.id,
            'lot': lot.id if lot else None, 'quantity': quantity,
            'move': move.id}}
    screen['prompt'] = gettext('inventory_flow.msg_prompt_putaway_question',
        bin=_bin_label(location),
        quantity=_format_quantity(quantity, product.default_uom),
        product=product.rec_name)
    screen['actions'] = [{'value': '__count_yes__',
            'label': gettext('inventory_flow.msg_action_yes')}]
    return screen


def answer_putaway_question(step, question, value):
    "Record the answer to the putaway's question as a count"
    pool = Pool()
    Task = pool.get('stock.count.task')
    Location = pool.get('stock.location')
    Product = pool.get('product.product')
    Lot = pool.get('stock.lot')
    Move = pool.get('stock.move')
    location = Location(int(question['location']))
    product = Product(int(question['product']))
    lot = Lot(int(question['lot'])) if question.get('lot') else None
    if value == '__count_yes__':
        quantity = question['quantity']
    else:
        quantity = float(count_quantity(value, product.default_uom.digits))
    move = Move(int(question['move'])) if question.get('move') else None
    task = Task.ask(location, product, lot, question['quantity'],
        'putaway', origin=move, company=move.company if move else None)
    state = Task.answer(task, quantity)
    return step.screen({}, gettext(
            'inventory_flow.msg_prompt_putaway_item'),
        *CountStep.result_message(state, location))


@register_step
class CountStep(Step):
    """Count a bin blind: scan the bin, scan each product (GS1 labels may
    carry the lot and quantity), type the quantity found, finish.  The
    expected quantities are never shown.  A bin with a question ("does it
    hold N?") is answered with Yes or the quantity found.  State: ``task``,
    ``phase`` (question, items, quantity), ``counts`` {"product:lot":
    quantity} and the ``pending`` item."""
    name = 'count'
    title = 'inventory_flow.msg_step_count'
    sequence = 50

    def start(self, message=None, level='info'):
        pool = Pool()
        Task = pool.get('stock.count.task')
        Date = pool.get('ir.date')
        user = Transaction().user
        tasks = Task.search([
                ['OR',
                    ('state', 'in', ['counting', 'recount']),
                    [('state', '=', 'draft'),
                        ('planned_date', '<=', Date.today())]],
                ], order=[('state', 'DESC'), ('planned_date', 'ASC'),
                ('id', 'ASC')], limit=30)
        lines = []
        for task in tasks:
            if (task.state == 'recount' and task.counted_by
                    and task.counted_by.id == user):
                continue
            status = ('question' if task.kind == 'opportunistic'
                and task.state == 'draft' else task.state)
            label = {'question': 'msg_count_status_question',
                'recount': 'msg_count_status_recount'}.get(
                status, 'msg_count_status_draft')
            lines.append({'product': _bin_label(task.location),
                    'status': status,
                    'status_label': gettext('inventory_flow.' + label)})
        return self.screen({}, gettext('inventory_flow.msg_prompt_count_bin'),
            message, level, lines)

    def scan(self, state, value):
        Task = Pool().get('stock.count.task')
        if value == '__cancel__':
            return self.start(), False
        if not state.get('task'):
            return self._open(find_bin(str(value).strip()))
        task = Task(int(state['task']))
        phase = state.get('phase')
        if phase == 'question':
            return self._answer(task, value)
        if value == '__finish__':
            counts = {}
            for key, quantity in (state.get('counts') or {}).items():
                product, lot = key.split(':')
                counts[(int(product), int(lot) if lot else None)] = float(
                    quantity)
            new_state = Task.count(task, counts)
            return self.start(*self.result_message(
                    new_state, task.location)), True
        if phase == 'quantity' and self._typed(value):
            pending = state['pending']
            Product = Pool().get('product.product')
            product = Product(int(pending['product']))
            quantity = count_quantity(value, product.default_uom.digits)
            return self._add(task, state, pending, quantity), False
        return self._item(task, state, value), False

    @staticmethod
    def _typed(value):
        "Whether value was typed as a quantity (not an item or bin scan)"
        if not isinstance(value, str):
            return False
        if QUANTITY.fullmatch(value.strip()):
            return True
        try:
            scan = parse_scan(value)
        except ScanError:
            return True
        if scan.kind != 'text':
            return False
        try:
            find_bin(value.strip())
        except ScanFailure:
            return True
        return False

    @staticmethod
    def result_message(new_state, location):
        key, level = {
            'done': ('msg_count_posted', 'success'),
            'recount': ('msg_count_recount', 'warning'),
            'approval': ('msg_count_approval', 'warning'),
            }[new_state]
        return gettext('inventory_flow.' + key,
            bin=_bin_label(location)), level

    def _open(self, location):
        Task = Pool().get('stock.count.task')
        User = Pool().get('res.user')
        user = Transaction().user
        tasks = Task.due_for(location, user)
        mine = [t for t in tasks if t.state == 'recount' and t.counted_by
            and t.counted_by.id == user]
        tasks = [t for t in tasks if t not in mine]
        if not tasks:
            if mine:
                raise ScanFailure('same_user', gettext(
                        'inventory_flow.msg_count_recount_same_user',
                        task=mine[0].rec_name, user=User(user).rec_name),
                    HTTPStatus.CONFLICT)
            raise ScanFailure('no_task', gettext(
                    'inventory_flow.msg_count_no_task',
                    bin=_bin_label(location)), HTTPStatus.NOT_FOUND)
        task = tasks[0]
        if task.kind == 'opportunistic' and task.state == 'draft':
            return self._question(task), False
        changed = False
        if task.state == 'draft':
            Task.start([task])
            changed = True
        return self._items_screen(Task(task.id),
            {'task': task.id, 'phase': 'items', 'counts': {}}), changed

    def _question(self, task):
        bin_ = _bin_label(task.location)
        state = {'task': task.id, 'phase': 'question'}
        actions = [{'value': '__yes__',
                'label': gettext('inventory_flow.msg_action_yes')}]
        if task.question_product:
            product = task.question_product
            prompt = gettext('inventory_flow.msg_prompt_count_question',
                bin=bin_, product=product.rec_name,
                quantity=_format_quantity(task.question_quantity or 0,
                    product.default_uom))
            input_ = 'quantity'
        else:
            prompt = gettext('inventory_flow.msg_prompt_count_empty',
                bin=bin_)
            actions.append({'value': '__count__',
                    'label': gettext('inventory_flow.msg_action_count_bin')})
            input_ = 'scan'
        actions.append({'value': '__cancel__',
                'label': gettext('inventory_flow.msg_action_cancel')})
        screen = self.screen(state, prompt, actions=actions, input=input_)
        screen['header'] = bin_
        return screen

    def _answer(self, task, value):
        Task = Pool().get('stock.count.task')
        if value == '__yes__':
            new_state = Task.answer(task)
            if not task.question_product:
                return self.start(gettext(
                        'inventory_flow.msg_count_empty_confirmed',
                        bin=_bin_label(task.location)), 'success'), True
            return self.start(*self.result_message(
                    new_state, task.location)), True
        if value == '__count__' and not task.question_product:
            # Not empty after all: the question becomes a blind count
            Task.start([task])
            return self._items_screen(Task(task.id),
                {'task': task.id, 'phase': 'items', 'counts': {}}), True
        if task.question_product:
            quantity = count_quantity(
                value, task.question_product.default_uom.digits)
            new_state = Task.answer(task, quantity)
            return self.start(*self.result_message(
                    new_state, task.location)), True
        raise ScanFailure('expected_answer', gettext(
                'inventory_flow.msg_prompt_count_empty',
                bin=_bin_label(task.location)))

    def _item(self, task, state, value):
        Lot = Pool().get('stock.lot')
        bin_ = _bin_label(task.location)
        try:
            scan = parse_scan(value)
        except ScanError:
            scan = None
        if scan is None or scan.kind == 'text':
            text = str(value).strip()
            if text in {task.location.code, task.location.barcode}:
                return self._items_screen(task, dict(state, phase='items'))
            if not QUANTITY.fullmatch(text):
                other = None
                try:
                    other = find_bin(text)
                except ScanFailure:
                    pass
                if other:
                    raise ScanFailure('other_bin', gettext(
                            'inventory_flow.msg_count_other_bin',
                            bin=bin_, other=_bin_label(other)))
            scan = read_scan(value)
            if scan.kind == 'text':
                raise ScanFailure('expected_item', gettext(
                        'inventory_flow.msg_prompt_count_item', bin=bin_))
        product = product_by_gtin(scan.gtin)
        lots = [l.lot for l in task.lines if l.product == product]
        if not lots:
            raise ScanFailure('wrong_bin', gettext(
                    'inventory_flow.msg_count_wrong_bin',
                    product=product.rec_name, bin=bin_))
        number = scan.lot or scan.serial
        if number:
            found = [l for l in lots if l and l.number == number]
            if not found:
                raise ScanFailure('unknown_lot', gettext(
                        'inventory_flow.msg_count_unknown_lot',
                        lot=number, product=product.rec_name, bin=bin_))
            lot = found[0]
        elif len(set(lots)) == 1:
            lot = lots[0]
        else:
            raise ScanFailure('lot_required', gettext(
                    'inventory_flow.msg_count_lot_required',
                    product=product.rec_name, bin=bin_))
        del Lot
        pending = {'product': product.id, 'lot': lot.id if lot else None}
        if scan.quantity is not None:
            return self._add(task, state, pending, scan.quantity)
        if scan.serial and not scan.lot:
            return self._add(task, state, pending, 1)
        screen = self._items_screen(task, dict(state, phase='quantity',
                pending=pending))
        screen['prompt'] = gettext('inventory_flow.msg_prompt_count_quantity',
            product=product.rec_name, bin=bin_)
        screen['input'] = 'quantity'
        return screen

    def _add(self, task, state, pending, quantity):
        Product = Pool().get('product.product')
        product = Product(int(pending['product']))
        key = f"{pending['product']}:{pending.get('lot') or ''}"
        counts = dict(state.get('counts') or {})
        counts[key] = str(Decimal(counts.get(key, '0')) + Decimal(
                str(quantity)))
        screen = self._items_screen(task, {'task': task.id,
                'phase': 'items', 'counts': counts})
        screen['message'] = gettext('inventory_flow.msg_count_added',
            quantity=_format_quantity(float(quantity), product.default_uom),
            product=product.rec_name)
        screen['level'] = 'success'
        return screen

    def _items_screen(self, task, state):
        "The screen of a count: what was counted so far, never expected"
        pool = Pool()
        Product = pool.get('product.product')
        Lot = pool.get('stock.lot')
        lines = []
        for key, quantity in sorted((state.get('counts') or {}).items()):
            product_id, lot_id = key.split(':')
            product = Product(int(product_id))
            name = product.rec_name
            if lot_id:
                name += ' · ' + Lot(int(lot_id)).number
            counted = _format_quantity(float(quantity), product.default_uom)
            lines.append({'product': name,
                    'counted': counted,
                    'status': 'counted',
                    'status_label': gettext(
                        'inventory_flow.msg_count_status_counted',
                        quantity=counted)})
        bin_ = _bin_label(task.location)
        screen = self.screen(state, gettext(
                'inventory_flow.msg_prompt_count_item', bin=bin_),
            lines=lines, actions=[
                {'value': '__finish__',
                    'label': gettext(
                        'inventory_flow.msg_action_finish_count'),
                    'confirm': True},
                {'value': '__cancel__',
                    'label': gettext('inventory_flow.msg_action_cancel')}])
        screen['header'] = bin_
        return screen
