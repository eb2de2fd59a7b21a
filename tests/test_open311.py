"""Open311 GeoReport v2: every endpoint in XML and JSON, each error as the spec answers it, nothing
personal in any read, the georeport client from PyPI, and random bodies that never cause a 500."""
import base64
import json
from datetime import timedelta
from xml.etree import ElementTree as ET

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal import clock
from portal.domain.cases import lifecycle
from portal.domain.credentials import apikeys
from portal.extensions import db
from portal.models import ApiKey, Case, CaseEvent, Channel, EventKind, ServicePoint
from tests.stories import at

V2 = "/open311/v2"


@pytest.fixture
def kiosk(world):
    point = db.session.scalars(sa.select(ServicePoint).filter_by(code="LS-P01")).one()
    key, secret = apikeys.create(None, point, "kiosk-1", actor_name="test")
    world.key, world.secret = key, secret
    return world


def body(response, fmt):
    if fmt == "json":
        return json.loads(response.data)
    return ET.fromstring(response.data)


def post(client, secret, fmt="json", headers=None, **fields):
    data = {"api_key": secret, "service_code": "CV05", "address_id": "H01", "description": "帮我代购降压药",
            "first_name": "大爷", "last_name": "王", "phone": "13912345678", **fields}
    return client.post(f"{V2}/requests.{fmt}", data={k: v for k, v in data.items() if v is not None},
                       headers=headers or {})


def basic(secret):
    return {"Authorization": "Basic " + base64.b64encode(f"kiosk:{secret}".encode()).decode()}


def errors(response, fmt):
    if fmt == "json":
        return [(e["code"], e["description"]) for e in json.loads(response.data)]
    root = ET.fromstring(response.data)
    assert root.tag == "errors"
    return [(int(e.findtext("code")), e.findtext("description")) for e in root.findall("error")]


# --- discovery and services ------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_discovery_names_the_v2_endpoint_and_its_formats(client, ctx, fmt):
    response = client.get(f"/open311/discovery.{fmt}")
    assert response.status_code == 200
    if fmt == "json":
        endpoint = json.loads(response.data)["endpoints"][0]
        assert endpoint["url"].endswith("/open311/v2") and "application/json" in endpoint["formats"]
    else:
        root = ET.fromstring(response.data)
        assert root.tag == "discovery"
        assert root.find("endpoints/endpoint/specification").text == "http://wiki.open311.org/GeoReport_v2"
        assert [f.text for f in root.findall("endpoints/endpoint/formats/format")] == ["text/xml", "application/json"]


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_the_service_list_comes_from_the_catalog(client, world, fmt):
    response = client.get(f"{V2}/services.{fmt}")
    assert response.status_code == 200
    assert response.content_type.startswith("text/xml" if fmt == "xml" else "application/json")
    if fmt == "json":
        services = {s["service_code"]: s for s in json.loads(response.data)}
        ca01 = services["CA01"]
        assert (ca01["service_name"], ca01["group"], ca01["type"], ca01["metadata"]) == ("最低生活保障申请", "民政",
                                                                                          "realtime", True)
        assert "CA01" in ca01["keywords"] and "身份证" in ca01["description"]
    else:
        root = ET.fromstring(response.data)
        assert root.tag == "services"
        ca01 = next(s for s in root.findall("service") if s.findtext("service_code") == "CA01")
        assert (ca01.findtext("metadata"), ca01.findtext("group")) == ("true", "民政")
    assert len(services if fmt == "json" else root.findall("service")) == 44


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_a_service_definition_lists_its_attributes(client, world, fmt):
    response = client.get(f"{V2}/services/CA01.{fmt}")
    assert response.status_code == 200
    if fmt == "json":
        definition = json.loads(response.data)
        (materials,) = definition["attributes"]
        assert definition["service_code"] == "CA01"
        assert (materials["code"], materials["datatype"], materials["required"], materials["order"]) == (
            "materials", "multivaluelist", False, 1)
        assert materials["variable"] is True and materials["datatype_description"]
        assert materials["values"][0] == {"key": "m1", "name": "身份证"}
    else:
        root = ET.fromstring(response.data)
        assert root.tag == "service_definition"
        attribute = root.find("attributes/attribute")
        assert attribute.findtext("code") == "materials" and attribute.findtext("required") == "false"
        assert [v.findtext("name") for v in attribute.findall("values/value")][:2] == ["身份证", "户口簿"]


