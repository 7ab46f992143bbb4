"""The scanner's Inspect step (requirement A4, D4).

Scan the lot (its number, or a GS1 label with the lot) or the quarantine
bin; the step shows the sampling instruction and asks each check of the
plan in turn, then the defective units found in the sample, then offers
pass, fail, partial (the quantity to reject is typed: it goes to the
rejection bin and a supplier return, the rest to putaway) or — for a QC
lead or warehouse manager — concession (released with the deviation typed
as the comment).  Every entry is validated by
``quality.inspection.record`` (a measurement must be a number in the
check's unit) and the decision by the inspection's own transitions (group,
mandatory checks, quantity, comment, not twice), so the server refuses
what the client did not offer.

State: ``inspection`` id, the ``ask``-ed check name (or ``__defective__``,
``__decide__``, ``__partial__`` for the quantity to reject,
``__concession__`` for the comment).
"""
from http import HTTPStatus

from trytond.i18n import gettext
from trytond.modules.inventory_flow.scanner import (
    ScanFailure, Step, read_scan, register_step)
from trytond.modules.inventory_flow.gs1 import ScanError
from trytond.pool import Pool

from trytond.model.exceptions import AccessError

from .inspection import CONCESSION_GROUPS, in_groups
from .measurement import EntryError, parse_entry

DEFECTIVE = '__defective__'
DECIDE = '__decide__'
PARTIAL = '__partial__'
CONCESSION = '__concession__'
DECISIONS = {'__pass__', '__fail__', PARTIAL, CONCESSION}


