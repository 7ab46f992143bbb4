"""The quality gate between receiving and stock (requirement A4, B5).

Built on Tryton's ``quality`` module: an inspection plan is a
``quality.control`` for the operation "received into quarantine", its
checks are the control's points, and each quarantined lot gets one
``quality.inspection`` with the plan's sampling (``sampling.py``).  The
receipt puts the flagged goods into the warehouse's quarantine bin instead
of waiting for putaway; the inspector's decision moves them on:

* pass / concession — an internal shipment out of quarantine to the bin the
  putaway strategies recommend;
* fail — into the rejection bin, with a draft supplier return
  (``stock.shipment.in.return``) and the buyer notified;
* partial — the defective quantity as for fail, the rest as for pass.

Nothing else may take stock out of a quarantine bin.
"""
import datetime as dt
import json

from sql import Null
from sql.aggregate import Count, Min, Sum
from sql.conditionals import Case, Coalesce

from trytond.exceptions import UserError
from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, Workflow, fields
from trytond.model.exceptions import AccessError
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Bool, Eval, If
from trytond.rpc import RPC
from trytond.transaction import Transaction, without_check_access

from . import sampling
from .measurement import EntryError, parse_entry

QUARANTINE_OPERATION = 'stock.shipment.in:quarantine'
AQLS = ['0.010', '0.015', '0.025', '0.040', '0.065', '0.10', '0.15', '0.25',
    '0.40', '0.65', '1.0', '1.5', '2.5', '4.0', '6.5', '10']
SEVERITIES = [
    ('normal', "Normal"),
    ('tightened', "Tightened"),
    ('reduced', "Reduced"),
    ('skip', "Skip-lot"),
    ('discontinued', "Discontinued (100 %)"),
    ]
DECISIONS = [
    (None, ''),
    ('pass', "Pass"),
    ('fail', "Fail"),
    ('partial', "Partial"),
    ('concession', "Concession"),
    ]


def in_groups(*xml_ids):
    "Whether the user is in one of the groups (inventory_flow/qc XML ids)"
    pool = Pool()
    ModelData = pool.get('ir.model.data')
    User = pool.get('res.user')
    if not Transaction().user:
        return True
    groups = set(User.get_groups())
    return any(ModelData.get_id(*x.split('.')) in groups for x in xml_ids)


QC_GROUPS = ('inventory_flow.group_qc_inspector', 'inventory_qc.group_qc_lead')
CONCESSION_GROUPS = ('inventory_qc.group_qc_lead',
    'inventory_flow.group_manager')


