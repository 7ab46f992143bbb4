"""Warehouse layout: storage bins with coordinates, capacity, zone and
barcode, and the wizard that lays out a rack block in one batch (A5, B3)."""
from sql.conditionals import Coalesce

from trytond.exceptions import UserError
from trytond.i18n import gettext
from trytond.model import Index, ModelView, fields
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.transaction import Transaction
from trytond.wizard import Button, StateTransition, StateView, Wizard

from .layout import LayoutError, RackBlock, plan_block

ZONES = [
    (None, ''),
    ('pick', "Pick Face"),
    ('reserve', "Reserve"),
    ('quarantine', "Quarantine"),
    ('dispatch', "Dispatch"),
    ]


class Location(metaclass=PoolMeta):
    __name__ = 'stock.location'

    zone = fields.Selection(
        ZONES, "Zone",
        states={'invisible': Eval('type') != 'storage'},
        help="The role of the bin in the warehouse flow; "
        "a storage location with a zone is a bin.")
    barcode = fields.Char(
        "Barcode",
        states={'invisible': Eval('type') != 'storage'},
        help="The code printed on the bin label and scanned by operators.")
    aisle = fields.Integer(
        "Aisle",
        states={'invisible': ~Eval('zone')},
        help="The index of the aisle the bin stands in.")
    position = fields.Integer(
        "Position",
        states={'invisible': ~Eval('zone')},
        help="The position of the bin along its aisle, from the front "
        "cross-aisle.")
    level = fields.Integer(
        "Level",
        states={'invisible': ~Eval('zone')},
        help="The rack level of the bin, 1 being the floor.")
    capacity_volume = fields.Float(
        "Capacity Volume", digits=(16, 3),
        domain=['OR',
            ('capacity_volume', '=', None),
            ('capacity_volume', '>', 0)],
        states={'invisible': ~Eval('zone')},
        help="The volume the bin can hold in cubic metres.")
    capacity_weight = fields.Float(
        "Capacity Weight", digits=(16, 3),
        domain=['OR',
            ('capacity_weight', '=', None),
            ('capacity_weight', '>', 0)],
        states={'invisible': ~Eval('zone')},
        help="The weight the bin can bear in kilograms.")
    blocked = fields.Boolean(
        "Blocked",
        states={'invisible': Eval('type') != 'storage'},
        help="A blocked bin receives no putaway and is never allocated for "
        "picking, e.g. while damaged or under count.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order.insert(0, ('code', 'ASC NULLS LAST'))
        t = cls.__table__()
        cls._sql_indexes.update({
                # A scanned bin label (Char '=' compares the coalesced
                # column); the warehouses among 20 000 bins (stock_lot_sled
                # looks them up at every move done)
                Index(t, (Coalesce(t.barcode, ''), Index.Equality())),
                Index(t, (t.type, Index.Equality())),
                # The dispatch bins, origin of the walking distances of
                # every putaway recommendation
                Index(t, (t.zone, Index.Equality())),
                })

    @classmethod
    def default_blocked(cls):
        return False

    @classmethod
    def search_rec_name(cls, name, clause):
        domain = super().search_rec_name(name, clause)
        if clause[1].startswith('!') or clause[1].startswith('not '):
            bool_op = 'AND'
        else:
            bool_op = 'OR'
        return [bool_op, domain, ('barcode',) + tuple(clause[1:])]

    @classmethod
    def validate_fields(cls, locations, field_names):
        super().validate_fields(locations, field_names)
        cls.check_bin_code(locations, field_names)

    @classmethod
    def check_bin_code(cls, locations, field_names=None):
        "A bin code and a bin barcode are unique among active locations"
        if field_names and not (field_names & {'code', 'barcode', 'zone'}):
            return
        for fname in ('code', 'barcode'):
            values = {getattr(l, fname) for l in locations
                if l.zone and getattr(l, fname)}
            if not values:
                continue
            duplicates = cls.search([
                    (fname, 'in', list(values)),
                    ('id', 'not in', [l.id for l in locations]),
                    ], limit=1)
            if not duplicates:
                seen = set()
                for location in locations:
                    value = getattr(location, fname)
                    if location.zone and value:
                        if value in seen:
                            duplicates = [location]
                            break
                        seen.add(value)
            if duplicates:
                duplicate, = duplicates
                raise UserError(gettext(
                        'inventory_flow.msg_bin_code_unique',
                        field=fname, value=getattr(duplicate, fname)))


class LayoutGenerateStart(ModelView):
    __name__ = 'stock.location.layout.generate.start'

    warehouse = fields.Many2One(
        'stock.location', "Warehouse", required=True,
        domain=[('type', '=', 'warehouse')],
        help="The warehouse whose storage location receives the racks.")
    prefix = fields.Char(
        "Prefix", required=True,
        help="The first part of every bin code, usually the warehouse "
        "letter: A gives A-03-2-05.")
    zone = fields.Selection(ZONES[1:], "Zone", required=True,
        help="The zone of the generated bins.")
    first_aisle = fields.Integer("First Aisle", required=True,
        help="The number of the first aisle to create.")
    aisles = fields.Integer("Aisles", required=True,
        help="How many aisles to create.")
    positions = fields.Integer("Positions", required=True,
        help="How many bins along each aisle.")
    levels = fields.Integer("Levels", required=True,
        help="How many levels each rack has.")
    capacity_volume = fields.Float("Capacity Volume", digits=(16, 3),
        help="The volume of each bin in cubic metres.")
    capacity_weight = fields.Float("Capacity Weight", digits=(16, 3),
        help="The weight each bin bears in kilograms.")

    @classmethod
    def default_first_aisle(cls):
        return 1

    @classmethod
    def default_zone(cls):
        return 'pick'

    @fields.depends('warehouse', 'prefix')
    def on_change_warehouse(self):
        if self.warehouse and not self.prefix:
            self.prefix = self.warehouse.code


class LayoutGenerate(Wizard):
    "Generate a rack layout of bins in one batch"
    __name__ = 'stock.location.layout.generate'

    start = StateView(
        'stock.location.layout.generate.start',
        'inventory_flow.layout_generate_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Generate", 'generate', 'tryton-ok', default=True),
            ])
    generate = StateTransition()

    def default_start(self, fields):
        context = Transaction().context
        values = {}
        if (context.get('active_model') == 'stock.location'
                and context.get('active_id')):
            Location = Pool().get('stock.location')
            location = Location(context['active_id'])
            if location.type == 'warehouse':
                values['warehouse'] = location.id
                values['prefix'] = location.code
        return values

    def transition_generate(self):
        self.generated = generate_layout(
            self.start.warehouse, RackBlock(
                prefix=(self.start.prefix or '').strip(),
                first_aisle=self.start.first_aisle,
                aisles=self.start.aisles,
                positions=self.start.positions,
                levels=self.start.levels),
            zone=self.start.zone,
            capacity_volume=self.start.capacity_volume,
            capacity_weight=self.start.capacity_weight)
        return 'end'


