"""The light install (`pip install postdeck`, no extras): validate and plan without Prefect or supabase-py,
and the commands that need one name the extra. `make test-light` checks the same in a real fresh venv."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import requires
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
HEAVY = {"prefect", "fastapi", "supabase", "postgrest"}


def test_the_unconditional_requirements_hold_no_prefect_and_no_supabase() -> None:
    always = [Requirement(r) for r in requires("postdeck") or [] if "extra ==" not in r]
    assert always, "postdeck declares no requirements at all"
    assert not {r.name.lower() for r in always} & HEAVY


def test_the_extras_bring_them() -> None:
    by_extra: dict[str, set[str]] = {}
    for line in requires("postdeck") or []:
        requirement = Requirement(line)
        marker = str(requirement.marker or "")
        if "extra ==" in marker:
            extra = marker.split("extra ==")[1].strip().strip("'\"")
            by_extra.setdefault(extra, set()).add(requirement.name.lower())
    assert {"prefect", "fastapi"} <= by_extra["prefect"]
    assert "supabase" in by_extra["supabase"]
    assert "postdeck" in by_extra["all"]  # all = postdeck[prefect,supabase,video]


def _cli_without(blocked: list[str], *args: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Run the CLI in a fresh interpreter where the blocked packages cannot be imported (a None entry
    in sys.modules is how Python marks a module as absent: import raises, find_spec returns None)."""
    program = (
        "import sys\n"
        f"for name in {blocked!r}: sys.modules[name] = None\n"
        f"sys.argv = ['postdeck', *{list(args)!r}]\n"
        "from postdeck.cli import main\n"
        "main()\n"
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "POSTDECK_LEDGER": str(tmp_path / "ledger.db"),
        "POSTDECK_JOURNAL": str(tmp_path / "journal.jsonl"),
        "POSTDECK_SERVER_DIR": str(tmp_path / "server"),
    }
    return subprocess.run(
        [sys.executable, "-c", program], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.slow
def test_validate_and_plan_run_without_prefect_or_supabase(tmp_path: Path) -> None:
    for command in (["validate", "campaigns/example.yaml"], ["plan", "campaigns/example.yaml"]):
        done = _cli_without(["prefect", "supabase"], *command, tmp_path=tmp_path)
        assert done.returncode == 0, done.stderr


@pytest.mark.slow
def test_publish_without_prefect_names_the_extra_and_starts_nothing(tmp_path: Path) -> None:
    done = _cli_without(["prefect"], "publish", "campaigns/example.yaml", "--sandbox", tmp_path=tmp_path)
    assert done.returncode == 1
    assert "pip install 'postdeck[prefect]'" in done.stderr  # shown as text, not eaten as rich markup
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "server").exists()  # no local server was started


@pytest.mark.slow
def test_the_supabase_ledger_without_supabase_py_names_the_extra(tmp_path: Path) -> None:
    program = (
        "import sys\nsys.modules['supabase'] = None\n"
        "from postdeck.errors import MissingExtra\n"
        "from postdeck.ledger.supabase import SupabaseLedger\n"
        "try:\n    SupabaseLedger('https://example.supabase.co', 'sb_secret_x')\n"
        "except MissingExtra as exc:\n    print(exc)\n"
    )
    done = subprocess.run([sys.executable, "-c", program], cwd=tmp_path, capture_output=True, text=True)
    assert "pip install 'postdeck[supabase]'" in done.stdout, done.stderr


@pytest.mark.slow
def test_a_message_with_brackets_is_printed_as_text(tmp_path: Path) -> None:
    missing = "campaigns/a[b].yaml"
    done = _cli_without([], "publish", missing, "--sandbox", tmp_path=tmp_path)
    assert done.returncode == 1
    assert "campaigns/a[b].yaml: file not found" in done.stderr  # `[b]` is rich's bold tag
