"""Waves, batches and pick tasks (C3), with re-allocation of short picks
(B5) and opportunistic count requests (B4).

The models only gather data and write results: the wave cut, the order
batching and the routes come from :mod:`batching` and :mod:`routing`, the
bin geometry from :mod:`geometry`, the FEFO/FIFO choice from
``inventory_flow.allocation``.
"""
import datetime as dt
from collections import defaultdict

from sql.aggregate import Max

from trytond.exceptions import UserError
from trytond.i18n import gettext
from trytond.model import (
    DeactivableMixin, Index, ModelSQL, ModelView, Workflow, fields)
from trytond.modules.inventory_flow.location import ZONES
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.rpc import RPC
from trytond.transaction import Transaction, without_check_access

from . import batching, routing
from .geometry import (
    Geometry, GeometryError, parse_cross_aisles, warehouse_layout)

WAVE_STATES = [
    ('draft', "Draft"),
    ('released', "Released"),
    ('done', "Done"),
    ('cancelled', "Cancelled"),
    ]
BATCH_STATES = [
    ('open', "Open"),
    ('done', "Done"),
    ('cancelled', "Cancelled"),
    ]
LINE_STATES = [
    ('pending', "Pending"),
    ('picked', "Picked"),
    ('short', "Short"),
    ('cancelled', "Cancelled"),
    ]
PICK_ZONES = ('pick', 'reserve')


def _round(value):
    return round(value or 0.0, 6)


class Location(metaclass=PoolMeta):
    __name__ = 'stock.location'

    pick_first_aisle = fields.Integer(
        "First Aisle",
        states={'invisible': Eval('type') != 'warehouse'},
        help="The aisle number of the bins at the left end, where the "
        "aisle spacing is counted from; empty for the lowest aisle number "
        "of the bins.")
    pick_aisle_spacing = fields.Float(
        "Aisle Spacing", digits=(16, 2),
        domain=['OR',
            ('pick_aisle_spacing', '=', None),
            ('pick_aisle_spacing', '>', 0)],
        states={'invisible': Eval('type') != 'warehouse'},
        help="The metres between the centre lines of two aisles.")
    pick_bin_width = fields.Float(
        "Bin Width", digits=(16, 2),
        domain=['OR',
            ('pick_bin_width', '=', None),
            ('pick_bin_width', '>', 0)],
        states={'invisible': Eval('type') != 'warehouse'},
        help="The metres of aisle per bin position: position p is at "
        "(p - 0.5) times this from the front cross-aisle.")
    pick_aisle_length = fields.Float(
        "Aisle Length", digits=(16, 2),
        states={'invisible': Eval('type') != 'warehouse'},
        help="The metres from the front to the back cross-aisle; empty for "
        "the last bin position times the bin width.")
    pick_cross_aisles = fields.Char(
        "Middle Cross-Aisles",
        states={'invisible': Eval('type') != 'warehouse'},
        help="The metres from the front of the middle cross-aisles, "
        "separated by commas (the front and back ones always exist).")
    pick_depot_x = fields.Float(
        "Depot", digits=(16, 2),
        states={'invisible': Eval('type') != 'warehouse'},
        help="The metres of the depot (where pickers start and end) along "
        "the front cross-aisle from the first aisle.")

    def pick_geometry(self):
        try:
            cross = parse_cross_aisles(self.pick_cross_aisles)
        except GeometryError as error:
            self._raise_geometry(error)
        return Geometry(
            aisle_spacing=self.pick_aisle_spacing or 3.0,
            bin_width=self.pick_bin_width or 1.0,
            aisle_length=self.pick_aisle_length or None,
            cross_aisles=cross,
            depot_x=self.pick_depot_x or 0.0,
            first_aisle=self.pick_first_aisle)

    def _raise_geometry(self, error):
        label = self.fields_get(
            ['pick_' + error.field]).get('pick_' + error.field, {}).get(
            'string', error.field)
        raise UserError(gettext('inventory_wave.msg_geometry_invalid',
                warehouse=self.rec_name, field=label, value=error.value,
                reason=error.reason))

    def pick_layout(self):
        """Return ``(layout, spot)`` of the warehouse's pick and reserve
        bins (one aggregate query), see :func:`geometry.warehouse_layout`.
        """
        Location = Pool().get('stock.location')
        table = Location.__table__()
        cursor = Transaction().connection.cursor()
        storage = self.storage_location
        cursor.execute(*table.select(
                table.aisle, Max(table.position),
                where=(table.left >= storage.left)
                & (table.right <= storage.right)
                & table.zone.in_(list(PICK_ZONES))
                & (table.aisle != None)  # noqa: E711
                & (table.position != None),  # noqa: E711
                group_by=[table.aisle]))
        bins = list(cursor)
        try:
            return warehouse_layout(self.pick_geometry(), bins)
        except GeometryError as error:
            self._raise_geometry(error)

    @classmethod
    def validate_fields(cls, locations, field_names):
        super().validate_fields(locations, field_names)
        if field_names & {'pick_first_aisle', 'pick_aisle_spacing',
                'pick_bin_width', 'pick_aisle_length', 'pick_cross_aisles',
                'pick_depot_x'}:
            for location in locations:
                if location.type == 'warehouse' and location.storage_location:
                    location.pick_layout()


