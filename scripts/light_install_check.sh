#!/usr/bin/env bash
# The light install, as a pre-commit hook or a pull-request job gets it: `pip install postdeck` with no
# extras, in a fresh venv. It must validate, plan and preview the example campaign without Prefect or supabase-py,
# and `publish` must name the extra it needs.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.postdeck/light-venv
rm -rf "$venv" .postdeck/light-home
python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check .
# From / : the checkout's own supabase/ folder would import as a namespace package.
if (cd / && "$OLDPWD/$venv/bin/python" -c "import prefect" 2>/dev/null) ||
   (cd / && "$OLDPWD/$venv/bin/python" -c "import supabase" 2>/dev/null); then
  echo "light install: Prefect or supabase-py was installed without an extra" >&2; exit 1
fi
export POSTDECK_LEDGER=$PWD/.postdeck/light-home/ledger.db POSTDECK_JOURNAL=$PWD/.postdeck/light-home/journal.jsonl POSTDECK_SERVER_DIR=$PWD/.postdeck/light-home/server
mkdir -p .postdeck/light-home
"$venv/bin/postdeck" validate campaigns/example.yaml
"$venv/bin/postdeck" plan campaigns/example.yaml > /dev/null
"$venv/bin/postdeck" preview campaigns/example.yaml --out .postdeck/light-home/preview > /dev/null
grep -q "<script" .postdeck/light-home/preview/index.html  # the page's script came with the wheel
set +e
message=$("$venv/bin/postdeck" publish campaigns/example.yaml --sandbox 2>&1)
code=$?
set -e
if [ "$code" -eq 0 ] || ! grep -q "postdeck\[prefect\]" <<<"$message"; then
  echo "light install: publish should fail naming postdeck[prefect]; it said (exit $code):" >&2
  echo "$message" >&2; exit 1
fi
echo "light install: validate and plan work without Prefect; publish says: $message"
