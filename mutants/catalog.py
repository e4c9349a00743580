"""The mutants: each a bug the sync engine once had or could easily grow (issue 8)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["MUTANTS", "Mutant", "Substitution"]


@dataclass(frozen=True)
class Substitution:
    """Replace ``anchor`` (which must occur exactly once) in ``path`` (under ``src/``)."""

    path: str
    anchor: str
    replacement: str


@dataclass(frozen=True)
class Mutant:
    name: str
    what: str
    substitutions: tuple[Substitution, ...]


def _one(name: str, what: str, path: str, anchor: str, replacement: str) -> Mutant:
    return Mutant(name, what, (Substitution(path, anchor, replacement),))


PUSH = "leadcache/sync/push.py"
CACHE = "leadcache/cache.py"

MUTANTS: tuple[Mutant, ...] = (
    _one(
        "oldest-value-wins",
        "coalescing a lead's queued updates keeps the OLDEST value of each field",
        PUSH,
        '        for row in lead_rows:\n            if row.action != "delete":\n',
        '        for row in reversed(lead_rows):\n            if row.action != "delete":\n',
    ),
    _one(
        "conflict-not-recorded",
        "airtable-wins drops the agent's value without recording the conflict",
        "leadcache/sync/reconcile.py",
        "            if name not in decided:\n",
        '            if name not in decided and self.policy != "airtable-wins":\n',
    ),
    _one(
        "race-taken-for-ours",
        "a person's edit of a field with a pending change is taken for our own write: the "
        "agent's value is re-based onto it and pushed over it, no conflict recorded",
        "leadcache/sync/reconcile.py",
        "            if any(same_value(remote_value, v) for v in ours.get(name, ())):\n",
        "            if True:\n",
    ),
    _one(
        "sent-record-ignored",
        "which values an attempt carried is ignored: an older queued value counts as our own "
        "write by attempt counts alone (the rule before migration 7), so a person's edit to a "
        "value no attempt sent is overwritten without a conflict",
        "leadcache/sync/reconcile.py",
        "            elif row.sent_fields is None:\n",
        "            elif True:\n",
    ),
    Mutant(
        "late-create-adopted",
        "a create that lands after its lead was cancelled is adopted onto the deleted lead "
        "(undeleting it) or cached as a new lead, and stays in Airtable",
        (
            Substitution(
                "leadcache/sync/reconcile.py",
                "            if state.deleted is not None and local_id not in busy:\n",
                "            if False:\n",
            ),
            Substitution(
                "leadcache/sync/reconcile.py",
                "        for key in self.store.cancelled_keys(new):\n",
                "        for key in ():\n",
            ),
        ),
    ),
    _one(
        "late-create-takes-the-record-lead",
        "a keyed record of a lead the agent deleted is given that lead even when the lead has "
        "a record of its own: the delete still queued for the original moves to the new one",
        "leadcache/sync/reconcile.py",
        "        if current is not None and is_local_id(current):\n",
        "        if current is not None:\n",
    ),
    _one(
        "late-create-copies-kept",
        "a pull adopting a deleted lead's landed create keeps the other records carrying its key "
        "(a person's copies) as live leads, although the delete's look-up would delete them",
        "leadcache/sync/reconcile.py",
        "            if state.deleted is not None:\n                # The agent's delete is queued",
        "            if False:\n                # The agent's delete is queued",
    ),
    _one(
        "airtable-wins-ignored",
        "airtable-wins records the conflict but pushes the agent's value over the person's "
        "anyway (settled as local-wins)",
        "leadcache/sync/reconcile.py",
        '            if self.policy == "airtable-wins":\n'
        "                del changes[name]\n"
        "                base.pop(name, None)\n"
        '            elif self.policy == "local-wins":\n',
        "            if False:\n"
        "                del changes[name]\n"
        "                base.pop(name, None)\n"
        '            elif self.policy != "manual":\n',
    ),
    Mutant(
        "parked-row-rebased",
        "a newer write does not supersede a parked change, and pushes re-base parked rows",
        (
            Substitution(
                CACHE,
                "                supersede_parked(self.store, peek.id, effective)\n",
                "                pass\n",
            ),
            Substitution(
                PUSH,
                'row.action == "update" and row.state == "pending":',
                'row.action == "update" and row.state != "synced":',
            ),
        ),
    ),
    _one(
        "delete-keeps-parked",
        "deleting a lead leaves its parked changes (a retried create resurrects it)",
        CACHE,
        "            supersede_by_delete(self.store, state.id)\n",
        "            pass\n",
    ),
    _one(
        "lease-not-checked",
        "no fencing: requests and answers are not checked against the lease generation",
        "leadcache/sync/lease.py",
        "        if self._depth == 0:\n            return  # not a leased run",
        "        if True:\n            return  # not a leased run",
    ),
    _one(
        "delete-not-pushed",
        "a delete of a lead Airtable has is marked done without being sent",
        PUSH,
        '            if not local:\n                ops.append(Operation("delete",',
        '            if not local:\n                ops.append(Operation("none",',
    ),
    _one(
        "watermark-local-clock",
        "formula pulls take their cursor from our clock, not Airtable's",
        "leadcache/sync/pull.py",
        "        return iso_at(airtable_time)\n",
        "        return local\n",
    ),
    Mutant(
        "penalty-uncapped",
        "a 429's Retry-After is stored and read back without any bound",
        (
            Substitution(
                "leadcache/sync/pacer.py",
                "min(max(seconds, 0.0), MAX_PENALTY_S)",
                "seconds",
            ),
            Substitution(
                "leadcache/airtable/retry.py",
                "        floor = min(floor, max(self.max_penalty, self.penalty))\n",
                "",
            ),
            Substitution(
                "leadcache/store/sqlite_sync.py",
                "min(float(row[0]), now + RATE_SLOT_HORIZON_S)",
                "float(row[0])",
            ),
        ),
    ),
    _one(
        "parked-never-superseded",
        "update_lead skips superseding parked values (the peek's 'look' flag ignored)",
        "leadcache/cache.py",
        "                if peek.parked:\n",
        "                if False:\n",
    ),
    _one(
        "pg-parked-unseen",
        "PostgreSQL's peek says a lead has no parked change when it has one",
        "leadcache/store/postgres.py",
        "parked=bool(row[5])",
        "parked=False",
    ),
    _one(
        "base-not-checked",
        "a database from another base or table syncs anyway",
        "leadcache/sync/manager.py",
        "            check_identity(self.store, self.settings)\n",
        "            pass\n",
    ),
)
