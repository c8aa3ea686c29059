"""RefCounted / RefPtr / WeakPtr rules (serenity.md D, seeds 2 and 3)."""
import threading

import pytest

from kernel_model.object_registry import ObjectRegistry
from kernel_model.ref_counted import RefCounted, adopt_ref
from kernel_model.weak_ptr import Weakable


class Thing(RefCounted, Weakable):
    def __init__(self, registry, log=None):
        super().__init__(registry)
        self.log = log if log is not None else []
        self.weak_to_self = None

    def will_be_destroyed(self):
        self.log.append("will_be_destroyed")
        if self.weak_to_self is not None:
            # Inside the #4621 window: the count is 0, the destructor has not finished.
            self.log.append(("strong_ref", self.weak_to_self.strong_ref("probe")))
            self.log.append(("unsafe_ptr", self.weak_to_self.unsafe_ptr() is self))
            self.log.append(("make_weak_ptr", self.make_weak_ptr().is_null()))

    def _destroy(self):
        self.log.append("destroyed")


@pytest.fixture
def registry():
    return ObjectRegistry()


def test_destruction_runs_at_last_unref(registry):
    thing = Thing(registry)
    a = adopt_ref(thing, "a")
    b = a.clone("b")
    a.release()
    assert thing.log == [] and thing.ref_count == 1
    b.release()
    assert thing.log == ["will_be_destroyed", "destroyed"]
    assert thing.is_destroyed and len(registry) == 0


def test_strong_ref_returns_none_once_count_reached_zero(registry):
    thing = Thing(registry)
    ref = adopt_ref(thing, "owner")
    thing.weak_to_self = thing.make_weak_ptr()
    ref.release()
    # strong_ref refused, unsafe_ptr still answered the object: the window behind SerenityOS #4621
    assert ("strong_ref", None) in thing.log
    assert ("unsafe_ptr", True) in thing.log


def test_make_weak_ptr_refuses_a_dying_object(registry):
    thing = Thing(registry)
    ref = adopt_ref(thing, "owner")
    thing.weak_to_self = thing.make_weak_ptr()
    ref.release()
    assert ("make_weak_ptr", True) in thing.log


def test_weak_links_are_revoked_when_the_object_is_destroyed(registry):
    thing = Thing(registry)
    ref = adopt_ref(thing, "owner")
    weak = thing.make_weak_ptr()
    strong = weak.strong_ref("via weak")
    assert strong is not None and strong.get() is thing and thing.ref_count == 2
    strong.release()
    ref.release()
    assert weak.is_null() and weak.strong_ref("late") is None and weak.unsafe_ptr() is None


def test_weak_ptr_does_not_keep_an_object_alive(registry):
    thing = Thing(registry)
    ref = adopt_ref(thing, "owner")
    weaks = [thing.make_weak_ptr() for _ in range(3)]
    assert thing.weak_count() == 3
    ref.release()
    assert thing.is_destroyed and all(w.is_null() for w in weaks)


def test_releasing_a_refptr_twice_is_an_error(registry):
    ref = adopt_ref(Thing(registry), "owner")
    ref.release()
    with pytest.raises(RuntimeError):
        ref.release()
    with pytest.raises(RuntimeError):
        ref.get()


def test_ref_of_a_dead_object_is_an_error_and_try_ref_refuses(registry):
    thing = Thing(registry)
    adopt_ref(thing, "owner").release()
    with pytest.raises(RuntimeError):
        thing.ref("late")
    assert thing.try_ref("late") is None


def test_registry_lists_every_live_object_with_counts_and_holders(registry):
    thing = Thing(registry)
    a = adopt_ref(thing, "open handle on /42 held by host process 1234 (bash)")
    b = a.clone("PID directory /42")
    c = a.clone("PID directory /42")
    weak = thing.make_weak_ptr()
    [entry] = registry.snapshot()
    assert entry.strong_count == 3 and entry.weak_count == 1
    assert entry.holders == {"open handle on /42 held by host process 1234 (bash)": 1, "PID directory /42": 2}
    for r in (a, b, c):
        r.release()
    assert registry.snapshot() == [] and weak.is_null()


def test_counts_stay_exact_under_concurrent_threads(registry):
    thing = Thing(registry)
    owner = adopt_ref(thing, "owner")
    weak = thing.make_weak_ptr()

    def hammer():
        for _ in range(2000):
            ref = weak.strong_ref("worker")
            assert ref is not None
            ref.clone("worker copy").release()
            ref.release()

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert thing.ref_count == 1 and thing.strong_holders() == {"owner": 1}
    owner.release()
    assert thing.is_destroyed
