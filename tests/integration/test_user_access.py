"""An administrator changes an account's role and jurisdiction (issue 16, Admin).

The rules already in force for accounts hold for the change: a scoped
administrator changes only the accounts of their subtree and grants only grids
of it, never the whole deployment; nobody changes their own role or grid; the
change ends the user's sessions and phones (the users trigger) and is audited.
The jurisdiction is picked by name (``/admin/grids``, the admin's subtree only).
Accounts left on a grid that a merge ended are listed for reassignment.
Real PostGIS, no mocks: a writable copy of the demo (``rw``).
"""

import re
from html import unescape

import psycopg
import pytest
from click.testing import CliRunner

from layers import grid_edit, jurisdictions, users
from layers.access import SYSTEM, Principal
from tests.conftest import ACCOUNT_PASSWORD, accounts_demo, log_in_form

pytestmark = pytest.mark.db

PASSWORD = ACCOUNT_PASSWORD


@pytest.fixture(scope="module")
def rw(databases, demo_town):
    """The accounts' demo (tests/conftest.py) with a second clerk in vclerk's
    grid."""
    return accounts_demo(databases, demo_town, {"vclerk2": "inside"})


def refusal(r):
    found = re.search(r'<p class="error" role="status">([^<]*)</p>',
                      r.get_data(as_text=True))
    assert found, r.get_data(as_text=True)[:500]
    return unescape(found.group(1))


def user(rw, name):
    with psycopg.connect(rw.url) as c:
        return users.get_user(c, name)


def log_in(app, username):
    c, r = log_in_form(app, username)
    assert r.status_code == 302
    return c


def test_an_admin_changes_role_and_jurisdiction_audited_and_logged_out(rw):
    browser = log_in(rw.app, "vclerk2")
    assert browser.get("/").status_code == 200
    r = rw.client("admin").post("/admin/users/vclerk2/access",
                                data={"role": "leader", "grid": rw.village})
    assert r.status_code == 302
    after = user(rw, "vclerk2")
    assert (after["role"], after["grid_code"]) == ("leader", rw.village)
    # the session died on the server (the users trigger)
    again = browser.get("/")
    assert again.status_code == 302 and "/login" in again.headers["Location"]
    with psycopg.connect(rw.url) as c:
        row = c.execute(
            "SELECT username, before, after, grid_code FROM audit"
            " WHERE table_name = 'users' AND row_key = 'vclerk2'"
            " AND action = 'update' ORDER BY id DESC LIMIT 1").fetchone()
    assert row == ("admin", {"role": "dispatcher", "grid_code": rw.inside},
                   {"role": "leader", "grid_code": rw.village}, rw.village)


def test_the_same_values_again_change_and_write_nothing(rw):
    with psycopg.connect(rw.url) as c:
        before = c.execute("SELECT count(*) FROM audit").fetchone()[0]
        current = users.get_user(c, "oclerk")
        assert users.set_access(c, SYSTEM, "oclerk", current["role"],
                                current["grid_code"]) is False
        assert c.execute("SELECT count(*) FROM audit").fetchone()[0] == before


def test_a_scoped_admin_grants_only_inside_never_global_never_outside(rw):
    c = rw.client("vadmin")
    for grid in ("", rw.town, rw.other, rw.other + "001"):
        r = c.post("/admin/users/vclerk/access", data={"role": "admin", "grid": grid})
        assert r.status_code == 403, (grid, r.status_code)
        assert "管辖范围" in refusal(r) and "jurisdiction" in refusal(r)
    # an account outside, and one's own account, whatever the values
    r = c.post("/admin/users/oclerk/access", data={"role": "viewer",
                                                   "grid": rw.village})
    assert r.status_code == 403 and "oclerk" in refusal(r)
    r = c.post("/admin/users/vadmin/access", data={"role": "admin", "grid": rw.inside})
    assert r.status_code == 403 and "自己" in refusal(r)
    assert (user(rw, "vclerk")["role"], user(rw, "vclerk")["grid_code"]) == (
        "dispatcher", rw.inside)
    assert user(rw, "oclerk")["grid_code"] == rw.other
    assert user(rw, "vadmin")["grid_code"] == rw.village
    # inside the village: done
    ok = c.post("/admin/users/vclerk/access", data={"role": "field_worker",
                                                    "grid": rw.village})
    assert ok.status_code == 302
    assert user(rw, "vclerk")["role"] == "field_worker"


@pytest.mark.parametrize(("data", "field", "status"), [
    ({"role": "boss", "grid": ""}, "role", 400),
    ({"role": "viewer", "grid": "12x"}, "(grid)", 400),
    ({"role": "viewer", "grid": "999999999"}, "no grid with code 999999999", 400),
])
def test_bad_role_or_grid_is_refused_naming_it(rw, data, field, status):
    r = rw.client("admin").post("/admin/users/oclerk/access", data=data)
    assert r.status_code == status and field in refusal(r)
    assert user(rw, "oclerk")["role"] == "dispatcher"


