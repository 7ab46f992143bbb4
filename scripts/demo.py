#!/usr/bin/env python3
"""Load the demo data of the inventory suite into an existing database.

The modules must be activated first (``trytond-admin ... --all -u
inventory_flow ... --activate-dependencies``).

    .venv/bin/python scripts/demo.py -c config/trytond.conf \\
        -c var/local.conf -d DB [--scale N] [--if-empty] [--quiet] [--verbose]

Scale 1 (the default) is the curated demo of ``make serve``; ``--scale N``
adds N × 1 000 products, N × 200 bins and N × 10 000 done stock moves for
benchmarks.  The work is one transaction: on failure nothing is written.
The data itself is made by ``trytond.modules.inventory_flow.demo``.
"""
import argparse
import sys
import time
import traceback


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog='demo', description=__doc__.splitlines()[0])
    parser.add_argument('-c', '--config', dest='configfile', action='append',
        default=[], metavar='FILE',
        help="a trytond configuration file (repeatable, later ones win)")
    parser.add_argument('-d', '--database', dest='database', required=True,
        help="the database to fill")
    parser.add_argument('--scale', type=positive_int, default=1,
        help="1: the curated demo; N: add N × 1000 products, N × 200 bins "
        "and N × 10 000 done moves (default: %(default)s)")
    parser.add_argument('--if-empty', action='store_true',
        help="exit 0 instead of 1 when the demo data is already there")
    parser.add_argument('-q', '--quiet', action='store_true',
        help="print only errors")
    parser.add_argument('-v', '--verbose', action='store_true',
        help="print the traceback of an error")
    return parser.parse_args(argv)


def positive_int(value):
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(
            f"must be a positive integer, not {value!r}")
    return number


class ProgressBar:
    "A one-line text progress bar on stderr, redrawn at most 10 times/s"

    def __init__(self, stream=sys.stderr, width=30):
        self.stream = stream
        self.width = width
        self.label = None
        self.last = 0
        self.tty = stream.isatty()

    def __call__(self, label, done, total):
        now = time.monotonic()
        finished = total and done >= total
        if label != self.label:
            if self.label is not None:
                self.stream.write('\n' if self.tty else '')
            self.label = label
        elif not finished and now - self.last < (0.1 if self.tty else 5):
            return
        self.last = now
        ratio = min(1, done / total) if total else 1
        filled = int(ratio * self.width)
        bar = '#' * filled + '.' * (self.width - filled)
        line = f"demo: {label:<9} [{bar}] {ratio:4.0%} {done}/{total}"
        if self.tty:
            self.stream.write('\r' + line)
        else:
            self.stream.write(line + '\n')
        self.stream.flush()

    def close(self):
        if self.label is not None and self.tty:
            self.stream.write('\n')
            self.stream.flush()


def run(args):
    from trytond import config
    config.update_etc(args.configfile)
    # Imported after the configuration: the pool reads it on import
    from trytond.pool import Pool
    from trytond.transaction import Transaction, TransactionError
    from trytond.worker import run_task

    database = args.database
    pool = Pool(database)
    with Transaction().start(database, 0, readonly=True):
        pool.init()
    if 'stock.bin.quantity' not in dict(pool.iterobject()):
        raise RuntimeError(f"the module inventory_flow is not activated in "
            f"database {database}; run trytond-admin -d {database} --all "
            "-u inventory_flow --activate-dependencies first")
    from trytond.modules.inventory_flow import demo

    bar = None if args.quiet else ProgressBar()
    # The stock reservation of the demo sales locks the move table, the
    # purchase configuration's first record its table; taking them from the
    # start saves a retry (TransactionError below)
    extras = {'_lock_tables': ['stock_move', 'purchase_configuration']}
    try:
        while True:
            with Transaction().start(database, 0, **extras) as transaction:
                if demo.demo_exists():
                    return None
                try:
                    summary = demo.generate(scale=args.scale, progress=bar)
                except TransactionError as error:
                    # e.g. a table lock needed by the stock reservation:
                    # start again with it taken from the start
                    transaction.rollback()
                    error.fix(extras)
                    continue
                transaction.commit()
                break
    finally:
        if bar:
            bar.close()
    # Run what the documents queued (as trytond's console does); the data
    # is committed already, a worker would run them too
    try:
        while transaction.tasks:
            run_task(pool, transaction.tasks.pop())
    except Exception as exception:
        print(f"demo: warning: a queued task failed: {exception}",
            file=sys.stderr)
    return summary


def main(argv=None):
    args = parse_args(argv)
    say = (lambda *a: None) if args.quiet else (
        lambda *a: print(*a, flush=True))
    start = time.monotonic()
    try:
        summary = run(args)
    except KeyboardInterrupt:
        print("demo: error: interrupted; nothing was written", file=sys.stderr)
        return 130
    except Exception as exception:
        if args.verbose:
            traceback.print_exc()
        message = ' '.join(str(exception).split()).rstrip(' -') or type(
            exception).__name__
        print(f"demo: error: {message} ({type(exception).__name__}); "
            "nothing was written"
            + ("" if args.verbose else " (--verbose shows the traceback)"),
            file=sys.stderr)
        return 1
    if summary is None:
        if args.if_empty:
            say(f"demo: database {args.database} already has the demo data; "
                "nothing to do")
            return 0
        print(f"demo: error: database {args.database} already has the demo "
            "data (product DEMO-0001 exists); use a new database",
            file=sys.stderr)
        return 1
    duration = time.monotonic() - start
    say(f"demo: database {args.database} filled in {duration:.1f}s "
        f"(scale {args.scale}):")
    for key, value in summary.items():
        if key != 'seconds':
            say(f"  {key:<12} {value:>9}")
    say("  demo users (password = login): "
        + ', '.join(login for login, _, _ in _users()))
    return 0


def _users():
    from trytond.modules.inventory_flow.demo import USERS
    return USERS


if __name__ == '__main__':
    sys.exit(main())
