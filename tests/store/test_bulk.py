"""``gc_paused``: the collector is off while a list read builds its leads, and afterwards in
exactly the state it was before."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from leadcache.store.bulk import gc_paused


@pytest.fixture(autouse=True)
def _restore_gc() -> Iterator[None]:
    was = gc.isenabled()
    yield
    if was:
        gc.enable()
    else:
        gc.disable()


def test_paused_inside_and_back_on_after() -> None:
    gc.enable()
    with gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_program_running_without_the_collector_keeps_it_off() -> None:
    gc.disable()
    with gc_paused():
        assert not gc.isenabled()
    assert not gc.isenabled()


def test_back_on_after_an_error() -> None:
    gc.enable()
    with pytest.raises(RuntimeError), gc_paused():
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_objects_built_while_paused_are_still_collected_when_garbage() -> None:
    """Moving the new objects past the young generations must not make cycles immortal."""

    class Node:
        other: object

    gc.enable()
    gc.collect()
    with gc_paused():
        a, b = Node(), Node()
        a.other, b.other = b, a
        probe = [a]
    del a, b, probe
    assert gc.collect() >= 2


def test_a_frozen_heap_is_left_frozen() -> None:
    """A pre-forking server may have frozen its heap (gc.freeze); the pause must not thaw it."""
    gc.enable()
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with gc_paused():
            [{"x": i} for i in range(1000)]
        assert gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()


def test_a_small_build_leaves_the_young_generation_to_the_collector() -> None:
    """Only big builds skip the young collections: after a small one, young garbage cycles
    are still found by the next young collection."""

    class Node:
        other: object

    gc.enable()
    gc.collect()
    with gc_paused():
        a, b = Node(), Node()
        a.other, b.other = b, a
    del a, b
    assert gc.collect(0) >= 2  # still young: a youngest-generation collection finds them
