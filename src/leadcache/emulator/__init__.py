"""An Airtable-compatible HTTP server for tests, the demo and benchmarks.

The unmodified ``pyairtable`` client talks to it over real HTTP::

    from leadcache.emulator import running_emulator
    import pyairtable

    with running_emulator(seed=250) as emu:
        api = pyairtable.Api(emu.token, endpoint_url=emu.url)
        leads = api.table(emu.base_id, emu.table_name).all()

It imports nothing from the cache or sync code, so it cannot share their bugs. The Python and
HTTP control surface is fixed by ``docs/decisions/0001-emulator-python-api.md``; what it
covers is listed in ``docs/emulator.md``.
"""

from __future__ import annotations

from .accounting import RequestLog
from .clock import Clock
from .control import CONTROL_ENDPOINTS
from .emulator import Emulator, running_emulator
from .faults import Faults
from .seed import LEAD_FIELDS, LEAD_STATUSES
from .server import CONTROL_PREFIX

__all__ = [
    "CONTROL_ENDPOINTS",
    "CONTROL_PREFIX",
    "LEAD_FIELDS",
    "LEAD_STATUSES",
    "Clock",
    "Emulator",
    "Faults",
    "RequestLog",
    "running_emulator",
]
