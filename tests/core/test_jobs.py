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
