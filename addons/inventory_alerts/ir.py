"""The scheduled action of inventory_alerts (ir.cron)."""
from trytond.pool import PoolMeta


class Cron(metaclass=PoolMeta):
    __name__ = 'ir.cron'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.method.selection.append(
            ('stock.alert.rule|evaluate_cron', "Evaluate Stock Alerts"))
