"""pyairtable's ORM, its Api/Base/Table/Webhook surfaces and its command line, unmodified,
against the emulator (nobody here wrote them, so they check the emulator from outside)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyairtable
import pytest
from pyairtable.formulas import AND, GTE, Field, match
from pyairtable.orm import Model
from pyairtable.orm import fields as F
from pyairtable.utils import Url

from leadcache.emulator import Emulator

# The pyairtable CLI builds Api(token) for api.airtable.com; the only change is the endpoint.
_CLI = """
import functools, os
from pyairtable import Api, cli
url = os.environ["EMULATOR_URL"]
prop = functools.cached_property(lambda self: Api(self.access_token, endpoint_url=url))
prop.__set_name__(cli.CliContext, "api")
cli.CliContext.api = prop
cli.cli()
"""


def _cli(emu: Emulator, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", _CLI, "-k", emu.token, *args],
        capture_output=True, text=True, timeout=60, check=False,
        env={**os.environ, "EMULATOR_URL": emu.url},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_command_line(emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert json.loads(_cli(emu, "whoami"))["id"].startswith("usr")
    assert [b["id"] for b in json.loads(_cli(emu, "bases"))] == [emu.base_id]
    schema = json.loads(_cli(emu, "base", emu.base_id, "schema"))
    assert schema["tables"][0]["name"] == "Leads"
    table_schema = json.loads(_cli(emu, "base", emu.base_id, "table", "Leads", "schema"))
    assert table_schema["id"] == emu.table_id
    rows = json.loads(_cli(
        emu, "base", emu.base_id, "table", "Leads", "records",
        "-f", "{Lead Score} >= 50", "-S", "-Lead Score", "-n", "5",
        "-F", "Name", "-F", "Lead Score",
    ))  # fmt: skip
    scores = [r["fields"]["Lead Score"] for r in rows]
    assert 0 < len(rows) <= 5 and scores == sorted(scores, reverse=True) and min(scores) >= 50
    assert all(set(r["fields"]) <= {"Name", "Lead Score"} for r in rows)
    # `base orm` generates ORM classes from the emulator's schema; they work against it.
    module = tmp_path / "generated_models.py"
    module.write_text(_cli(emu, "base", emu.base_id, "orm"))
    sys.path.insert(0, str(tmp_path))
    try:
        import generated_models  # type: ignore[import-not-found]

        monkeypatch.setenv("AIRTABLE_API_KEY", emu.token)  # what the generated Meta reads
        generated_models.Lead.meta.api.endpoint_url = Url(emu.url)
        leads = generated_models.Lead.all()
        assert len(leads) == len(emu.records()) and all(lead.name for lead in leads)
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("generated_models", None)


def test_api_base_table_webhook(api: pyairtable.Api, emu: Emulator) -> None:
    assert api.whoami()["id"].startswith("usr")
    base = api.base(emu.base_id, validate=True)
    assert base.name == "Leads (emulator)" and [t.name for t in base.tables()] == ["Leads"]
    accounts = base.create_table(
        "Accounts", [{"name": "Account", "type": "singleLineText"}], description="Firms"
    )
    assert accounts.schema().description == "Firms"
    table = base.table("Leads")
    field = table.create_field("Score 2", "number", options={"precision": 1})
    assert table.schema(force=True).field("Score 2").id == field.id
    created = table.batch_create([{"Name": f"T{i}", "Lead Score": i} for i in range(12)])
    assert len(created) == 12
    assert table.first(formula=match({"Name": "T3"}))["fields"]["Lead Score"] == 3  # type: ignore[index]
    pages = list(table.iterate(page_size=5, formula=GTE(Field("Lead Score"), 0), max_records=12))
    # pageSize per page, maxRecords in all: Airtable ends the listing at the 12th record.
    assert [len(p) for p in pages] == [5, 5, 2]
    upserted = table.batch_upsert(
        [{"fields": {"Name": "T1", "Title": "X"}}, {"fields": {"Name": "Fresh"}}], ["Name"]
    )
    assert len(upserted["createdRecords"]) == 1 and len(upserted["updatedRecords"]) == 1
    updated = table.batch_update([{"id": r["id"], "fields": {"Title": "Y"}} for r in created[:3]],
                                 replace=False)  # fmt: skip
    assert {r["fields"]["Title"] for r in updated} == {"Y"}
    assert len(table.batch_delete([r["id"] for r in created])) == 12
    assert table.all(formula=AND(match({"Name": "T1"}))) == []
    hook = base.add_webhook("http://127.0.0.1:9/x", {"options": {"filters": {
        "dataTypes": ["tableData"], "recordChangeScope": table.id}}})  # fmt: skip
    webhook = base.webhook(hook.id)
    before = webhook.expiration_time
    emu.clock.advance(60)
    webhook.extend_expiration()
    assert base.webhook(hook.id).expiration_time > before  # type: ignore[operator]
    table.create({"Name": "Hooked"})
    assert len(list(webhook.payloads())) == 1
    assert [w.id for w in base.webhooks()] == [hook.id]
    webhook.delete()
    assert base.webhooks() == []


class Account(Model):
    class Meta:
        api_key = "unused"
        base_id = "unused"
        table_name = "Accounts"

    name = F.TextField("Account")
    size = F.NumberField("Size")
    leads: F.LinkField[Lead] = F.LinkField("Leads", "Lead")


class Lead(Model):
    class Meta:
        api_key = "unused"
        base_id = "unused"
        table_name = "Leads"

    name = F.TextField("Name")
    status = F.SelectField("Status")
    score = F.NumberField("Lead Score")
    created = F.CreatedTimeField("Created")
    number = F.AutoNumberField("Lead Number")
    account = F.SingleLinkField("Account", Account)
    owner = F.CollaboratorField("Owner")


@pytest.fixture
def orm(api: pyairtable.Api, emu: Emulator) -> Any:
    base = api.base(emu.base_id)
    base.create_table("Accounts", [{"name": "Account", "type": "singleLineText"},
                                   {"name": "Size", "type": "number",
                                    "options": {"precision": 0}}])  # fmt: skip
    base.table("Leads").create_field(
        "Account", "multipleRecordLinks", options={"linkedTableId": base.table("Accounts").id}
    )
    base.table("Leads").create_field("Owner", "singleCollaborator")
    for model in (Lead, Account):
        model.meta.api.api_key = emu.token
        model.meta.api.endpoint_url = Url(emu.url)
        model.Meta.base_id = emu.base_id
        model.meta.__dict__.pop("base_id", None)
        model.meta.__dict__.pop("table", None)
    return base


def test_orm(orm: Any, emu: Emulator) -> None:
    emu.clock.set(datetime(2025, 1, 2, tzinfo=UTC))
    acme = Account(name="Acme", size=50)
    acme.save()
    lead = Lead(name="Orm", status="new", score=77, account=acme,
                owner={"email": "emulator@leadcache.invalid"})  # fmt: skip
    lead.save()
    assert lead.id.startswith("rec")
    fetched = Lead.from_id(lead.id)  # the ORM does not reload computed fields on create
    assert fetched.number and fetched.created.year == 2025
    assert fetched.name == "Orm" and fetched.account is not None
    owner: Any = fetched.owner
    assert fetched.account.id == acme.id and owner["name"] == "Emulator User"
    # The two-way link: the account sees the lead.
    acme.fetch()
    assert [lead_.id for lead_ in acme.leads] == [lead.id]
    fetched.status = "qualified"
    fetched.save()
    found = Lead.first(formula=match({"Status": "qualified", "Name": "Orm"}))
    assert found is not None and found.id == lead.id
    batch = [Lead(name=f"B{i}", score=i) for i in range(11)]
    Lead.batch_save(batch)
    assert all(b.id for b in batch)
    assert len(Lead.all(formula="FIND('B', {Name})=1")) == 11
    Lead.batch_delete(batch)
    fetched.delete()
    assert Lead.all(formula=match({"Name": "Orm"})) == []
    assert Account.from_id(acme.id).leads == []


def test_comments(table: pyairtable.Table, emu: Emulator) -> None:
    rec = table.create({"Name": "Talked about"})
    first = table.add_comment(rec["id"], "Called, no answer")
    reply = table.add_comment(rec["id"], "Second try", parent_comment_id=first.id)
    assert first.id.startswith("com") and first.author.id == table.api.whoami()["id"]
    assert reply.parent_comment_id == first.id
    assert [c.text for c in table.comments(rec["id"])] == ["Second try", "Called, no answer"]
    first.text = "Called twice"
    first.save()
    assert table.comments(rec["id"])[-1].last_updated_time is not None
    counted = table.all(formula=f"RECORD_ID()='{rec['id']}'", count_comments=True)
    assert counted[0].get("commentCount") == 2
    reply.delete()
    assert [c.text for c in table.comments(rec["id"])] == ["Called twice"]
    assert emu.count(endpoint="comments.create") == 2