def test_a_home_visit_service_asks_for_a_preferred_time(client, world):
    definition = json.loads(client.get(f"{V2}/services/SS04.json").data)
    codes = {a["code"]: a for a in definition["attributes"]}
    assert codes["preferred_time"]["datatype"] == "singlevaluelist"


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_an_unknown_service_is_404_in_the_spec_format(client, world, fmt):
    response = client.get(f"{V2}/services/NOPE.{fmt}")
    assert response.status_code == 404
    assert errors(response, fmt) == [(404, "service_code NOPE not found")]


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_an_unknown_resource_is_404_in_the_spec_format(client, ctx, fmt):
    response = client.get(f"{V2}/nothing.{fmt}")
    assert response.status_code == 404 and errors(response, fmt)[0][0] == 404


# --- posting a request ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_a_kiosk_logs_a_request_at_its_point(client, kiosk, fmt):
    response = post(client, kiosk.secret, fmt, **{"attribute[materials][]": ["m1", "m2"]}, service_code="CV05",
                    address_id=kiosk.household.code)
    assert response.status_code == 201
    if fmt == "json":
        (answer,) = json.loads(response.data)
        number, token, notice = answer["service_request_id"], answer["token"], answer["service_notice"]
    else:
        request = ET.fromstring(response.data).find("request")
        number, token, notice = (request.findtext(n) for n in ("service_request_id", "token", "service_notice"))
    case = db.session.scalars(sa.select(Case).filter_by(number=number)).one()
    assert (case.channel, case.service_point.code, case.requester_name) == (Channel.KIOSK, "LS-P01", "王大爷")
    assert case.household_id == kiosk.household.id and case.place.code == "H01"
    assert "帮我代购降压药" in case.description and "处方或药品清单、医保卡" in case.description
    assert "代办" in notice and token
    logged = db.session.scalars(sa.select(CaseEvent).filter_by(case_id=case.id, kind=EventKind.LOGGED)).one()
    assert logged.actor_id is None and logged.actor_label == "kiosk"
    assert db.session.get(ApiKey, kiosk.key.id).last_used_at is not None


def test_a_keys_last_use_is_noted_once_a_minute_so_its_cases_do_not_queue_on_its_row(client, kiosk, monkeypatch):
    def last_use(*moment):
        at(monkeypatch, *moment)
        assert post(client, kiosk.secret).status_code == 201
        db.session.expire_all()
        return db.session.get(ApiKey, kiosk.key.id).last_used_at

    first = last_use(2026, 12, 2, 9, 0, 0)
    assert last_use(2026, 12, 2, 9, 0, 40) == first  # within the minute: the key's row is not written
    assert last_use(2026, 12, 2, 9, 1, 0) > first


def test_a_retry_with_the_same_idempotency_key_answers_the_first_case(client, kiosk):
    first = post(client, kiosk.secret, headers=None)
    assert first.status_code == 201  # no key: each POST is a case of its own
    keyed = client.post(f"{V2}/requests.json", headers={"Idempotency-Key": "kiosk-1:0001"},
                        data={"api_key": kiosk.secret, "service_code": "CV05", "address_id": "H01", "phone": "13912345678",
                              "description": "帮我代购降压药"})
    again = client.post(f"{V2}/requests.json", headers={"Idempotency-Key": "kiosk-1:0001"},
                        data={"api_key": kiosk.secret, "service_code": "CV05", "address_id": "H01", "phone": "13912345678",
                              "description": "帮我代购降压药"})
    assert keyed.status_code == again.status_code == 201
    assert json.loads(again.data) == json.loads(keyed.data) and again.headers["Idempotent-Replayed"] == "true"
    by_attribute = post(client, kiosk.secret, **{"attribute[idempotency_key]": "kiosk-1:0001"})
    assert json.loads(by_attribute.data)[0]["service_request_id"] == json.loads(keyed.data)[0]["service_request_id"]
    other = post(client, kiosk.secret, **{"attribute[idempotency_key]": "kiosk-1:0002"})
    assert json.loads(other.data)[0]["service_request_id"] != json.loads(keyed.data)[0]["service_request_id"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Case)) == 3
    bad = post(client, kiosk.secret, **{"attribute[idempotency_key]": "有空格 的键"})
    assert bad.status_code == 400 and "Idempotency-Key" in errors(bad, "json")[0][1]


