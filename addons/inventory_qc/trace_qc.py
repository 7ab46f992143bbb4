"""The lot trace PDF shows the lot's quality inspections (D3, A4).

``inventory_flow``'s ``stock.lot.trace_report`` gathers the lot's story as
sections of rows; this extension appends one section: per inspection of
the lot the plan, the severity and sample (code letter, n, Ac/Re), the
defective units found, the checks entered, the decision with who and when,
and the comment (the deviation accepted by a concession).
"""
from trytond.i18n import gettext
from trytond.pool import Pool, PoolMeta


class LotTraceReport(metaclass=PoolMeta):
    __name__ = 'stock.lot.trace_report'

    @classmethod
    def lot_data(cls, lot):
        data = super().lot_data(lot)
        data['sections'].append(cls.inspection_section(lot))
        return data

    @classmethod
    def inspection_section(cls, lot):
        "The section of the lot's inspections, oldest first"
        Inspection = Pool().get('quality.inspection')
        fields = Inspection.fields_get([
                'control', 'severity', 'sample_size', 'defective',
                'defective_quantity', 'points', 'decision', 'decided_by',
                'decided_at', 'decision_comment'])
        severities = dict(fields['severity']['selection'])
        decisions = dict(fields['decision']['selection'])
        inspections = Inspection.search([('lot', '=', lot.id)],
            order=[('id', 'ASC')])
        rows = []
        for inspection in inspections:
            sample = ''
            if inspection.sample_size is not None:
                sample = (f'{inspection.sample_letter or ""} '
                    f'n={inspection.sample_size} '
                    f'Ac={inspection.accept_number} '
                    f'Re={inspection.reject_number}').strip()
            decision = decisions.get(inspection.decision) or ''
            if (inspection.decision == 'partial'
                    and inspection.defective_quantity is not None):
                decision += (f' ({inspection.defective_quantity:g} '
                    f'{inspection.unit.symbol if inspection.unit else ""})'
                    ).replace(' )', ')')
            checks = '; '.join(
                f'{p.string}: {_value((inspection.points or {}).get(p.name))}'
                for p in inspection.control.points
                if (inspection.points or {}).get(p.name) is not None)
            rows.append([
                    inspection.rec_name,
                    inspection.control.rec_name,
                    severities.get(inspection.severity) or '',
                    sample,
                    '' if inspection.defective is None
                    else str(inspection.defective),
                    checks,
                    decision,
                    inspection.decided_by.rec_name
                    if inspection.decided_by else '',
                    inspection.decided_at.strftime('%Y-%m-%d %H:%M')
                    if inspection.decided_at else '',
                    inspection.decision_comment or '',
                    ])
        return {
            'title': gettext('inventory_qc.msg_trace_inspections'),
            'columns': [
                Inspection.__names__()['model'],
                fields['control']['string'],
                fields['severity']['string'],
                fields['sample_size']['string'],
                fields['defective']['string'],
                fields['points']['string'],
                fields['decision']['string'],
                fields['decided_by']['string'],
                fields['decided_at']['string'],
                fields['decision_comment']['string'],
                ],
            'rows': rows,
            'empty': gettext('inventory_qc.msg_trace_no_inspection'),
            }


def _value(value):
    "An entered value as printed (the PDF font has no check marks)"
    if value is True:
        return gettext('inventory_qc.msg_trace_yes')
    if value is False:
        return gettext('inventory_qc.msg_trace_no')
    if isinstance(value, float):
        return f'{value:g}'
    return str(value)
