"""layers.grid_scope without a database: whose grids a user may edit, and the
last check on what an edit touches (security issue, item 1)."""

import pytest
import shapely

from geo.edit import Edit
from layers.access import Principal
from layers.errors import Forbidden
from layers.grid_scope import check_editable, refuse_outside

VILLAGE = "320282105001"
PLANNER = Principal("vplanner", "planner", grid_code=VILLAGE)
ADMIN = Principal("vadmin", "admin", grid_code=VILLAGE)
EVERYWHERE = Principal("admin", "admin")
SQUARE = shapely.box(120.0, 31.0, 120.01, 31.01)


@pytest.mark.parametrize(("principal", "code", "root_ok", "words"), [
    (PLANNER, VILLAGE, False, "root of your jurisdiction"),
    (ADMIN, VILLAGE, False, "root of your jurisdiction"),
    (PLANNER, "320282105", False, "lies above your jurisdiction"),
    (PLANNER, "320282105", True, "lies above your jurisdiction"),
])
def test_the_root_and_what_lies_above_are_refused(principal, code, root_ok, words):
    with pytest.raises(Forbidden, match=words) as caught:
        check_editable(principal, code, root_ok=root_ok)
    assert code in caught.value.message and caught.value.field == "code"


@pytest.mark.parametrize(("principal", "code", "root_ok"), [
    (PLANNER, VILLAGE + "001", False),      # below the root
    (PLANNER, VILLAGE + "001002", False),
    (PLANNER, VILLAGE, True),               # its children are edited
    (PLANNER, "320282105002001", False),    # elsewhere: the query answers 404
    (PLANNER, "", True),                    # no code: the query answers
    (EVERYWHERE, "320282105", False),
    (EVERYWHERE, VILLAGE, False),
])
def test_grids_below_the_root_may_be_edited(principal, code, root_ok):
    check_editable(principal, code, root_ok=root_ok)


def test_an_edit_touching_a_grid_outside_is_refused_naming_it():
    edit = Edit(changed={VILLAGE + "001": SQUARE, "320282105002001": SQUARE})
    with pytest.raises(Forbidden) as caught:
        refuse_outside(PLANNER, edit, edit.changed)
    assert caught.value.details["outside"] == ["320282105002001"]
    assert "320282105002001" in caught.value.message
    refuse_outside(EVERYWHERE, edit, edit.changed)


@pytest.mark.parametrize("edit", [
    Edit(created={VILLAGE: SQUARE}),                       # the root itself
    Edit(removed=["320282105002001"]),
    Edit(successor={VILLAGE + "001": "320282105002001"}),
    Edit(recoded={VILLAGE + "001": "320282105002004"}),
])
def test_every_kind_of_touch_counts(edit):
    with pytest.raises(Forbidden):
        refuse_outside(PLANNER, edit, edit.changed)


def test_an_edit_inside_passes():
    edit = Edit(changed={VILLAGE + "001": SQUARE}, removed=[VILLAGE + "002"],
                successor={VILLAGE + "002": VILLAGE + "001"},
                recoded={VILLAGE + "002001": VILLAGE + "001004"})
    refuse_outside(PLANNER, edit, edit.changed)
