"""`python -m postdeck.ledger.plan_token [--days N]`: print a SUPABASE_PLAN_TOKEN for the read-only plan path.

The JWT secret comes from SUPABASE_JWT_SECRET (the environment, never the command line, which other
users of the machine can see). See the README, "Run against Supabase".
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence

from postdeck.ledger.supabase_keys import mint_plan_token
from postdeck.settings import settings


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m postdeck.ledger.plan_token", description=__doc__)
    parser.add_argument("--days", type=float, default=90, help="how long the token is valid (default 90)")
    args = parser.parse_args(argv)
    secret = settings(environ).get("SUPABASE_JWT_SECRET")
    if not secret:
        print("set SUPABASE_JWT_SECRET to the project's JWT secret", file=sys.stderr)
        return 1
    if not 0 < args.days <= 366:
        print("--days: between 0 and 366 (a plan token is rotated, not kept forever)", file=sys.stderr)
        return 1
    print(mint_plan_token(secret, days=args.days))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
