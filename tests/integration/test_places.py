"""The dispatcher's ways to find a spot: the local gazetteer, typed DMS coordinates,
and the desks' queue counts."""

import pytest
import shapely

pytestmark = pytest.mark.db


def _places(client, q, **params):
    r = client.get("/api/v1/places", query_string={"q": q} | params)
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def test_a_village_is_found_by_its_name_with_a_point_inside_it(client, demo_town):
    grids = demo_town.grids
    village = grids[grids.level == 2].iloc[3]
    found = _places(client, village["name"])
    first = found["grids"][0]
    # the exact name comes first, before grids whose names merely contain it
    assert (first["code"], first["level"]) == (village.code, 2)
    assert village.geometry.contains(shapely.Point(first["lon"], first["lat"]))


def test_a_household_is_found_by_its_address(client, demo_town):
    home = demo_town.households.iloc[40]
    found = _places(client, home.address)
    hit = found["households"][0]
    assert hit["label"] == home.address
    assert (round(hit["lon"], 6), round(hit["lat"], 6)) == (
        round(home.geometry.x, 6), round(home.geometry.y, 6))


def test_head_of_household_search_is_only_for_roles_that_see_names(
        as_user, demo_town):
    home = demo_town.households.iloc[123]
    dispatcher = _places(as_user("dispatcher"), home.head_name)
    assert home.head_name in [h["detail"] for h in dispatcher["households"]]
    # a leader sees masked names: searching by a name must not reveal who lives where
    leader = _places(as_user("leader"), home.head_name)
    assert all(h["label"] != home.address or home.head_name in h["label"]
               for h in leader["households"])
    assert all("*" in h["detail"] for h in leader["households"])
    # a viewer may not search at all
    assert as_user("viewer").get("/api/v1/places?q=1").status_code == 403


def test_places_stay_in_the_jurisdiction(as_user, demo_town):
    homes = demo_town.households
    elsewhere = homes[~homes.grid_code.str.startswith("320282105001")].iloc[0]
    found = _places(as_user("village1"), elsewhere.address)
    assert elsewhere.address not in [h["label"] for h in found["households"]]
    assert all(h["grid_code"].startswith("320282105001") for h in found["households"])


def test_an_empty_query_is_refused_by_name(client):
    r = client.get("/api/v1/places?q=%20")
    assert r.status_code == 400
    assert r.get_json()["error"]["field"] == "q"


def test_a_like_wildcard_in_the_query_matches_only_itself(client):
    assert _places(client, "%")["households"] == []


def test_coordinates_typed_in_degrees_minutes_seconds_locate(client, demo_town):
    micro = demo_town.grids[demo_town.grids.level == 4].iloc[5]
    p = micro.geometry.representative_point()

    def dms(value, hemi):
        d = int(value)
        m = int((value - d) * 60)
        s = (value - d - m / 60) * 3600
        return f"{d}°{m}'{s:.4f}\"{hemi}"

    r = client.get("/api/v1/locate", query_string={
        "lon": dms(p.x, "E"), "lat": dms(p.y, "N")})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["grids"][-1]["code"] == micro.code
    # Chinese notation too
    d, m = int(p.y), (p.y - int(p.y)) * 60
    r = client.get("/api/v1/locate", query_string={
        "lon": f"{p.x:.7f}", "lat": f"北纬{d}度{m:.5f}分"})
    assert r.get_json()["grids"][-1]["code"] == micro.code


def test_a_longitude_marked_north_is_called_swapped(client):
    r = client.get("/api/v1/locate", query_string={
        "lon": "31°34'12\"N", "lat": "120°16'E"})
    assert r.status_code == 400
    assert "swapped" in r.get_json()["error"]["message"]


def test_an_unreadable_angle_names_the_field(client):
    r = client.get("/api/v1/locate", query_string={"lon": "120°75'E", "lat": "31"})
    assert r.status_code == 400
    error = r.get_json()["error"]
    assert error["field"] == "lon" and "degrees-minutes-seconds" in error["message"]


def test_queue_counts_per_desk_match_the_incidents(client, demo_town):
    found = client.get("/api/v1/incidents/queues").get_json()
    assert [q["level"] for q in found["queues"]] == [1, 2, 3, 4]
    inc = demo_town.incidents
    micro_desk = found["queues"][3]
    at_4 = inc[inc.escalation_level == 4] if "escalation_level" in inc else inc
    assert micro_desk["to_triage"] == int((at_4.status == "registered").sum())
    assert micro_desk["awaiting_evaluation"] == int((at_4.status == "closed").sum())
    assert found["labels"]["overdue"][0] == "已超期"
    # the same counts as the list API gives for the same queue
    listed = client.get("/api/v1/incidents?level=4&status=dispatched,handling"
                        "&limit=1").get_json()
    assert listed["total"] == micro_desk["in_hand"]
