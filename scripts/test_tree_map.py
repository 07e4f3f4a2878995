"""Where each test file lives: tests/<folder>/ mirrors the package (issue #16, item 8).

    python scripts/test_tree_map.py            # list flat tests/test_*.py and where each goes
    python scripts/test_tree_map.py --apply    # git mv them there, then fix the module names
                                               # (`tests.test_X`: imports, pytest_plugins) and paths
                                               # (`tests/test_X.py` in docstrings) under tests/

A file is placed by its name in TABLE; a name TABLE does not know is placed by the first matching prefix
in PREFIXES; a name neither knows is reported and left flat (add it to TABLE: decide by what it tests,
i.e. its imports). Run it at merge time on a branch that still adds flat test files: the same names
land in the same folders, and their `from tests.test_service_harness import ...` follow the move.
Paths relative to a moved file (`Path(__file__).parent / "bad_campaigns"`, `parents[1]` for the
repository) are not rewritten: a moved file is one folder deeper, so check those by hand
(`grep -n __file__` in it).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"

# The table: "folder: stems" (a stem is the file name without test_ and .py), "#" lines are notes.
# The folder names mirror the package.
TABLE = """
# postdeck/core (keys) and postdeck's own small top-level modules (timeparse, settings)
core: keys timeparse settings
# schemas/: the campaign language, loading, rendering, validation, counting, media probing
schemas: calendar_counting campaign_language campaign_loading campaign_names campaign_render
    campaign_timing campaign_writer counting_fast_paths fuzz_campaigns fuzz_templates render_limits
    repeat schema_json source_limits truncate_wrapper validation_corpus validation_counting
    validation_rules validation_x_conformance video_probe
# postdeck/engine: plan, publisher (exactly-once), heartbeat, runs, resolve, resend, review gate
engine: claim_heartbeat drift plan publish_runs publisher repeat_publish resend_failed resolve
    review_gate reviewed_plan run_liveness threads_plan threads_publish unknown_liveness verdict
    plan_hash provider_census
# providers/: the clients, failure classification, chain and failover, rate limits, media, accounts
providers: account_cache chain failover_chaos failover_faults late_client media_cache postforme_client
    provider_failures provider_lenient_replies provider_ratelimit rate_budget_processes shared_rate
# ledger/: SQLite and Supabase backends, the contract, journal, credentials, migrations on PostgreSQL
ledger: cancel_requests_pg credentials journal ledger_contract ledger_live ledger_protocols
    ledger_rebuild ledger_sqlite migrations_pg owner_keys plan_token row_level_security_pg
    schema_drift_pg service_ledger supabase_keys supabase_project
# flows/: the Prefect flows, their reports and limits, the local Prefect server
flows: flow_apply flow_publish flow_repeat flow_reports local_server provider_guard sync_cancel_requests_pg
# postdeck/commands: the CLI
commands: cli_accounts cli_app_for cli_campaign cli_campaign_csv cli_habits cli_help cli_history cli_post
    cli_schedules plan_cli validate_output
# postdeck/service: the seed API (test_service_harness is also the plugin of the CLI tests)
service: service_harness service_internal_errors service_providers service_runs service_schedules
    service_seed000 service_seed002 service_supabase
# postdeck/preview
preview: preview_browser preview_flow_artifact preview_serve preview_site preview_video run_pruning
# postdeck/sandbox: the simulators and their fault plans
sandbox: faults_plan late_sim_sdk postforme_sim_sdk sandbox_rate_limits
# attacks: media, templates, the secret scan, SSRF of media downloads
security: media_download security_media security_secret_scan security_templates
# postdeck/webhooks.py, webhook_intake.py and the follow-up of scheduled posts they feed
webhooks: follow_up_and_webhooks webhook_intake
# the project's own files: the light install, the package tree of package-dir, the example workflow
project: light_install package_tree workflow_example module_sizes
"""


def _parse(table: str) -> dict[str, str]:
    """file name -> folder; a line starting with spaces goes on the folder above."""
    out: dict[str, str] = {}
    folder = ""
    for line in table.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        if not line.startswith(" "):
            folder, _, line = line.partition(":")
        for stem in line.split():
            if f"test_{stem}.py" in out:
                raise SystemExit(f"test_{stem}.py is in two folders of the table")
            out[f"test_{stem}.py"] = folder
    return out


MAP: dict[str, str] = _parse(TABLE)

# For names MAP does not know (files added on other branches): first match wins.
PREFIXES: list[tuple[str, str]] = [
    ("test_cli_", "commands"),
    ("test_service_", "service"),
    ("test_preview_", "preview"),
    ("test_security_", "security"),
    ("test_flow_", "flows"),
    ("test_ledger_", "ledger"),
    ("test_supabase_", "ledger"),
    ("test_journal", "ledger"),
    ("test_provider_", "providers"),
    ("test_postforme_", "providers"),
    ("test_late_", "providers"),
    ("test_failover_", "providers"),
    ("test_sandbox_", "sandbox"),
    ("test_campaign_", "schemas"),
    ("test_validation_", "schemas"),
    ("test_fuzz_", "schemas"),
    ("test_webhook", "webhooks"),
]


def folder_for(name: str) -> str | None:
    if name in MAP:
        return MAP[name]
    if name.endswith("_pg.py"):
        return "ledger"
    return next((folder for prefix, folder in PREFIXES if name.startswith(prefix)), None)


def module_renames() -> dict[str, str]:
    """tests.test_X -> tests.<folder>.test_X for every file the table (or a prefix) places."""
    names = set(MAP) | {p.name for p in TESTS.glob("test_*.py")}
    out = {}
    for name in names:
        folder = folder_for(name)
        if folder:
            out[f"tests.{name[:-3]}"] = f"tests.{folder}.{name[:-3]}"
    return out


def rewrite_modules(paths: list[Path]) -> list[Path]:
    renames = module_renames()
    renames |= {f"{old.replace('.', '/')}.py": f"{new.replace('.', '/')}.py" for old, new in renames.items()}
    pattern = re.compile(r"\btests[./](test_\w+)\b(\.py)?")
    changed = []
    for path in paths:
        text = path.read_text()
        new = pattern.sub(lambda m: renames.get(m.group(0), m.group(0)), text)
        if new != text:
            path.write_text(new)
            changed.append(path)
    return changed


def main(argv: list[str]) -> int:
    apply = "--apply" in argv
    unknown = []
    for path in sorted(TESTS.glob("test_*.py")):
        folder = folder_for(path.name)
        if folder is None:
            unknown.append(path.name)
            continue
        print(f"tests/{path.name} -> tests/{folder}/{path.name}")
        if apply:
            dest = TESTS / folder
            dest.mkdir(exist_ok=True)
            init = dest / "__init__.py"
            if not init.exists():
                init.write_text("")
                subprocess.run(["git", "add", str(init)], cwd=ROOT, check=True)
            subprocess.run(["git", "mv", str(path), str(dest / path.name)], cwd=ROOT, check=True)
    if apply:
        for path in rewrite_modules(
            sorted([*TESTS.rglob("*.py"), *TESTS.rglob("*.md"), *TESTS.rglob("*.yaml")])
        ):
            print(f"module names rewritten in {path.relative_to(ROOT)}")
    for name in unknown:
        print(f"tests/{name}: no folder known, left flat (add it to the TABLE of {Path(__file__).name})")
    return 1 if unknown else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