def field_label(name):
    "Return the translated label of a field of the layout wizard"
    Start = Pool().get('stock.location.layout.generate.start')
    field = Start._fields.get(name)
    return field.string if field else name


def generate_layout(
        warehouse, block, zone='pick', capacity_volume=None,
        capacity_weight=None):
    """Create the aisles and bins of ``block`` under the storage location of
    ``warehouse`` in two batched creates; return the bins created.

    Nothing is written when a parameter is invalid or a code already exists.
    """
    pool = Pool()
    Location = pool.get('stock.location')
    try:
        plan = plan_block(block)
    except LayoutError as error:
        raise UserError(gettext(
                'inventory_flow.msg_layout_%s' % error.code,
                field=field_label(error.field), value=error.value,
                limit=error.limit))
    for name, value in [
            ('capacity_volume', capacity_volume),
            ('capacity_weight', capacity_weight)]:
        if value is not None and value <= 0:
            raise UserError(gettext(
                    'inventory_flow.msg_layout_positive',
                    field=field_label(name), value=value))
    if not warehouse.storage_location:
        raise UserError(gettext(
                'inventory_flow.msg_layout_no_storage',
                warehouse=warehouse.rec_name))
    codes = [c for _, _, bins in plan for c, _, _ in bins]
    existing = Location.search([
            ('code', 'in', codes),
            ], limit=1)
    if existing:
        raise UserError(gettext(
                'inventory_flow.msg_layout_overlap',
                code=existing[0].code))
    storage = warehouse.storage_location
    aisle_codes = [c for _, c, _ in plan]
    aisles = {a.code: a for a in Location.search([
                ('code', 'in', aisle_codes),
                ('parent', '=', storage.id),
                ('type', '=', 'view'),
                ])}
    missing = [(number, code) for number, code, _ in plan
        if code not in aisles]
    if missing:
        for location in Location.create([{
                        'name': f"Aisle {code}",
                        'code': code,
                        'type': 'view',
                        'parent': storage.id,
                        } for number, code in missing]):
            aisles[location.code] = location
    to_create = []
    for number, code, bins in plan:
        parent = aisles[code]
        for bin_code, level, position in bins:
            to_create.append({
                    'name': bin_code,
                    'code': bin_code,
                    'barcode': bin_code,
                    'type': 'storage',
                    'parent': parent.id,
                    'zone': zone,
                    'aisle': number,
                    'position': position,
                    'level': level,
                    'capacity_volume': capacity_volume,
                    'capacity_weight': capacity_weight,
                    })
    return Location.create(to_create)