def test_an_unknown_account_is_a_404(rw):
    r = rw.client("admin").post("/admin/users/nobody-here/access",
                                data={"role": "viewer", "grid": ""})
    assert r.status_code == 404


def test_the_picker_finds_grids_by_name_in_the_subtree_only(rw):
    village, other = rw.names[rw.village], rw.names[rw.other]
    mine = rw.client("vadmin").get("/admin/grids?q=" + village).get_json()["items"]
    assert mine and mine[0]["code"] == rw.village  # the exact name first
    assert mine[0]["chain"] == [rw.names[rw.town], village]
    assert all(i["code"].startswith(rw.village) for i in mine)
    # another village's name: nothing for the scoped admin, found for the global one
    assert rw.client("vadmin").get("/admin/grids?q=" + other).get_json() == {
        "items": []}
    found = rw.client("admin").get("/admin/grids?q=" + other).get_json()["items"]
    assert found[0]["code"] == rw.other
    # a micro-grid's chain names every level from the town down
    micro = next(i for i in mine if i["level"] == 4)
    assert len(micro["chain"]) == 4 and micro["chain"][1] == village


def test_a_picker_search_too_long_is_a_400_naming_q(rw):
    r = rw.client("admin").get("/admin/grids?q=" + "村" * 61)
    assert r.status_code == 400 and r.get_json()["error"]["field"] == "q"


def _neighbours(rw):
    """Two adjacent micro-grids of one comprehensive grid of village A."""
    with psycopg.connect(rw.url) as c:
        return c.execute(
            "SELECT a.code, b.code, a.version, b.version FROM grids a JOIN grids b"
            " ON a.parent_code = b.parent_code AND a.code < b.code"
            " AND ST_Length(ST_Intersection(ST_Boundary(a.geom), ST_Boundary(b.geom)))"
            "  > 0.0005"
            " WHERE a.level = 4 AND a.code LIKE %s ORDER BY a.code DESC LIMIT 1",
            (rw.village + "%",)).fetchone()


def test_accounts_on_a_merged_grid_are_listed_and_reassigned(rw):
    keep, gone, v_keep, v_gone = _neighbours(rw)
    with psycopg.connect(rw.url) as c:
        users.add_user(c, SYSTEM, "stranded", "field_worker", gone, PASSWORD)
        users.add_user(c, SYSTEM, "stranded_b", "viewer", gone, PASSWORD)
        grid_edit.merge(c, SYSTEM, [keep, gone], {keep: v_keep, gone: v_gone})
        assert users.get_user(c, "stranded")["grid_code"] == gone  # not widened
        found = {o["username"]: o for o in jurisdictions.orphaned(c, SYSTEM)}
        scoped = jurisdictions.orphaned(c, Principal("vadmin", "admin", rw.village))
        outside = jurisdictions.orphaned(c, Principal("x", "admin", rw.other))
    assert {"stranded", "stranded_b"} <= set(found)
    o = found["stranded"]
    assert o["grid_code"] == gone and o["old_name"] == rw.names[gone]
    assert [g["code"] for g in o["now"]] == [keep]
    assert o["now"][0]["chain"][-1] == rw.names[keep]
    assert {"stranded", "stranded_b"} <= {s["username"] for s in scoped}
    assert outside == []
    # the page lists them, with a button to the grid the old one went into
    html = unescape(rw.client("vadmin").get("/admin/users").get_data(as_text=True))
    section = html.split('id="orphaned"')[1].split("</section>")[0]
    assert "stranded" in section and gone in section and rw.names[keep] in section
    # so does the command line
    from web.cli import main
    out = CliRunner().invoke(main, ["user", "list"],
                             env={"GRIDGOV_DATABASE_URL": rw.url}).output
    line = next(ln for ln in out.splitlines() if ln.startswith("stranded\t"))
    assert "grid gone" in line and keep in line
    # reassigned from the page: off the list
    r = rw.client("vadmin").post("/admin/users/stranded/access",
                                 data={"role": "field_worker", "grid": keep})
    assert r.status_code == 302
    html = rw.client("vadmin").get("/admin/users").get_data(as_text=True)
    assert 'data-orphan="stranded"' not in html
    assert 'data-orphan="stranded_b"' in html
    # and from the command line
    done = CliRunner().invoke(main, ["user", "access", "stranded_b", "--grid", keep],
                              env={"GRIDGOV_DATABASE_URL": rw.url})
    assert done.exit_code == 0, done.output
    assert user(rw, "stranded_b")["grid_code"] == keep
    assert user(rw, "stranded_b")["role"] == "viewer"


def test_the_new_user_form_does_not_default_to_admin(rw):
    html = rw.client("admin").get("/admin/users").get_data(as_text=True)
    form = html.split('class="filters new-user"')[1].split("</form>")[0]
    selected = re.findall(r'<option value="(\w+)" selected>', form)
    assert selected == ["viewer"]
    # and the jurisdiction is picked by name: no text box for a code
    assert re.search(r'<input type="hidden" name="grid" value="">', form)
    assert not re.search(r'<input name="grid"', form)