@pytest.mark.parametrize("encode", ["percent", "raw"])
def test_a_body_in_gbk_is_refused_saying_so_and_nothing_is_logged(client, kiosk, encode):
    from urllib.parse import quote_from_bytes

    description = "帮我代购降压药".encode("gbk")
    value = quote_from_bytes(description) if encode == "percent" else description
    data = b"api_key=" + kiosk.secret.encode() + b"&service_code=CV05&address_id=H01&phone=13912345678&description="
    response = client.post(f"{V2}/requests.json", data=data + (value.encode() if isinstance(value, str) else value),
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400 and "UTF-8" in errors(response, "json")[0][1]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Case)) == 0


def test_an_errand_from_a_kiosk_goes_to_the_point_of_the_residents_place(client, kiosk, make):
    h02 = make.household(kiosk.h02, address="沙嘴1号", phone="13911112222", residents=("李阿姨",))
    number = json.loads(post(client, kiosk.secret, address_id=h02.code, phone="13911112222").data)[0][
        "service_request_id"]
    assert db.session.scalars(sa.select(Case).filter_by(number=number)).one().service_point.code == "LS-P02"


def test_an_address_a_place_code_or_coordinates_locate_a_request(client, kiosk):
    for location in ({"address_id": "H01"}, {"address_string": "灵山岛码头"}, {"lat": "35.77", "long": "120.17"}):
        response = post(client, kiosk.secret, **{"address_id": None, **location})
        assert response.status_code == 201, (location, response.data)


@pytest.mark.parametrize("fmt", ["xml", "json"])
@pytest.mark.parametrize("fields, status, says", [
    ({"api_key": None}, 403, "api_key"),
    ({"api_key": "p311_wrong"}, 403, "api_key"),
    ({"service_code": None}, 400, "service_code is required"),
    ({"service_code": "XX99"}, 404, "service_code XX99 not found"),
    ({"jurisdiction_id": "elsewhere"}, 404, "jurisdiction_id"),
    ({"address_id": None}, 400, "a location is required"),
    ({"address_id": "NOWHERE"}, 400, "address_id NOWHERE"),
    ({"address_id": None, "lat": "north", "long": "1"}, 400, "lat and long"),
    ({"phone": "12345"}, 400, "requester_phone"),
    ({"phone": None}, 400, "requester_phone"),
    ({"description": "长" * 4001}, 400, "description"),
    ({"attribute[materials][]": "m99"}, 400, "attribute[materials]"),
])
def test_each_bad_request_gets_the_spec_error(client, kiosk, fmt, fields, status, says):
    response = post(client, kiosk.secret, fmt, **fields)
    assert response.status_code == status
    ((code, description),) = errors(response, fmt)
    assert code == status and says in description
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Case)) == 0


def test_a_revoked_key_is_refused(client, kiosk):
    apikeys.revoke(None, db.session.get(ApiKey, kiosk.key.id), actor_name="test")
    assert post(client, kiosk.secret).status_code == 403


def test_a_key_is_rate_limited(client, kiosk, app):
    app.config["OPEN311_KEY_RATE_PER_MINUTE"] = 2
    assert [post(client, kiosk.secret).status_code for _ in range(3)] == [201, 201, 429]
    assert errors(post(client, kiosk.secret), "json")[0][0] == 429


def test_reads_without_a_key_are_rate_limited_per_address(client, world, app):
    app.config["OPEN311_READ_RATE_PER_MINUTE"] = 3
    assert [client.get(f"{V2}/services.json").status_code for _ in range(4)] == [200, 200, 200, 429]


def test_a_post_needs_no_csrf_token(app, kiosk):
    app.config["WTF_CSRF_ENABLED"] = True
    assert post(app.test_client(), kiosk.secret).status_code == 201


# --- reading requests ---------------------------------------------------------------------------------------------