class ShipmentOut(metaclass=PoolMeta):
    __name__ = 'stock.shipment.out'

    wave = fields.Many2One('stock.wave', "Wave", readonly=True,
        ondelete='SET NULL',
        help="The wave the shipment is picked in.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.add(Index(t, (t.wave, Index.Equality())))


class WaveTemplate(DeactivableMixin, ModelSQL, ModelView):
    "Wave Template"
    __name__ = 'stock.wave.template'

    name = fields.Char("Name", required=True, translate=True,
        help="What the waves of the template are, e.g. 'Parcel 14:00'.")
    sequence = fields.Integer("Priority",
        help="Templates with a lower number take their shipments first.")
    warehouse = fields.Many2One('stock.location', "Warehouse",
        required=True, domain=[('type', '=', 'warehouse')],
        help="The warehouse whose reserved shipments the waves pick.")
    carrier = fields.Many2One('carrier', "Carrier",
        help="Only shipments of this carrier; empty for any carrier.")
    channel = fields.Many2One('inventory.channel', "Order Type",
        help="Only orders from this sales channel; empty for any.")
    zones = fields.MultiSelection(ZONES[1:], "Zones",
        help="Only shipments picked wholly from bins of these zones; "
        "empty for any zone.")
    cut_off = fields.Time("Cut-Off",
        help="Orders created before this time of day go in the day's "
        "wave; the scheduler builds the wave once a day after it.")
    automatic = fields.Boolean("Build by Scheduler",
        help="The scheduled task builds the waves after the cut-off.")
    max_orders = fields.Integer("Max Orders",
        domain=['OR', ('max_orders', '=', None), ('max_orders', '>', 0)],
        help="The most orders in one wave; empty for no limit.")
    max_lines = fields.Integer("Max Lines",
        domain=['OR', ('max_lines', '=', None), ('max_lines', '>', 0)],
        help="The most pick lines in one wave; empty for no limit.")
    cart_totes = fields.Integer("Totes per Cart", required=True,
        domain=[('cart_totes', '>', 0)],
        help="The totes one cart holds; each order takes one tote, so "
        "this is the most orders in one batch.")
    cart_volume = fields.Float("Cart Volume", digits=(16, 3),
        domain=['OR', ('cart_volume', '=', None), ('cart_volume', '>', 0)],
        help="The litres one cart holds; empty for no limit.")
    cart_weight = fields.Float("Cart Weight", digits=(16, 3),
        domain=['OR', ('cart_weight', '=', None), ('cart_weight', '>', 0)],
        help="The kilograms one cart takes; empty for no limit.")
    cart_lines = fields.Integer("Lines per Cart",
        domain=['OR', ('cart_lines', '=', None), ('cart_lines', '>', 0)],
        help="The most pick lines in one batch; empty for no limit.")
    last_build = fields.DateTime("Last Build", readonly=True,
        help="When waves were last built from the template.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('sequence', 'ASC NULLS LAST'), ('id', 'ASC')]
        cls._buttons.update({
                'build_waves': {
                    'invisible': ~Eval('active', True),
                    'depends': ['active'],
                    },
                })

    @classmethod
    def default_cart_totes(cls):
        return 8

    @classmethod
    def default_automatic(cls):
        return True

    def cut_off_datetime(self, now):
        if self.cut_off is None:
            return None
        return dt.datetime.combine(now.date(), self.cut_off)

    def shipment_domain(self, now):
        domain = [
            ('state', '=', 'assigned'),
            ('warehouse', '=', self.warehouse.id),
            ('wave', '=', None),
            ]
        if self.carrier:
            domain.append(('carrier', '=', self.carrier.id))
        if self.channel:
            domain.append(('moves', 'where', [
                        ('origin.sale.channel', '=', self.channel.id,
                            'sale.line'),
                        ]))
        if self.zones:
            # No inventory move from a bin outside the zones: one NOT EXISTS
            # sub-query of the shipment search
            output = self.warehouse.output_location.id
            domain.append(('moves', 'not where', [
                        ('to_location', '=', output),
                        ('state', '!=', 'cancelled'),
                        ['OR',
                            ('from_location.zone', 'not in', list(self.zones)),
                            ('from_location.zone', '=', None),
                            ],
                        ]))
        cut_off = self.cut_off_datetime(now)
        if cut_off is not None and now >= cut_off:
            domain.append(('create_date', '<=', cut_off))
        return domain

    def capacity(self):
        return batching.Capacity(
            totes=self.cart_totes, volume=self.cart_volume,
            weight=self.cart_weight, lines=self.cart_lines)

    @classmethod
    @ModelView.button
    def build_waves(cls, templates):
        "Build the waves of the templates now (on demand)"
        Wave = Pool().get('stock.wave')
        with without_check_access():
            Wave.build(templates)

    @classmethod
    def build_due_waves(cls):
        "Build the waves of the automatic templates whose cut-off passed"
        now = dt.datetime.now()
        due = []
        for template in cls.search([('automatic', '=', True)]):
            cut_off = template.cut_off_datetime(now)
            if cut_off is None:
                due.append(template)
            elif now >= cut_off and (
                    not template.last_build or template.last_build < cut_off):
                due.append(template)
        if due:
            Pool().get('stock.wave').build(due, now=now)


class Wave(Workflow, ModelSQL, ModelView):
    "Wave"
    __name__ = 'stock.wave'
    _rec_name = 'number'

    number = fields.Char("Number", readonly=True,
        help="The wave's number, printed on its pick lists.")
    template = fields.Many2One('stock.wave.template', "Template",
        readonly=True, ondelete='RESTRICT',
        help="The template the wave was built from.")
    warehouse = fields.Many2One('stock.location', "Warehouse",
        required=True, readonly=True, domain=[('type', '=', 'warehouse')],
        help="The warehouse the wave is picked in.")
    state = fields.Selection(WAVE_STATES, "State", required=True,
        readonly=True, sort=False,
        help="Draft when built, released to the pickers by a manager, "
        "done when every batch is picked, or cancelled.")
    shipments = fields.One2Many('stock.shipment.out', 'wave', "Shipments",
        readonly=True,
        help="The customer shipments picked in the wave.")
    batches = fields.One2Many('stock.wave.batch', 'wave', "Batches",
        readonly=True,
        help="The batches of orders, one per picker and cart.")
    distance = fields.Float("Route Distance", digits=(16, 1),
        readonly=True,
        help="The metres walked by all batches on their optimal routes.")
    fcfs_distance = fields.Float("First-Come S-Shape Distance",
        digits=(16, 1), readonly=True,
        help="The metres the same orders would take batched first come, "
        "first served and walked in S-shape: the baseline.")
    saving = fields.Function(fields.Float("Walking Saved", digits=(16, 1),
            help="The percentage of walking saved against the baseline."),
        'get_saving')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.add(Index(
                t, (t.state, Index.Equality(cardinality='low'))))
        cls._order = [('id', 'DESC')]
        cls._transitions |= {
            ('draft', 'released'),
            ('draft', 'cancelled'),
            ('released', 'cancelled'),
            ('released', 'done'),
            }
        cls._buttons.update({
                'release': {
                    'invisible': Eval('state') != 'draft',
                    'depends': ['state'],
                    },
                'cancel': {
                    'invisible': ~Eval('state').in_(['draft', 'released']),
                    'depends': ['state'],
                    },
                })

    @classmethod
    def default_state(cls):
        return 'draft'

    def get_saving(self, name):
        if not self.fcfs_distance:
            return 0.0
        return round(100 * (1 - (self.distance or 0) / self.fcfs_distance), 1)

    @classmethod
    @ModelView.button
    @Workflow.transition('released')
    def release(cls, waves):
        # Pick faces that cannot serve the wave get a replenishment (B3)
        Pool().get('stock.pick_face').replenish_for_shipments(
            [s for w in waves for s in w.shipments])

    @classmethod
    @ModelView.button
    @Workflow.transition('cancelled')
    def cancel(cls, waves):
        """Give the shipments back: they leave the wave with their bins,
        lots and reservations as they were; the pick tasks are cancelled.
        Refused once something was picked."""
        pool = Pool()
        Line = pool.get('stock.wave.batch.line')
        Batch = pool.get('stock.wave.batch')
        picked = Line.search([
                ('batch.wave', 'in', [w.id for w in waves]),
                ('state', 'in', ['picked', 'short']),
                ], limit=1)
        if picked:
            raise UserError(gettext('inventory_wave.msg_wave_cancel_picked',
                    wave=picked[0].batch.wave.rec_name,
                    product=picked[0].product.rec_name,
                    bin=picked[0].location.rec_name))
        lines = Line.search([
                ('batch.wave', 'in', [w.id for w in waves]),
                ('state', '=', 'pending'),
                ])
        Line.write(lines, {'state': 'cancelled'})
        Batch.write([b for w in waves for b in w.batches],
            {'state': 'cancelled'})
        _set_wave([s.id for w in waves for s in w.shipments], None)

    @classmethod
    @Workflow.transition('done')
    def do(cls, waves):
        pass

    @classmethod
    def build(cls, templates, now=None):
        """Build the waves of the templates: cut the due shipments into
        waves, batch and route them; return the waves created (draft)."""
        pool = Pool()
        Shipment = pool.get('stock.shipment.out')
        Template = pool.get('stock.wave.template')
        if now is None:
            now = dt.datetime.now()
        created = []
        for template in templates:
            warehouse = template.warehouse
            layout, spot = warehouse.pick_layout()
            layout = routing.parse_layout(layout)
            shipments = Shipment.search(
                template.shipment_domain(now),
                order=[('planned_date', 'ASC NULLS LAST'), ('id', 'ASC')])
            tasks = cls._pick_tasks(warehouse, shipments)
            capacity = template.capacity()
            try:
                capacity.check()
            except batching.BatchingError as error:
                raise UserError(gettext(
                        'inventory_wave.msg_template_capacity',
                        template=template.rec_name, field=error.field,
                        value=error.limit))
            orders = []
            for shipment in shipments:
                moves = tasks.get(shipment.id)
                if not moves or any(
                        m['aisle'] is None or m['position'] is None
                        for m in moves):
                    # Nothing to pick here or a bin without coordinates:
                    # the office picks it by hand
                    continue
                order = batching.Order(
                    shipment.id,
                    tuple(spot(m['aisle'], m['position']) for m in moves),
                    volume=sum(m['volume'] for m in moves),
                    weight=sum(m['weight'] for m in moves))
                if batching.fits([order], capacity):
                    orders.append(order)
            for wave_ids in batching.cut_waves(
                    orders, template.max_orders, template.max_lines):
                in_wave = set(wave_ids)
                wave_orders = [o for o in orders if o.id in in_wave]
                plan = batching.plan_batches(layout, wave_orders, capacity)
                created.append(cls._create_wave(
                        template, layout, wave_orders, plan, tasks))
            template.last_build = now
        Template.save(templates)
        return created

    @classmethod
    def _pick_tasks(cls, warehouse, shipments):
        """Return {shipment id: [move dict]} of the assigned inventory
        moves of the shipments, read in one query per 500 shipments."""
        pool = Pool()
        Move = pool.get('stock.move')
        Location = pool.get('stock.location')
        Product = pool.get('product.product')
        Template = pool.get('product.template')
        move = Move.__table__()
        location = Location.__table__()
        product = Product.__table__()
        template = Template.__table__()
        cursor = Transaction().connection.cursor()
        units = _measure_units()
        result = defaultdict(list)
        refs = [str(s) for s in shipments]
        output = warehouse.output_location.id
        for i in range(0, len(refs), 500):
            cursor.execute(*move.join(location,
                    condition=move.from_location == location.id
                    ).join(product, condition=move.product == product.id
                    ).join(template, condition=product.template == template.id
                    ).select(
                    move.id, move.shipment, move.product, move.lot,
                    move.quantity, move.internal_quantity, move.unit,
                    move.from_location, location.aisle, location.position,
                    template.volume, template.volume_uom, template.weight,
                    template.weight_uom,
                    where=move.shipment.in_(refs[i:i + 500])
                    & (move.state == 'assigned')
                    & (move.to_location == output),
                    order_by=[move.id.asc]))
            for (id_, shipment, product_id, lot, quantity, internal, unit,
                    location_id, aisle, position, volume, volume_uom, weight,
                    weight_uom) in cursor:
                internal = internal or 0
                result[int(shipment.split(',')[1])].append({
                        'move': id_, 'product': product_id, 'lot': lot,
                        'quantity': quantity, 'unit': unit,
                        'location': location_id, 'aisle': aisle,
                        'position': position,
                        'volume': internal * units('volume', volume,
                            volume_uom),
                        'weight': internal * units('weight', weight,
                            weight_uom),
                        })
        return result

    @classmethod
    def _create_wave(cls, template, layout, orders, plan, tasks):
        pool = Pool()
        Batch = pool.get('stock.wave.batch')
        Line = pool.get('stock.wave.batch.line')
        by_id = {o.id: o for o in orders}
        wave, = cls.create([{
                    'template': template.id,
                    'warehouse': template.warehouse.id,
                    'distance': plan.distance,
                    'fcfs_distance': plan.fcfs_distance,
                    }])
        wave.number = 'W%05d' % wave.id
        wave.save()
        batch_values = []
        for n, batch in enumerate(plan.batches, 1):
            s_shape = batching._route(
                layout, orders, batch.orders, routing.s_shape_route)
            batch_values.append({
                    'wave': wave.id, 'sequence': n,
                    'distance': batch.distance,
                    's_shape_distance': s_shape.distance,
                    })
        batches = Batch.create(batch_values)
        line_values = []
        for batch, record in zip(plan.batches, batches):
            totes = {order: k for k, order in enumerate(batch.orders, 1)}
            # One stop per bin, product and lot, in route order: the same
            # SKU for several orders is picked once, then sorted to totes
            first = {}
            for visit, (order, index) in enumerate(batch.route):
                task = tasks[order][index]
                key = (task['location'], task['product'], task['lot'])
                first.setdefault(key, visit)
            stops = {key: n for n, key in enumerate(
                    sorted(first, key=first.get), 1)}
            for order, index in batch.route:
                task = tasks[order][index]
                key = (task['location'], task['product'], task['lot'])
                line_values.append({
                        'batch': record.id,
                        'sequence': stops[key],
                        'location': task['location'],
                        'product': task['product'],
                        'lot': task['lot'],
                        'quantity': task['quantity'],
                        'unit': task['unit'],
                        'move': task['move'],
                        'shipment': order,
                        'tote': totes[order],
                        'state': 'pending',
                        })
            assert set(totes) <= set(by_id)
        _insert(Line, line_values)
        _set_wave(list(by_id), wave.id)
        return wave


def _insert(Model, values, size=1000):
    """Insert plain rows of Model in multi-row INSERTs: the pick tasks of
    a wave are thousands of rows whose references the build just read, so
    the per-record validation of ``create`` is skipped (rule 8)."""
    if not values:
        return
    transaction = Transaction()
    cursor = transaction.connection.cursor()
    table = Model.__table__()
    names = list(values[0])
    columns = [getattr(table, n) for n in names] + [
        table.create_uid, table.create_date]
    now = dt.datetime.now()
    transaction.cache.pop(Model.__name__, None)
    transaction.counter += 1
    for i in range(0, len(values), size):
        cursor.execute(*table.insert(columns, [
                    [v[n] for n in names] + [transaction.user, now]
                    for v in values[i:i + size]]))


def _set_wave(shipment_ids, wave_id, size=1000):
    """Link the shipments to the wave (or unlink them with None) in one
    UPDATE per 1000 ids; nothing else of the shipment changes, so the
    ORM's re-validation of every shipment is not needed."""
    pool = Pool()
    Shipment = pool.get('stock.shipment.out')
    transaction = Transaction()
    cursor = transaction.connection.cursor()
    table = Shipment.__table__()
    now = dt.datetime.now()
    for i in range(0, len(shipment_ids), size):
        cursor.execute(*table.update(
                [table.wave, table.write_uid, table.write_date],
                [wave_id, transaction.user, now],
                where=table.id.in_(shipment_ids[i:i + size])))
    # Records read earlier in the transaction must not keep the old wave
    transaction.cache.pop(Shipment.__name__, None)
    transaction.counter += 1


def _measure_units():
    "Return a function converting a product measure to litres / kg"
    pool = Pool()
    Uom = pool.get('product.uom')
    ModelData = pool.get('ir.model.data')
    targets = {
        'volume': Uom(ModelData.get_id('product', 'uom_liter')),
        'weight': Uom(ModelData.get_id('product', 'uom_kilogram')),
        }
    cache = {}

    def convert(kind, value, uom):
        if not value or not uom:
            return 0.0
        if (kind, uom) not in cache:
            cache[kind, uom] = Uom.compute_qty(
                Uom(uom), 1, targets[kind], round=False)
        return value * cache[kind, uom]
    return convert


class WaveBatch(ModelSQL, ModelView):
    "Wave Batch"
    __name__ = 'stock.wave.batch'

    wave = fields.Many2One('stock.wave', "Wave", required=True,
        readonly=True, ondelete='CASCADE',
        help="The wave the batch belongs to.")
    sequence = fields.Integer("Number", readonly=True,
        help="The number of the batch in its wave.")
    code = fields.Function(fields.Char("Code",
            help="The code printed as a barcode on the pick list and "
            "scanned to start picking."),
        'get_code', searcher='search_code')
    picker = fields.Many2One('res.user', "Picker",
        states={'readonly': Eval('state') != 'open'},
        help="The operator who picks the batch; set when a picker scans "
        "its pick list.")
    cart = fields.Char("Cart",
        states={'readonly': Eval('state') != 'open'},
        help="The cart the batch is picked on.")
    state = fields.Selection(BATCH_STATES, "State", required=True,
        readonly=True,
        help="Open until every pick task is done.")
    distance = fields.Float("Route Distance", digits=(16, 1), readonly=True,
        help="The metres of the batch's optimal route.")
    s_shape_distance = fields.Float("S-Shape Distance", digits=(16, 1),
        readonly=True,
        help="The metres of the same batch walked in S-shape, for "
        "comparison.")
    lines = fields.One2Many('stock.wave.batch.line', 'batch', "Pick Tasks",
        readonly=True,
        help="The pick tasks in route order.")
    wave_state = fields.Function(fields.Selection(WAVE_STATES, "Wave State",
            help="The state of the wave."), 'on_change_with_wave_state')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('wave', 'DESC'), ('sequence', 'ASC'), ('id', 'ASC')]
        cls.__rpc__.update({
                'confirm_stop': RPC(readonly=False, instantiate=0),
                })

    @classmethod
    def default_state(cls):
        return 'open'

    @classmethod
    def confirm_stop(cls, batches, quantity):
        """Confirm ``quantity`` taken at the next stop of each batch (a
        paper pick list keyed in, or a test); return the results of
        :func:`pick.confirm_stop` with the shipments as ids."""
        from .pick import confirm_stop, current_stop
        results = []
        for batch in batches:
            # The caller's rights on the batch were checked by the RPC;
            # the moves, reservations and counts follow from the pick
            with without_check_access():
                result = confirm_stop(current_stop(batch), quantity)
            result['completed'] = [s.id for s in result['completed']]
            results.append(result)
        return results

    @fields.depends('wave', '_parent_wave.state')
    def on_change_with_wave_state(self, name=None):
        return self.wave.state if self.wave else None

    def get_rec_name(self, name):
        return f'{self.wave.rec_name}/{self.sequence}'

    @classmethod
    def search_rec_name(cls, name, clause):
        return [('wave.number',) + tuple(clause[1:])]

    def get_code(self, name):
        return 'PB%06d' % self.id

    @classmethod
    def search_code(cls, name, clause):
        _, operator, value = clause[:3]
        if operator == '=' and isinstance(value, str):
            text = value.strip().upper()
            if text.startswith('PB') and text[2:].isdigit():
                return [('id', '=', int(text[2:]))]
            return [('id', '=', -1)]
        return [('id', '=', -1)]


class WaveBatchLine(ModelSQL, ModelView):
    "Pick Task"
    __name__ = 'stock.wave.batch.line'

    batch = fields.Many2One('stock.wave.batch', "Batch", required=True,
        readonly=True, ondelete='CASCADE',
        help="The batch the task is picked in.")
    sequence = fields.Integer("Stop", readonly=True,
        help="The stop of the route: tasks of one stop share the bin, "
        "product and lot and are picked at once.")
    location = fields.Many2One('stock.location', "Bin", required=True,
        readonly=True, ondelete='RESTRICT',
        help="The bin to pick from.")
    product = fields.Many2One('product.product', "Product", required=True,
        readonly=True, ondelete='RESTRICT',
        help="The product to pick.")
    lot = fields.Many2One('stock.lot', "Lot", readonly=True,
        ondelete='RESTRICT',
        help="The lot the system chose (FEFO or FIFO).")
    quantity = fields.Float("Quantity", readonly=True,
        digits='unit',
        help="The quantity to pick for the order.")
    unit = fields.Many2One('product.uom', "Unit", readonly=True,
        ondelete='RESTRICT', help="The unit of the quantities.")
    picked_quantity = fields.Float("Picked Quantity", readonly=True,
        digits='unit',
        help="The quantity the picker confirmed.")
    tote = fields.Integer("Tote", readonly=True,
        help="The tote of the order on the cart.")
    shipment = fields.Many2One('stock.shipment.out', "Shipment",
        required=True, readonly=True, ondelete='CASCADE',
        help="The customer shipment (order) the task picks for.")
    move = fields.Many2One('stock.move', "Move", readonly=True,
        ondelete='SET NULL',
        help="The inventory move of the shipment the task carries out.")
    state = fields.Selection(LINE_STATES, "State", required=True,
        readonly=True,
        help="Pending until picked; short when the bin held less and the "
        "rest was re-allocated.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.add(Index(t,
                (t.batch, Index.Range()), (t.sequence, Index.Range())))
        cls._order = [('batch', 'ASC'), ('sequence', 'ASC'),
            ('tote', 'ASC'), ('id', 'ASC')]

    @classmethod
    def default_state(cls):
        return 'pending'


class CountTask(metaclass=PoolMeta):
    "A short pick asks for a count of the bin (B4, inventory_flow)"
    __name__ = 'stock.count.task'

    @classmethod
    def _get_origin(cls):
        return super()._get_origin() + ['stock.wave.batch.line']


class Cron(metaclass=PoolMeta):
    __name__ = 'ir.cron'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.method.selection.extend([
                ('stock.wave.template|build_due_waves', "Build Waves"),
                ('inventory.webhook.event|deliver_due', "Send Webhooks"),
                ])

