"""Building many leads at once without the cyclic garbage collector in the way.

A 100,000-lead list read creates some 300,000 container objects (a row tuple, the lead, its
fields). Each 700 of them start a collection, and as the result grows the older generations
are walked again and again: measured at ~45% of ``get_all_leads`` (docs/performance.md). None
of these objects can form a cycle (rows, dicts of strings and numbers, lists of those), so
collecting while they are built finds nothing. :func:`gc_paused` switches the collector off
for the duration of such a build and back on afterwards, which is what the collector's own
documentation suggests for allocation bursts known to be acyclic.

Switching it back on is not enough by itself: the objects built meanwhile all sit in the
youngest generation, and the first allocation afterwards walks every one of them (measured
~150 ms after a 100,000-lead read). ``gc.freeze()`` followed at once by ``gc.unfreeze()``
moves them to the oldest generation without walking them, where a full collection will
still look at them in its own time (so garbage cycles among them are collected, later). A
program that froze its heap itself (a pre-forking server) is left alone: then the pause
ends with the plain ``gc.enable()``.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["gc_paused"]

#: Objects allocated (and still alive) since the last collection above which the new
#: objects are moved to the oldest generation instead of walked (about 3,000 leads).
_BIG_BUILD = 10_000


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause automatic garbage collection inside the block.

    Only re-enables what it disabled: a program that runs with the collector off keeps it
    off, and a frozen heap stays frozen. Two threads building at once may see it already
    paused; the one that paused it switches it back on when it is done, which at worst lets
    the other finish with the collector running (slower, never wrong).
    """
    was_enabled = gc.isenabled()
    if was_enabled:
        gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            # Only after a big build: a small one leaves little for the collector to walk,
            # and moving the young generations wholesale on every small read would also
            # move other code's young garbage cycles out of the frequent collections.
            if gc.get_count()[0] >= _BIG_BUILD and gc.get_freeze_count() == 0:
                gc.freeze()
                gc.unfreeze()
            gc.enable()
