"""The scheduled actions of inventory_flow, registered once (ir.cron)."""
from trytond.pool import PoolMeta

#: method (model|classmethod) and label of each scheduled action; the
#: records themselves are in the XML files of their features
CRON_METHODS = [
    ('inventory.api.idempotency|purge', "Purge API Idempotency Keys"),
    ('inventory.api.order|process_waiting', "Process Waiting API Orders"),
    ('purchase.purchase|approval_remind_escalate',
        "Remind and Escalate Purchase Approvals"),
    ('scanner.confirmation|purge', "Purge Old Scanner Confirmations"),
    ('product.product|compute_abc_classes', "Compute ABC Classes"),
    ('stock.pick_face|replenish_all', "Propose Pick-Face Replenishments"),
    ]


class Cron(metaclass=PoolMeta):
    __name__ = 'ir.cron'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.method.selection.extend(CRON_METHODS)
