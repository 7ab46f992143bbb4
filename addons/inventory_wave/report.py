"""The pick list report action of a batch (C3): gathers the batch in
route order and renders it with :mod:`picklist`."""
from trytond.i18n import gettext
from trytond.pool import Pool
from trytond.report import Report

from . import picklist
from .pick import bin_label, format_quantity


def report_action(report_name, data):
    "The ir.action.report executed: data's action_id, else by its name"
    ActionReport = Pool().get('ir.action.report')
    action_id = data.get('action_id') if data else None
    if action_id is None:
        action_report, = ActionReport.search([
                ('report_name', '=', report_name)], limit=1)
        return action_report
    return ActionReport(action_id)


class PickList(Report):
    __name__ = 'stock.wave.batch.pick_list'

    @classmethod
    def execute(cls, ids, data):
        pool = Pool()
        Batch = pool.get('stock.wave.batch')
        ids = list(map(int, ids))
        action_report = report_action(cls.__name__, data)
        cls.check_access(action_report, 'stock.wave.batch', ids)
        batches = Batch.browse(ids)
        # One PDF per batch is what pickers take; several batches are
        # printed one after the other in one file
        content = picklist.render([cls.batch_data(b) for b in batches])
        name = batches[0].code if len(batches) == 1 else 'pick-lists'
        return 'pdf', content, False, name

    @classmethod
    def batch_data(cls, batch):
        Batch = Pool().get('stock.wave.batch')
        Line = Pool().get('stock.wave.batch.line')
        labels = {
            key: Line.fields_get([field])[field]['string']
            for key, field in [('stop', 'sequence'), ('bin', 'location'),
                ('product', 'product'), ('lot', 'lot'),
                ('quantity', 'quantity'), ('totes', 'tote')]}
        labels['distance'] = Batch.fields_get(
            ['distance'])['distance']['string']
        stops = []
        lines = sorted(
            [l for l in batch.lines if l.state != 'cancelled'],
            key=lambda l: (l.sequence, l.tote or 0, l.id))
        for line in lines:
            key = (line.sequence, line.location.id, line.product.id,
                line.lot.id if line.lot else None)
            if not stops or stops[-1]['key'] != key:
                stops.append({
                        'key': key, 'sequence': line.sequence,
                        'bin': bin_label(line.location),
                        'product': line.product.rec_name,
                        'gtin': getattr(line.product, 'gtin', None),
                        'lot': line.lot.number if line.lot else None,
                        'total': 0, 'unit': line.unit, 'totes': []})
            stop = stops[-1]
            stop['total'] += line.quantity
            stop['totes'].append(gettext(
                    'inventory_wave.msg_tote_quantity', tote=line.tote,
                    quantity=format_quantity(line.quantity, line.unit)))
        for stop in stops:
            stop['quantity'] = format_quantity(stop['total'], stop['unit'])
            stop['totes'] = '\n'.join(stop['totes'])
        return {
                'title': gettext('inventory_wave.msg_pick_list_title'),
                'batch': batch.code,
                'wave': batch.rec_name,
                'picker': batch.picker.rec_name if batch.picker else None,
                'cart': batch.cart,
                'distance': round(batch.distance or 0, 1),
                's_shape_distance': round(batch.s_shape_distance or 0, 1),
                'labels': labels,
                'stops': stops,
                }
