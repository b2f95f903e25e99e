import threading

import pytest

from desktop_app.core.jobs import Cancelled, Job


def test_sub_ranges_map_onto_the_parent():
    seen = []
    job = Job(lambda f, m: seen.append(round(f, 3)))
    sub = job.sub(0.5, 1.0)
    sub.step(0.0)
    sub.sub(0.5, 1.0).step(1.0)
    assert seen == [0.5, 1.0]


def test_cancel_from_another_thread_stops_the_next_step():
    job = Job()
    t = threading.Thread(target=job.cancel)
    t.start()
    t.join()
    with pytest.raises(Cancelled):
        job.sub(0, 0.5).step(0.1)


def test_low_priority_work_runs_on_a_thread_of_its_own_at_a_higher_nice_value():
    import os

    from desktop_app.core.jobs import run_at_low_priority

    def nice_here():
        return threading.get_native_id(), os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    me, mine = nice_here()
    tid, theirs = run_at_low_priority(nice_here)
    assert tid != me and theirs >= min(19, mine + 10)          # Linux: per-thread nice
    assert nice_here()[1] == mine                               # the caller keeps its priority

    def fails():
        raise Cancelled()

    with pytest.raises(Cancelled):                              # Cancel reaches the caller's job runner
        run_at_low_priority(fails)