@pytest.fixture
def logged(client, kiosk):
    numbers = [json.loads(post(client, kiosk.secret).data)[0]["service_request_id"] for _ in range(3)]
    case = db.session.scalars(sa.select(Case).filter_by(number=numbers[0])).one()
    lifecycle.claim(case, kiosk.proxy)
    lifecycle.start(case, kiosk.proxy)
    lifecycle.resolve(case, kiosk.proxy, "药已送到王大爷家")
    kiosk.numbers = numbers
    return kiosk


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_requests_carry_the_spec_fields_and_nothing_personal(client, logged, fmt):
    response = client.get(f"{V2}/requests.{fmt}?api_key={logged.secret}")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    for personal in ("王大爷", "13912345678", "5678", "东岙8号", "帮我代购降压药", "药已送到"):
        assert personal not in text
    if fmt == "json":
        rows = {r["service_request_id"]: r for r in json.loads(text)}
        first = rows[logged.numbers[0]]
    else:
        rows = {r.findtext("service_request_id"): {c.tag: c.text for c in r}
                for r in ET.fromstring(response.data).findall("request")}
        first = rows[logged.numbers[0]]
    assert set(rows) == set(logged.numbers)
    assert (first["status"], first["service_code"], first["agency_responsible"]) == ("closed", "CV05", "东岙便民驿站")
    assert (first["address"], first["address_id"], first["status_notes"]) == ("东岙", "H01", "已办结，等待回访")
    assert first["requested_datetime"].endswith("+08:00")
    # Resolved: nothing is expected of it any more; an open one says when it is expected.
    assert not first["expected_datetime"] and rows[logged.numbers[1]]["expected_datetime"].endswith("+08:00")
    assert rows[logged.numbers[1]]["status"] == "open"


def test_requests_filter_by_id_service_status_and_dates(client, logged):
    def ids(query):
        response = client.get(f"{V2}/requests.json?{query}", headers=basic(logged.secret))
        return [r["service_request_id"] for r in json.loads(response.data)]

    first, second, third = logged.numbers
    assert ids(f"service_request_id={third},{first}&status=open") == [third, first]  # ids override the rest
    assert sorted(ids("status=open")) == sorted([second, third])
    assert ids("status=closed") == [first]
    assert ids("service_code=CA01") == []
    assert len(ids("service_code=CA01,CV05")) == 3
    today = clock.local(clock.now()).date()
    assert ids(f"start_date={today - timedelta(days=100)}T00:00:00%2B08:00&end_date={today - timedelta(days=20)}T00:00:00Z") == []
    assert len(ids(f"start_date={today}T00:00:00%2B08:00")) == 3
    assert len(ids(f"start_date={today - timedelta(days=2)}&end_date={today}")) == 3  # a date alone: the whole day


@pytest.mark.parametrize("query, says", [
    ("start_date=2026-01-01T00:00:00Z&end_date=2026-06-01T00:00:00Z", "90 days"),
    ("end_date=0001-01-02T00:00:00Z", "W3C"),
    ("start_date=9999-12-31T23:00:00-12:00", "W3C"),
    ("start_date=2026-06-01T00:00:00Z&end_date=2026-05-01T00:00:00Z", "before"),
    ("start_date=yesterday", "W3C"),
    ("status=pending", "open or closed"),
])
def test_bad_request_queries_are_400(client, kiosk, query, says):
    for fmt in ("xml", "json"):
        response = client.get(f"{V2}/requests.{fmt}?{query}&api_key={kiosk.secret}")
        assert response.status_code == 400 and says in errors(response, fmt)[0][1]


def test_requests_default_to_90_days_and_at_most_1000(client, kiosk, make, monkeypatch):
    world = kiosk
    point = db.session.scalars(sa.select(ServicePoint).filter_by(code="LS-P01")).one()
    at(monkeypatch, 2026, 7, 1, 9)
    make.cases(1, world.plain_errand, world.h01, point)  # five months ago
    at(monkeypatch, 2026, 11, 27, 9)
    make.cases(1001, world.plain_errand, world.h01, point)
    assert len(json.loads(client.get(f"{V2}/requests.json?api_key={kiosk.secret}").data)) == 1000


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_one_request_and_its_token(client, logged, fmt):
    number = logged.numbers[1]
    response = client.get(f"{V2}/requests/{number}.{fmt}")  # a standard client reads without a key
    assert response.status_code == 200
    found = json.loads(response.data)[0] if fmt == "json" else {
        c.tag: c.text for c in ET.fromstring(response.data).find("request")}
    assert found["service_request_id"] == number and found["status"] == "open"
    missing = client.get(f"{V2}/requests/LS-20990101-0001.{fmt}")
    assert missing.status_code == 404 and errors(missing, fmt)[0][0] == 404

    token = json.loads(post(client, logged.secret).data)[0]["token"]
    answer = client.get(f"{V2}/tokens/{token}.{fmt}")
    assert answer.status_code == 200
    assert (json.loads(answer.data)[0]["service_request_id"] if fmt == "json"
            else ET.fromstring(answer.data).findtext("request/service_request_id")).startswith("LS-")
    forged = client.get(f"{V2}/tokens/{token.split('-')[0]}-0000000000000000.{fmt}")
    assert forged.status_code == 404
    assert client.get(f"{V2}/tokens/1-é.{fmt}").status_code == 404 and client.get(f"{V2}/tokens/١-ab.{fmt}").status_code == 404