@register_step
class InspectStep(Step):
    "Inspect a quarantined lot by scan"
    name = 'inspect'
    title = 'inventory_qc.msg_step_inspect'
    sequence = 25
    groups = ('group_qc_inspector', 'group_manager')

    def start(self):
        return self.screen(
            {}, gettext('inventory_qc.msg_prompt_inspect_lot'))

    def scan(self, state, value):
        Inspection = Pool().get('quality.inspection')
        if value == '__cancel__':
            return self.start(), False
        inspection_id = state.get('inspection')
        if not inspection_id:
            return self._ask(self._find(value)), False
        inspection = Inspection(int(inspection_id))
        ask = state.get('ask')
        if ask == DECIDE:
            if value not in DECISIONS:
                raise ScanFailure('decide', gettext(
                        'inventory_qc.msg_prompt_inspect_decide'))
            if value == PARTIAL:
                return self._ask_more(inspection, PARTIAL, gettext(
                        'inventory_qc.msg_prompt_inspect_partial',
                        quantity=_quantity(inspection)),
                    input='quantity'), False
            if value == CONCESSION:
                self._check_concession(inspection)
                return self._ask_more(inspection, CONCESSION, gettext(
                        'inventory_qc.msg_prompt_inspect_concession'),
                    input='text'), False
            if value == '__pass__':
                Inspection.pass_([inspection])
                decision = gettext('inventory_qc.msg_decision_pass')
            else:
                Inspection.fail([inspection])
                decision = gettext('inventory_qc.msg_decision_fail')
            return self._decided(inspection, decision), True
        if ask == PARTIAL:
            if value == '__back__':
                return self._ask(inspection), False
            try:
                quantity = parse_entry('float', value,
                    inspection.unit.symbol if inspection.unit else None)
            except EntryError as error:
                raise ScanFailure('entry_%s' % error.code, gettext(
                        'inventory_qc.msg_entry_%s' % error.code,
                        value=value, check=gettext(
                            'inventory_qc.msg_prompt_inspect_partial',
                            quantity=_quantity(inspection)),
                        unit=inspection.unit.symbol
                        if inspection.unit else ''))
            # The inspection's transition refuses 0, the whole lot or more
            inspection.defective_quantity = quantity
            inspection.save()
            Inspection.partial([inspection])
            return self._decided(inspection, gettext(
                    'inventory_qc.msg_decision_partial',
                    rejected=_quantity(inspection, quantity),
                    released=_quantity(
                        inspection, inspection.quantity - quantity))), True
        if ask == CONCESSION:
            if value == '__back__':
                return self._ask(inspection), False
            self._check_concession(inspection)
            # An empty comment is refused by the transition
            inspection.decision_comment = (value or '').strip()
            inspection.save()
            Inspection.concession([inspection])
            return self._decided(inspection, gettext(
                    'inventory_qc.msg_decision_concession')), True
        if ask == DEFECTIVE:
            try:
                defective = parse_entry('integer', value)
            except EntryError as error:
                raise ScanFailure('entry_%s' % error.code, gettext(
                        'inventory_qc.msg_entry_%s' % error.code,
                        value=value, check=gettext(
                            'inventory_qc.msg_prompt_inspect_defective',
                            sample=inspection.sample_size), unit=''))
            if defective < 0:
                raise ScanFailure('entry_number', gettext(
                        'inventory_qc.msg_entry_number', value=value,
                        check='', unit=''))
            inspection.defective = defective
            inspection.save()
            return self._ask(inspection, gettext(
                    'inventory_qc.msg_inspect_recorded',
                    check=inspection.fields_get(['defective'])[
                        'defective']['string'],
                    value=defective)), True
        point = inspection.point(ask)
        recorded = inspection.record(ask, value)
        return self._ask(inspection, gettext(
                'inventory_qc.msg_inspect_recorded', check=point.string,
                value=recorded)), True

    @staticmethod
    def _check_concession(inspection):
        "Refuse a concession to who is neither QC lead nor manager"
        if not in_groups(*CONCESSION_GROUPS):
            raise AccessError(gettext(
                    'inventory_qc.msg_decision_group_lead',
                    inspection=inspection.rec_name))

    def _decided(self, inspection, decision):
        screen = self.start()
        screen['message'] = gettext('inventory_qc.msg_inspect_decided',
            inspection=inspection.rec_name, decision=decision)
        screen['level'] = 'success'
        return screen

    def _ask_more(self, inspection, ask, prompt, input='scan'):
        "The screen asking the quantity of a partial or a concession's comment"
        screen = self._ask(inspection)
        screen['state'] = {'inspection': inspection.id, 'ask': ask}
        screen['prompt'] = prompt
        screen['input'] = input
        screen['actions'] = [{'value': '__back__',
                'label': gettext('inventory_qc.msg_action_back')}]
        return screen

    def _find(self, value):
        "Return the first pending lot inspection of the scanned lot or bin"
        pool = Pool()
        Inspection = pool.get('quality.inspection')
        Location = pool.get('stock.location')
        try:
            scan = read_scan(value)
        except (ScanFailure, ScanError):
            scan = None
        text = (value or '').strip()
        domain = [('state', '=', 'pending'), ('location', '!=', None)]
        if scan and scan.kind != 'text' and (scan.lot or scan.serial):
            domain.append(('lot.number', '=', scan.lot or scan.serial))
        else:
            bins = Location.search(['OR',
                    ('barcode', '=', text), ('code', '=', text)],
                limit=1)
            if bins and bins[0].zone == 'quarantine':
                domain.append(('location', '=', bins[0].id))
            else:
                domain.append(('lot.number', '=', text))
        inspections = Inspection.search(
            domain, order=[('id', 'ASC')], limit=1)
        if not inspections:
            raise ScanFailure('nothing', gettext(
                    'inventory_qc.msg_scan_nothing_to_inspect', value=text),
                HTTPStatus.NOT_FOUND)
        return inspections[0]

    def _ask(self, inspection, message=None):
        "The screen asking the next missing entry of inspection"
        points = inspection.points or {}
        lines = []
        for point in inspection.control.points:
            value = points.get(point.name)
            lines.append({
                    'product': point.string,
                    'status': 'done' if value is not None else 'pending',
                    'status_label': _label(point, value),
                    })
        state = {'inspection': inspection.id}
        actions = [{'value': '__cancel__',
                'label': gettext('inventory_flow.msg_action_cancel')}]
        # Optional checks are filled in the web client when needed
        missing = [p for p in inspection.control.points
            if p.mandatory and points.get(p.name) is None]
        if missing:
            point = missing[0]
            state['ask'] = point.name
            prompt = gettext('inventory_qc.msg_prompt_inspect_check',
                check=point.string + (
                    f' ({point.unit.symbol})' if point.unit else ''))
        elif inspection.defective is None:
            state['ask'] = DEFECTIVE
            prompt = gettext('inventory_qc.msg_prompt_inspect_defective',
                sample=inspection.sample_size)
        else:
            state['ask'] = DECIDE
            prompt = gettext('inventory_qc.msg_prompt_inspect_decide')
            decisions = [
                {'value': '__pass__',
                    'label': gettext('inventory_qc.msg_action_pass')},
                {'value': '__fail__',
                    'label': gettext('inventory_qc.msg_action_fail')},
                {'value': PARTIAL,
                    'label': gettext('inventory_qc.msg_action_partial')},
                ]
            # Offered to whom may grant it; the server refuses the others
            if in_groups(*CONCESSION_GROUPS):
                decisions.append({'value': CONCESSION, 'label': gettext(
                            'inventory_qc.msg_action_concession')})
            actions = decisions + actions
        screen = self.screen(state, prompt, message or inspection.instruction,
            'success' if message else 'info', lines=lines, actions=actions)
        screen['header'] = ' · '.join(filter(None, [
                    inspection.product.rec_name,
                    inspection.lot.rec_name if inspection.lot else None,
                    inspection.instruction]))
        return screen


def _label(point, value):
    "How an entered value is shown: ✓/✗, a measurement with its unit"
    if value is None:
        return ''
    if point.type_ == 'boolean':
        return '✓' if value else '✗'
    if isinstance(value, (int, float)):
        text = f'{value:g}'
        return f'{text} {point.unit.symbol}' if point.unit else text
    return str(value)


def _quantity(inspection, quantity=None):
    "A quantity of the lot with its unit, as the inspector reads it"
    if quantity is None:
        quantity = inspection.quantity
    text = f'{quantity:g}'
    return f'{text} {inspection.unit.symbol}' if inspection.unit else text