class SamplingLetter(ModelSQL, ModelView):
    "Sampling Code Letter"
    __name__ = 'quality.sampling.letter'

    lot_size_min = fields.Integer(
        "Lot Size From", required=True,
        domain=[('lot_size_min', '>=', 1)],
        help="The smallest lot size of the range.")
    lot_size_max = fields.Integer(
        "Lot Size To",
        help="The largest lot size of the range; empty for \"and over\".")
    level_s1 = fields.Char("S-1", size=1, required=True,
        help="The code letter at special inspection level S-1.")
    level_s2 = fields.Char("S-2", size=1, required=True,
        help="The code letter at special inspection level S-2.")
    level_s3 = fields.Char("S-3", size=1, required=True,
        help="The code letter at special inspection level S-3.")
    level_s4 = fields.Char("S-4", size=1, required=True,
        help="The code letter at special inspection level S-4.")
    level_1 = fields.Char("I", size=1, required=True,
        help="The code letter at general inspection level I.")
    level_2 = fields.Char("II", size=1, required=True,
        help="The code letter at general inspection level II.")
    level_3 = fields.Char("III", size=1, required=True,
        help="The code letter at general inspection level III.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order.insert(0, ('lot_size_min', 'ASC'))

    @classmethod
    def rows(cls):
        "Return the rows as sampling.code_letter expects them"
        fields_ = ['level_s1', 'level_s2', 'level_s3', 'level_s4',
            'level_1', 'level_2', 'level_3']
        return [(r.lot_size_min, r.lot_size_max,
                {level: getattr(r, f) for level, f in zip(
                        sampling.LEVELS, fields_)})
            for r in cls.search([])]


class SamplingPlan(ModelSQL, ModelView):
    "Single Sampling Plan"
    __name__ = 'quality.sampling.plan'

    severity = fields.Selection(
        SEVERITIES[:3], "Severity", required=True,
        help="The table: normal (2-A), tightened (2-B) or reduced (2-C).")
    letter = fields.Char(
        "Code Letter", size=1, required=True,
        help="The sample size code letter.")
    sample_size = fields.Integer(
        "Sample Size", required=True, domain=[('sample_size', '>', 0)],
        help="The units to inspect for the code letter.")
    aql = fields.Float(
        "AQL", required=True, digits=(16, 3),
        help="The acceptance quality limit in percent nonconforming.")
    accept = fields.Integer(
        "Ac", states={'invisible': Bool(Eval('arrow'))},
        help="The lot is accepted with at most this many defective units.")
    reject = fields.Integer(
        "Re", states={'invisible': Bool(Eval('arrow'))},
        help="The lot is rejected from this many defective units on.")
    arrow = fields.Selection([
            (None, ''),
            ('down', "Use the first plan below"),
            ('up', "Use the first plan above"),
            ], "Arrow",
        help="Instead of Ac and Re, the plan to use is below or above.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('severity', 'ASC'), ('letter', 'ASC'), ('aql', 'ASC'),
            ('id', 'ASC')]

    @classmethod
    def tables(cls):
        "Return the plans as sampling.single_plan expects them"
        plans = {}
        for record in cls.search([]):
            size, cells = plans.setdefault(
                (record.severity, record.letter), (record.sample_size, {}))
            cells[round(record.aql, 3)] = (record.arrow
                or (record.accept, record.reject))
        return plans


class Control(metaclass=PoolMeta):
    __name__ = 'quality.control'

    supplier = fields.Many2One(
        'party.party', "Supplier", ondelete='CASCADE',
        context={
            'company': Eval('company', Eval('context', {}).get('company')),
            },
        depends={'company'},
        help="Only receipts from this supplier; empty for all suppliers.")
    inspection_level = fields.Selection(
        [(l, l) for l in sampling.LEVELS], "Inspection Level",
        help="The ISO 2859-1 inspection level that gives the code letter "
        "by lot size.")
    aql = fields.Selection(
        [(None, '')] + [(a, a) for a in AQLS], "AQL", sort=False,
        help="The acceptance quality limit in percent nonconforming.")
    switching = fields.Boolean(
        "Switching Rules",
        help="Switch between normal, tightened and reduced inspection by "
        "the supplier's history (ISO 2859-1 clause 9).")
    photo_required = fields.Boolean(
        "Photo Required",
        help="A photo (an attachment of the inspection) is needed before "
        "the decision.")
    skip_lot_after = fields.Integer(
        "Skip-Lot After",
        domain=['OR', ('skip_lot_after', '=', None),
            ('skip_lot_after', '>', 0)],
        help="At reduced inspection, after this many consecutive accepted "
        "lots only every second lot is inspected; empty never skips.")
    reduced_approved = fields.Boolean(
        "Reduced Inspection Approved",
        help="The responsible authority considers reduced inspection "
        "desirable: without it the switching score never switches to "
        "reduced inspection (ISO 2859-1 9.3.3).")
    production_steady = fields.Boolean(
        "Production Steady",
        help="The supplier's production is at a steady rate; clear it when "
        "production becomes irregular or delayed: reduced inspection then "
        "returns to normal (ISO 2859-1 9.3.3, 9.3.4).")
    resumed_at = fields.DateTime(
        "Resumed at",
        help="When the supplier's corrective action was accepted after "
        "inspection was discontinued: the history restarts there at "
        "tightened inspection (ISO 2859-1 9.4).")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.operations.selection.append(
            (QUARANTINE_OPERATION, "Supplier Shipment Quarantined (per Lot)"))
        cls.product_category.context = {
            'company': Eval('company', Eval('context', {}).get('company')),
            }
        cls.product_category.depends.add('company')

    @classmethod
    def default_inspection_level(cls):
        return 'II'

    @classmethod
    def default_aql(cls):
        return '1.0'

    @classmethod
    def default_switching(cls):
        return True

    @classmethod
    def default_production_steady(cls):
        return True

    @classmethod
    def plan_for(cls, product, supplier, company, controls=None):
        """Return the inspection plan for a receipt of product from
        supplier: the most specific active one (product, then category,
        with the supplier before without), or None.  ``controls``: the
        candidate plans when already read (one search per receipt)."""
        if controls is None:
            controls = cls.quarantine_plans(company)
        matching = [c for c in controls
            if c.supplier in {None, supplier}
            and c.match({'product': product.id})]
        if not matching:
            return None
        return min(matching, key=lambda c: (
                c.product is None, c.product_category is None,
                c.supplier is None, c.id))

    @classmethod
    def quarantine_plans(cls, company):
        "Return the active plans of receipts into quarantine of company"
        return cls.search([
                ('operations', 'in', QUARANTINE_OPERATION),
                ('company', 'in', [company.id, None]),
                ])

    def severity_for(self, supplier):
        """Return (severity, skip) for the next lot of supplier by replaying
        the switching rules over the decided lots of this plan."""
        Inspection = Pool().get('quality.inspection')
        if not self.switching or not supplier:
            return 'normal', False
        domain = [
            ('control', '=', self.id),
            ('supplier', '=', supplier.id),
            ('decision', '!=', None),
            ]
        start = None
        if self.resumed_at:
            domain.append(('decided_at', '>', self.resumed_at))
            start = sampling.SwitchingState('tightened')
        decided = Inspection.search(
            domain, order=[('decided_at', 'ASC'), ('id', 'ASC')])
        state = sampling.replay([
                (i.decision == 'pass', i.accept_number or 0,
                    i.decision == 'pass' and (
                        i.tighter_accept_number is None
                        or (i.defective or 0) <= i.tighter_accept_number))
                for i in decided if i.severity != 'skip'],
            start, steady=(self.production_steady is None
                or bool(self.production_steady)),
            approved=bool(self.reduced_approved))
        severity = state.severity
        skip = bool(self.skip_lot_after
            and state.skip_lot(self.skip_lot_after)
            and decided and decided[-1].severity != 'skip')
        return severity, skip


class ControlPoint(metaclass=PoolMeta):
    __name__ = 'quality.control.point'

    unit = fields.Many2One(
        'product.uom', "Unit", ondelete='RESTRICT',
        states={
            'invisible': ~Eval('type_').in_(['integer', 'float', 'numeric']),
            },
        help="The unit the measurement is taken in.")
    mandatory = fields.Boolean(
        "Mandatory", help="The decision needs a value for this check.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.type_.selection.append(('char', "Free Text"))

    @classmethod
    def default_mandatory(cls):
        return True

    def check(self, value):
        if self.type_ == 'char':
            return True
        return super().check(value)


class Inspection(metaclass=PoolMeta):
    __name__ = 'quality.inspection'

    _lot_states = {'readonly': Eval('state') != 'pending'}

    product = fields.Many2One(
        'product.product', "Product", readonly=True,
        context={'company': Eval('company', -1)}, depends={'company'},
        help="The product inspected.")
    lot = fields.Many2One(
        'stock.lot', "Lot", readonly=True, ondelete='RESTRICT',
        help="The lot inspected.")
    quantity = fields.Float(
        "Quantity", digits='unit', readonly=True,
        help="The quantity of the lot held in quarantine.")
    unit = fields.Many2One('product.uom', "Unit", readonly=True,
        help="The unit of the quantity.")
    location = fields.Many2One(
        'stock.location', "Quarantine Bin", readonly=True,
        help="Where the lot waits for the decision.")
    supplier = fields.Many2One(
        'party.party', "Supplier", readonly=True,
        context={'company': Eval('company', -1)}, depends={'company'},
        help="The supplier who delivered the lot.")
    shipment = fields.Many2One(
        'stock.shipment.in', "Supplier Shipment", readonly=True,
        help="The receipt that brought the lot.")
    severity = fields.Selection(
        [(None, '')] + SEVERITIES, "Severity", readonly=True,
        help="Normal, tightened, reduced or skip-lot, by the switching "
        "rules and the supplier's history.")
    sample_letter = fields.Char("Code Letter", readonly=True,
        help="The sample size code letter of ISO 2859-1.")
    sample_size = fields.Integer("Sample Size", readonly=True,
        help="How many units to inspect.")
    accept_number = fields.Integer("Acceptance Number", readonly=True,
        help="The lot is accepted with at most this many defective units.")
    reject_number = fields.Integer("Rejection Number", readonly=True,
        help="The lot is rejected from this many defective units on.")
    tighter_accept_number = fields.Integer(
        "Acceptance Number One AQL Tighter", readonly=True,
        help="The acceptance number of the same sample at the next tighter "
        "AQL, for the switching score.")
    instruction = fields.Function(fields.Char("Instruction",
            help="What the inspector has to do."), 'get_instruction')
    defective = fields.Integer(
        "Defective Units", states=_lot_states,
        domain=['OR', ('defective', '=', None), ('defective', '>=', 0)],
        help="The defective units found in the sample.")
    defective_quantity = fields.Float(
        "Quantity to Reject", digits='unit', states=_lot_states,
        domain=['OR', ('defective_quantity', '=', None),
            ('defective_quantity', '>=', 0)],
        help="For a partial decision: the quantity of the lot rejected.")
    decision = fields.Selection(
        DECISIONS, "Decision", readonly=True,
        help="What was decided for the lot.")
    decision_comment = fields.Text(
        "Comment", states=_lot_states,
        help="The deviation accepted by a concession, or a remark.")
    decided_by = fields.Many2One('res.user', "Decided by", readonly=True,
        help="The user who decided.")
    decided_at = fields.DateTime("Decided at", readonly=True,
        help="When the decision was taken.")
    release_shipment = fields.Many2One(
        'stock.shipment.internal', "Release", readonly=True,
        help="The internal shipment taking the accepted quantity out of "
        "quarantine to putaway.")
    return_shipment = fields.Many2One(
        'stock.shipment.in.return', "Supplier Return", readonly=True,
        help="The return of the rejected quantity to the supplier.")
    moves = fields.One2Many('stock.move', 'origin', "Moves", readonly=True,
        help="The stock moves the decision made.")

    del _lot_states

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.state.selection += [
            ('partial', "Partially Passed"),
            ('concession', "Concession"),
            ]
        cls._transitions |= {
            ('pending', 'partial'),
            ('pending', 'concession'),
            }
        cls._buttons.update({
                'partial': {
                    'invisible': ((Eval('state') != 'pending')
                        | ~Eval('lot_inspection')),
                    'icon': 'tryton-switch',
                    'depends': ['state', 'lot_inspection'],
                    },
                'concession': {
                    'invisible': ((Eval('state') != 'pending')
                        | ~Eval('lot_inspection')),
                    'icon': 'tryton-ok',
                    'depends': ['state', 'lot_inspection'],
                    },
                })
        for name in ['pass_', 'fail']:
            button = cls._buttons[name]
            button['invisible'] = If(Eval('lot_inspection', False),
                Eval('state') != 'pending', button['invisible'])
            button['depends'] = ['state', 'lot_inspection']
        cls._buttons['pending']['invisible'] |= Bool(Eval('decision'))
        cls._buttons['pending']['depends'] = ['state', 'decision']

    lot_inspection = fields.Function(fields.Boolean("Lot Inspection"),
        'get_lot_inspection')

    @classmethod
    def __post_setup__(cls):
        super().__post_setup__()
        cls.__rpc__['record_entries'] = RPC(
            instantiate=0, readonly=False, check_access=True)

    @classmethod
    def record_entries(cls, inspections, entries):
        """Record ``entries``, {check name: text typed or scanned}, on
        each inspection; nothing is written if one entry is refused"""
        for inspection in inspections:
            for name, value in entries.items():
                inspection.record(name, value)

    def get_lot_inspection(self, name):
        return bool(self.location)

    @classmethod
    def _get_origins(cls):
        return super()._get_origins() + ['stock.move']

    def get_instruction(self, name):
        if self.sample_size is None:
            return None
        if self.severity == 'skip':
            return gettext('inventory_qc.msg_instruction_skip')
        if self.severity == 'discontinued':
            return gettext('inventory_qc.msg_instruction_discontinued',
                sample=self.sample_size, accept=self.accept_number)
        return gettext('inventory_qc.msg_instruction',
            sample=self.sample_size, accept=self.accept_number)

    # --- Creation at receipt ----------------------------------------------

    @classmethod
    def quarantine(cls, shipments):
        """Put the flagged goods of received shipments into their
        warehouse's quarantine bin, one inspection per lot; return the
        inspections.

        Whoever receives (an operator) makes the inspections: the plan,
        not the receiver's rights, decides them."""
        with without_check_access():
            return cls._quarantine(shipments)

    @classmethod
    def _quarantine(cls, shipments):
        pool = Pool()
        Control = pool.get('quality.control')
        Move = pool.get('stock.move')
        Location = pool.get('stock.location')
        letters = plans = None
        to_do, inspections = [], []
        controls, severities = {}, {}
        for shipment in shipments:
            warehouse = shipment.warehouse
            bin_ = None
            company = shipment.company
            if company not in controls:
                controls[company] = Control.quarantine_plans(company)
            if not controls[company]:
                continue
            for move in shipment.inventory_moves:
                if move.state != 'draft':
                    continue
                control = Control.plan_for(move.product, shipment.supplier,
                    company, controls=controls[company])
                if not control:
                    continue
                # The lots of one receipt share the supplier's severity
                key = (control, shipment.supplier)
                if key not in severities:
                    severities[key] = control.severity_for(shipment.supplier)
                if bin_ is None:
                    bin_ = Location.quarantine_bin(warehouse)
                move.to_location = bin_
                to_do.append(move)
                if letters is None:
                    letters = pool.get('quality.sampling.letter').rows()
                    plans = pool.get('quality.sampling.plan').tables()
                inspections.append(cls._from_receipt(
                        control, shipment, move, letters, plans,
                        severities[key]))
        if to_do:
            Move.save(to_do)
            with Transaction().set_context(_qc_decision=True):
                Move.do(to_do)
            cls.save(inspections)
        return inspections

    @classmethod
    def _from_receipt(cls, control, shipment, move, letters, plans,
            severity=None):
        severity, skip = severity or control.severity_for(shipment.supplier)
        lot_size = max(1, int(round(move.internal_quantity)))
        aql = float(control.aql or '1.0')
        plan = sampling.sampling_plan(
            lot_size, control.inspection_level or 'II', aql,
            'tightened' if severity == 'discontinued' else severity,
            letters, plans)
        if severity == 'discontinued':
            # Acceptance sampling is discontinued (ISO 2859-1 9.4): every
            # unit is inspected until the corrective action is accepted
            plan = sampling.Plan(plan.letter, plan.severity, aql, lot_size,
                plan.accept, plan.reject, full=True)
        tighter = sampling.tighter_aql(
            aql, sorted({a for _, c in plans.values() for a in c}))
        tighter_cell = plans.get((plan.severity, plan.letter), (0, {}))[
            1].get(tighter) if tighter is not None else None
        inspection = cls.get_from_control(control, move)
        inspection.company = shipment.company
        inspection.reference = move.lot.number if move.lot else None
        inspection.product = move.product
        inspection.lot = move.lot
        inspection.quantity = move.quantity
        inspection.unit = move.unit
        inspection.location = move.to_location
        inspection.supplier = shipment.supplier
        if getattr(shipment, '__name__', None) == 'stock.shipment.in':
            inspection.shipment = shipment
        inspection.severity = 'skip' if skip else severity
        inspection.sample_letter = plan.letter
        inspection.sample_size = 0 if skip else plan.sample_size
        inspection.accept_number = plan.accept
        inspection.reject_number = plan.reject
        inspection.tighter_accept_number = (tighter_cell[0]
            if isinstance(tighter_cell, (tuple, list)) else None)
        inspection.points = {p.name: None for p in control.points}
        return inspection

    # --- Entering results -------------------------------------------------

    def record(self, name, value):
        """Record the entry for check ``name`` (text typed or scanned);
        refuse a value that does not fit the check."""
        if self.state != 'pending':
            raise AccessError(gettext('inventory_qc.msg_already_decided',
                    inspection=self.rec_name))
        point = self.point(name)
        try:
            result = parse_entry(point.type_, value,
                point.unit.symbol if point.unit else None)
        except EntryError as error:
            raise UserError(gettext(
                    'inventory_qc.msg_entry_%s' % error.code,
                    value=error.value, check=point.string,
                    unit=point.unit.symbol if point.unit else ''))
        points = dict(self.points or {})
        points[name] = result
        self.points = points
        self.save()
        return result

    def point(self, name):
        for point in self.control.points:
            if point.name == name or point.string == name:
                return point
        raise UserError(gettext('inventory_qc.msg_unknown_check',
                check=name, inspection=self.rec_name))

    # --- Decisions --------------------------------------------------------

    @classmethod
    def _check_decidable(cls, inspections, decision):
        Attachment = Pool().get('ir.attachment')
        for inspection in inspections:
            if not inspection.location:
                continue
            groups = (CONCESSION_GROUPS if decision == 'concession'
                else QC_GROUPS)
            if not in_groups(*groups):
                raise AccessError(gettext(
                        'inventory_qc.msg_decision_group_%s' % (
                            'lead' if decision == 'concession' else 'qc'),
                        inspection=inspection.rec_name))
            if inspection.state != 'pending' or inspection.decision:
                raise AccessError(gettext(
                        'inventory_qc.msg_already_decided',
                        inspection=inspection.rec_name))
            missing = []
            for point in inspection.control.points:
                value = (inspection.points or {}).get(point.name)
                if point.mandatory and (value is None or value == ''):
                    missing.append(point.string)
                    continue
                if value is None:
                    continue
                try:
                    parse_entry(point.type_, value)
                except EntryError as error:
                    raise UserError(gettext(
                            'inventory_qc.msg_entry_%s' % error.code,
                            value=value, check=point.string,
                            unit=point.unit.symbol if point.unit else ''))
            if (inspection.control.photo_required
                    and inspection.severity != 'skip'
                    and not Attachment.search([
                            ('resource', '=', str(inspection)),
                            ], limit=1)):
                raise UserError(gettext(
                        'inventory_qc.msg_photo_missing',
                        inspection=inspection.rec_name))
            if missing and inspection.severity != 'skip':
                raise UserError(gettext(
                        'inventory_qc.msg_checks_missing',
                        inspection=inspection.rec_name,
                        checks=', '.join(missing)))
            if (decision in {'pass', 'fail', 'partial'}
                    and inspection.severity != 'skip'
                    and inspection.defective is None):
                raise UserError(gettext(
                        'inventory_qc.msg_defective_missing',
                        inspection=inspection.rec_name))
            if decision == 'pass' and inspection.severity != 'skip' and (
                    (inspection.defective or 0)
                    > (inspection.accept_number or 0)):
                raise UserError(gettext(
                        'inventory_qc.msg_pass_over_acceptance',
                        inspection=inspection.rec_name,
                        defective=inspection.defective,
                        accept=inspection.accept_number))
            if decision == 'partial':
                quantity = inspection.defective_quantity or 0
                if not (0 < quantity < inspection.quantity):
                    raise UserError(gettext(
                            'inventory_qc.msg_partial_quantity',
                            inspection=inspection.rec_name,
                            value=quantity, quantity=inspection.quantity))
            if decision == 'concession' and not (
                    inspection.decision_comment or '').strip():
                raise UserError(gettext(
                        'inventory_qc.msg_concession_comment',
                        inspection=inspection.rec_name))

    @classmethod
    def _decide(cls, inspections, decision):
        lots = [i for i in inspections if i.location]
        if not lots:
            return
        cls.write(lots, {
                'decision': decision,
                'decided_by': Transaction().user or None,
                'decided_at': dt.datetime.now(),
                })
        releases, rejects = [], []
        for inspection in lots:
            quantity = inspection.quantity
            if decision == 'fail':
                rejects.append((inspection, quantity))
            elif decision == 'partial':
                rejected = inspection.unit.round(
                    inspection.defective_quantity)
                rejects.append((inspection, rejected))
                releases.append((inspection, inspection.unit.round(
                            quantity - rejected)))
            else:
                releases.append((inspection, quantity))
        with Transaction().set_context(_qc_decision=True), \
                without_check_access():
            cls._release(releases)
            cls._reject(rejects)

    @classmethod
    @ModelView.button
    def process(cls, inspections):
        """For a lot inspection: decide by the sample, pass when the
        defective units are within the acceptance number, else fail."""
        lots = [i for i in inspections if i.location]
        others = [i for i in inspections if not i.location]
        if others:
            super().process(others)
        to_pass = [i for i in lots if (i.defective or 0)
            <= (i.accept_number or 0)]
        to_fail = [i for i in lots if i not in to_pass]
        cls._check_decidable(to_pass, 'pass')
        cls._check_decidable(to_fail, 'fail')
        if to_pass:
            cls.pass_(to_pass)
        if to_fail:
            cls.fail(to_fail)

    @classmethod
    def pass_(cls, inspections):
        cls._check_decidable(inspections, 'pass')
        super().pass_(inspections)
        cls._decide(inspections, 'pass')

    @classmethod
    def fail(cls, inspections):
        cls._check_decidable(inspections, 'fail')
        super().fail(inspections)
        cls._decide(inspections, 'fail')

    @classmethod
    def pending(cls, inspections):
        for inspection in inspections:
            if inspection.decision:
                raise AccessError(gettext(
                        'inventory_qc.msg_already_decided',
                        inspection=inspection.rec_name))
        super().pending(inspections)

    @classmethod
    @ModelView.button
    @Workflow.transition('partial')
    def partial(cls, inspections):
        cls._check_decidable(inspections, 'partial')
        cls._decide(inspections, 'partial')

    @classmethod
    @ModelView.button
    @Workflow.transition('concession')
    def concession(cls, inspections):
        cls._check_decidable(inspections, 'concession')
        cls._decide(inspections, 'concession')

    @classmethod
    def _release(cls, releases):
        """Internal shipments out of quarantine to the recommended bins,
        waiting for the operator"""
        pool = Pool()
        Shipment = pool.get('stock.shipment.internal')
        Move = pool.get('stock.move')
        from trytond.modules.inventory_flow import putaway as algorithm
        from trytond.modules.inventory_flow.receiving import (
            bin_candidates, putaway_item)
        Strategy = pool.get('stock.putaway.strategy')
        Uom = pool.get('product.uom')
        shipments = []
        for inspection, quantity in releases:
            if quantity <= 0:
                continue
            warehouse = inspection.location.warehouse
            move = Move(product=inspection.product, lot=inspection.lot,
                unit=inspection.unit, quantity=quantity)
            internal = Uom.compute_qty(inspection.unit, quantity,
                inspection.product.default_uom, round=False)
            candidates = bin_candidates(
                warehouse, product_id=inspection.product.id)
            ranked = algorithm.recommend(
                putaway_item(move, warehouse, internal),
                candidates,
                Strategy.strategies_for(inspection.product, warehouse),
                limit=1)
            target = (pool.get('stock.location')(ranked[0].bin) if ranked
                else warehouse.storage_location)
            move.from_location = inspection.location
            move.to_location = target
            move.recommended_location = target
            move.company = inspection.company
            move.origin = inspection
            shipment = Shipment(
                company=inspection.company,
                from_location=inspection.location,
                to_location=target,
                reference=inspection.rec_name,
                moves=[move])
            shipments.append((inspection, shipment))
        if not shipments:
            return
        Shipment.save([s for _, s in shipments])
        cls.write(*[x for inspection, shipment in shipments
                for x in ([inspection], {'release_shipment': shipment.id})])
        Shipment.wait([s for _, s in shipments])
        Shipment.assign_try([s for _, s in shipments])

    @classmethod
    def _reject(cls, rejects):
        """Rejected quantities into the rejection bin, a draft supplier
        return for them and the buyers notified"""
        pool = Pool()
        Move = pool.get('stock.move')
        Location = pool.get('stock.location')
        Return = pool.get('stock.shipment.in.return')
        moves, returns = [], []
        for inspection, quantity in rejects:
            if quantity <= 0:
                continue
            warehouse = inspection.location.warehouse
            rejection = Location.rejection_bin(warehouse)
            if rejection != inspection.location:
                moves.append(Move(
                        product=inspection.product, lot=inspection.lot,
                        unit=inspection.unit, quantity=quantity,
                        from_location=inspection.location,
                        to_location=rejection,
                        company=inspection.company, origin=inspection))
            supplier = inspection.supplier
            supplier_location = (
                (supplier.supplier_location if supplier else None)
                or (inspection.shipment.supplier_location
                    if inspection.shipment else None))
            cost = inspection.product.cost_price or 0
            returns.append((inspection, Return(
                        company=inspection.company,
                        supplier=supplier,
                        from_location=rejection,
                        to_location=supplier_location,
                        reference=inspection.rec_name,
                        moves=[Move(
                                product=inspection.product,
                                lot=inspection.lot, unit=inspection.unit,
                                quantity=quantity,
                                from_location=rejection,
                                to_location=supplier_location,
                                company=inspection.company,
                                unit_price=cost,
                                currency=inspection.company.currency,
                                origin=inspection)])))
        if moves:
            Move.save(moves)
            Move.do(moves)
        if returns:
            Return.save([r for _, r in returns])
            cls.write(*[x for inspection, return_ in returns
                    for x in ([inspection],
                        {'return_shipment': return_.id})])
            cls._notify_buyers([i for i, _ in returns])

    def buyers(self):
        "Return the users to tell about a rejected lot: who bought it"
        pool = Pool()
        ModelData = pool.get('ir.model.data')
        UserGroup = pool.get('res.user-res.group')
        users = set()
        if self.shipment:
            for move in self.shipment.incoming_moves:
                line = move.origin
                if getattr(line, '__name__', None) == 'purchase.line':
                    if line.purchase.create_uid:
                        users.add(line.purchase.create_uid.id)
        if not users:
            group = ModelData.get_id('inventory_flow', 'group_buyer')
            users = {ug.user.id for ug in UserGroup.search([
                        ('group', '=', group)])}
        return sorted(u for u in users if u)

    @classmethod
    def _notify_buyers(cls, inspections):
        Notification = Pool().get('res.notification')
        values = []
        for inspection in inspections:
            label = gettext('inventory_qc.msg_notify_rejected',
                inspection=inspection.rec_name,
                product=inspection.product.rec_name,
                lot=inspection.lot.rec_name if inspection.lot else '',
                supplier=(inspection.supplier.rec_name
                    if inspection.supplier else ''))
            for user in inspection.buyers():
                values.append({
                        'user': user,
                        'label': label,
                        'description': inspection.decision or '',
                        'model': 'stock.shipment.in.return',
                        'records': json.dumps(
                            [inspection.return_shipment.id]),
                        })
        if values:
            with without_check_access():
                Notification.create(values)

    @classmethod
    def copy(cls, inspections, default=None):
        default = default.copy() if default is not None else {}
        for name in ['decision', 'decided_by', 'decided_at',
                'release_shipment', 'return_shipment', 'moves']:
            default.setdefault(name)
        return super().copy(inspections, default=default)


class Location(metaclass=PoolMeta):
    __name__ = 'stock.location'

    quarantine_location = fields.Many2One(
        'stock.location', "Quarantine Bin", ondelete='SET NULL',
        domain=[('zone', '=', 'quarantine')],
        states={'invisible': Eval('type') != 'warehouse'},
        help="Where received goods waiting for inspection go; empty for "
        "the first quarantine bin of the warehouse.")
    rejection_location = fields.Many2One(
        'stock.location', "Rejection Bin", ondelete='SET NULL',
        domain=[('zone', '=', 'quarantine')],
        states={'invisible': Eval('type') != 'warehouse'},
        help="Where rejected goods wait for their return to the supplier; "
        "empty for the quarantine bin.")

    @classmethod
    def quarantine_bin(cls, warehouse):
        "Return the warehouse's quarantine bin"
        if warehouse.quarantine_location:
            return warehouse.quarantine_location
        storage = warehouse.storage_location
        bins = cls.search([
                ('parent', 'child_of', [storage.id]),
                ('zone', '=', 'quarantine'),
                ('blocked', '=', False),
                ], order=[('code', 'ASC'), ('id', 'ASC')], limit=1)
        if not bins:
            raise UserError(gettext('inventory_qc.msg_no_quarantine_bin',
                    warehouse=warehouse.rec_name))
        return bins[0]

    @classmethod
    def rejection_bin(cls, warehouse):
        "Return the warehouse's rejection bin"
        return warehouse.rejection_location or cls.quarantine_bin(warehouse)


class Move(metaclass=PoolMeta):
    __name__ = 'stock.move'

    @classmethod
    def _get_origin(cls):
        return super()._get_origin() + ['quality.inspection']

    @classmethod
    def check_quarantine_release(cls, moves):
        """Refuse moves taking stock out of a quarantine bin unless a
        quality decision made them (or it is an inventory correction)"""
        if Transaction().context.get('_qc_decision'):
            return
        for move in moves:
            if (move.from_location.zone == 'quarantine'
                    and move.to_location.zone != 'quarantine'
                    and move.to_location.type != 'lost_found'
                    and getattr(move.origin, '__name__', None)
                    != 'quality.inspection'):
                raise AccessError(gettext(
                        'inventory_qc.msg_quarantine_release',
                        bin=(move.from_location.code
                            or move.from_location.rec_name),
                        product=move.product.rec_name))

    @classmethod
    def assign(cls, moves):
        cls.check_quarantine_release(moves)
        super().assign(moves)

    @classmethod
    def do(cls, moves):
        cls.check_quarantine_release(moves)
        super().do(moves)


class Lot(metaclass=PoolMeta):
    __name__ = 'stock.lot'

    inspections = fields.One2Many(
        'quality.inspection', 'lot', "Inspections", readonly=True,
        help="The quality inspections of the lot with their measurements "
        "and decisions.")


class ShipmentIn(metaclass=PoolMeta):
    __name__ = 'stock.shipment.in'

    @classmethod
    def receive(cls, shipments):
        pool = Pool()
        Inspection = pool.get('quality.inspection')
        super().receive(shipments)
        Inspection.quarantine(shipments)
        to_do = [s for s in cls.browse(shipments)
            if s.state == 'received' and s.inventory_moves and all(
                m.state in {'done', 'cancelled'} for m in s.inventory_moves)]
        if to_do:
            cls.do(to_do)


class SupplierQuality(ModelSQL, ModelView):
    "Supplier Quality"
    __name__ = 'quality.supplier.report'

    supplier = fields.Many2One('party.party', "Supplier",
        context={'company': Eval('context', {}).get('company')},
        help="The supplier.")
    product = fields.Many2One('product.product', "Product",
        context={'company': Eval('context', {}).get('company')},
        help="The product.")
    inspections = fields.Integer("Inspections",
        help="The lots decided in the period.")
    accepted = fields.Integer("Accepted",
        help="The lots passed or released by concession.")
    rejected = fields.Integer("Rejected",
        help="The lots failed or partially rejected.")
    acceptance_rate = fields.Float("Acceptance Rate", digits=(1, 4),
        help="The accepted lots over the decided lots.")
    defective = fields.Integer("Defective Units",
        help="The defective units found in the samples.")
    sampled = fields.Integer("Sampled Units",
        help="The units inspected.")
    rejected_quantity = fields.Float("Rejected Quantity", digits=(16, 2),
        help="The quantity rejected (failed lots and partial rejections).")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('supplier', 'ASC'), ('product', 'ASC'), ('id', 'ASC')]

    @classmethod
    def table_query(cls):
        pool = Pool()
        Inspection = pool.get('quality.inspection')
        inspection = Inspection.__table__()
        context = Transaction().context
        where = (inspection.decision != Null) & (inspection.location != Null)
        if context.get('from_date'):
            where &= inspection.decided_at >= dt.datetime.combine(
                context['from_date'], dt.time.min)
        if context.get('to_date'):
            where &= inspection.decided_at <= dt.datetime.combine(
                context['to_date'], dt.time.max)
        if context.get('company'):
            where &= inspection.company == context['company']
        accepted = Sum(Case(
                (inspection.decision.in_(['pass', 'concession']), 1),
                else_=0))
        decided = Count(inspection.id)
        rejected_quantity = Sum(Case(
                (inspection.decision == 'fail', inspection.quantity),
                (inspection.decision == 'partial',
                    inspection.defective_quantity),
                else_=0))
        return inspection.select(
            Min(inspection.id).as_('id'),
            inspection.supplier.as_('supplier'),
            inspection.product.as_('product'),
            decided.as_('inspections'),
            accepted.as_('accepted'),
            (decided - accepted).as_('rejected'),
            (accepted * 1.0 / decided).as_('acceptance_rate'),
            Sum(Coalesce(inspection.defective, 0)).as_('defective'),
            Sum(Coalesce(inspection.sample_size, 0)).as_('sampled'),
            rejected_quantity.as_('rejected_quantity'),
            where=where,
            group_by=[inspection.supplier, inspection.product])


class SupplierQualityContext(ModelView):
    "Supplier Quality Context"
    __name__ = 'quality.supplier.report.context'

    from_date = fields.Date("From Date",
        help="The first day of the period; empty from the beginning.")
    to_date = fields.Date("To Date",
        help="The last day of the period; empty until today.")
    company = fields.Many2One('company.company', "Company", required=True,
        help="The company of the inspections.")

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')

    @classmethod
    def default_from_date(cls):
        Date = Pool().get('ir.date')
        return Date.today() - dt.timedelta(days=90)