# --- the georeport client from PyPI, against a served portal -----------------------------------------------

def test_the_georeport_client_reads_services_definitions_and_requests(app, logged, tmp_path, monkeypatch):
    """The client from PyPI, unchanged: it has no place for a key on reads, so it authenticates the way
    any HTTP client can, with the key as the password of a ~/.netrc entry."""
    from georeport import GeoReport

    from tests.live import LiveServer

    netrc = tmp_path / "netrc"
    netrc.write_text(f"machine 127.0.0.1 login kiosk-1 password {logged.secret}\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    with LiveServer(app) as server:
        for fmt in ("json", "xml"):
            client = GeoReport(f"{server.url}/open311/v2", output_format=fmt)
            services = client.get_service_list()
            assert any(s["service_code"] == "CV05" for s in services)
            definition = client.get_service_definition("CA01")
            assert definition["service_code"] == "CA01"
            requests = client.get_service_requests(status="open")
            requests = requests if isinstance(requests, list) else [requests]
            assert {r["service_request_id"] for r in requests} == set(logged.numbers[1:])
            one = client.get_service_request(logged.numbers[0])
            assert one["status"] == "closed" and one["agency_responsible"] == "东岙便民驿站"


# --- fuzzing --------------------------------------------------------------------------------------------

FIELDS = ["api_key", "service_code", "address_string", "address_id", "lat", "long", "description", "first_name",
          "last_name", "phone", "email", "attribute[materials][]", "attribute[preferred_time]", "device_id"]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(form=st.dictionaries(st.sampled_from(FIELDS), st.one_of(
    st.text(max_size=60), st.sampled_from(["CV05", "CA01", "SS04", "H01", "13912345678", "m1", "-1e999",
                                           "nan", "99", "\x00", "' OR 1=1 --", "HH1"])), max_size=10),
       fmt=st.sampled_from(["xml", "json"]), with_key=st.booleans())
def test_random_post_bodies_never_cause_a_server_error(client, kiosk, form, fmt, with_key):
    if with_key:
        form = {**form, "api_key": kiosk.secret}
    response = client.post(f"{V2}/requests.{fmt}", data=form)
    assert response.status_code in (201, 400, 403, 404, 429), response.data
    if response.status_code != 201:
        assert errors(response, fmt)[0][0] == response.status_code


def test_reads_take_no_key_unless_the_deployment_asks_for_one(client, logged, app):
    assert client.get(f"{V2}/services.xml").status_code == 200
    assert client.get(f"{V2}/requests.xml").status_code == 200  # GeoReport v2's GET methods take no key
    assert client.get(f"{V2}/requests.xml", headers=basic("p311_wrong")).status_code == 403  # a wrong one is said
    app.config["OPEN311_KEYLESS_READS"] = False
    refused = client.get(f"{V2}/requests.xml")
    assert refused.status_code == 403 and "api_key" in errors(refused, "xml")[0][1]
    assert client.get(f"{V2}/services.xml").status_code == 200  # the catalog stays open
    assert client.get(f"{V2}/requests.xml?jurisdiction_id=xihaian", headers=basic(logged.secret)).status_code == 200


@pytest.mark.parametrize("method", ["DELETE", "PUT"])
def test_other_methods_and_paths_answer_in_the_spec_format(client, ctx, method):
    response = client.open(f"{V2}/services.json", method=method)
    assert response.status_code == 405 and errors(response, "json")[0][0] == 405
    assert errors(client.get("/open311/elsewhere.xml"), "xml")[0][0] == 404


def test_a_throttled_client_is_told_when_to_retry(client, kiosk, app):
    app.config["OPEN311_KEY_RATE_PER_MINUTE"] = 1
    post(client, kiosk.secret)
    assert post(client, kiosk.secret).headers["Retry-After"] == "60"
