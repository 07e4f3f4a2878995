"""The JSON Schema of campaign files, generated from the models (committed as campaign.schema.json).

Editors with the YAML language server complete and check campaign files from it, via the
modeline `# yaml-language-server: $schema=../schemas/campaign.schema.json`. A test regenerates it
and compares byte for byte; `postdeck schema` rewrites the committed file.
"""

from __future__ import annotations

import json
from pathlib import Path

from postdeck.schemas.campaign import Campaign

SCHEMA_FILE = Path(__file__).with_name("campaign.schema.json")


def campaign_json_schema() -> str:
    """The schema as the exact text of the committed file."""
    schema = Campaign.model_json_schema()
    document = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        **schema,
        "title": "postdeck campaign",
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def write_schema(path: Path = SCHEMA_FILE) -> bool:
    """Write the schema; True if the file changed."""
    text = campaign_json_schema()
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    path.write_text(text, encoding="utf-8")
    return True
