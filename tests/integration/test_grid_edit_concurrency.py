"""Two planners redraw neighbouring grids at the same moment (security issue,
item 9): the second waits for the first and gets the documented 409, never a
deadlock (a 500)."""

import threading

import pytest
from shapely.geometry import mapping

from tests.conftest import writable_demo
from tests.integration.test_grid_edit import _grown, _pairs
from tests.integration.test_grid_edit_upper import _version

pytestmark = pytest.mark.db

ROUNDS = 5


@pytest.fixture(scope="module")
def rw(databases, demo_town):
    return writable_demo(databases, demo_town)


def _disjoint_pairs(grids, level, count):
    """``count`` pairs of adjacent siblings, no grid in two pairs."""
    used, out = set(), []
    for a, b, ga, gb in _pairs(grids, level):
        if not {a, b} & used:
            used |= {a, b}
            out.append((a, b, ga, gb))
        if len(out) == count:
            return out
    raise AssertionError("not enough pairs")


def _at_once(rw, edits):
    """Send the PUTs ``edits`` ({code: body}) from one thread each, released
    together; return {code: (status, body)}."""
    start = threading.Barrier(len(edits))
    answers = {}

    def put(code, body):
        client = rw.client("admin")
        start.wait()
        r = client.put(f"/api/v1/grids/{code}", json=body)
        answers[code] = (r.status_code, r.get_json())

    threads = [threading.Thread(target=put, args=item) for item in edits.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "an edit never returned"
    return answers


@pytest.mark.parametrize("level", [4, 3])
def test_concurrent_redraws_of_neighbours_queue(rw, demo_town, level):
    """Each of two neighbours is grown into the other at the same moment, a few
    times over: whichever saves first wins; the other finds its own grid changed
    (it gave up the strip) and gets 409 with the current version."""
    rounds = ROUNDS if level == 4 else 2
    for a, b, ga, gb in _disjoint_pairs(demo_town.grids, level, rounds):
        edits = {a: {"geometry": mapping(_grown(ga, gb)[0]), "version": 1},
                 b: {"geometry": mapping(_grown(gb, ga)[0]), "version": 1}}
        answers = _at_once(rw, edits)
        statuses = sorted(status for status, _ in answers.values())
        assert statuses == [200, 409], answers
        (loser,) = [c for c, (status, _) in answers.items() if status == 409]
        error = answers[loser][1]["error"]
        assert error["field"] == "version"
        assert error["current_version"] == _version(rw, loser) == 2
