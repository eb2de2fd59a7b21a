"""Routes of Open311 GeoReport v2. Reads are open to anyone, as the standard has them (they show nothing
personal; ``OPEN311_KEYLESS_READS = False`` asks a key for reading requests too); logging a request takes
the API key of a kiosk or system. Every answer, errors included, is in the format the
path asks for; requests are throttled per key, and per address for reads without one."""
from __future__ import annotations

from flask import current_app, request

from portal.domain import open311
from portal.domain.credentials import apikeys
from portal.domain.open311 import Open311Error
from portal.domain.platform import public_address, throttle, unit
from portal.extensions import csrf
from portal.open311 import bp
from portal.open311.formats import error, respond
from portal.web import NotUtf8, client_address
from portal.web.guards import public

FMT = "<any(xml, json):fmt>"
csrf.exempt(bp)  # API clients authenticate with their key, not with a session cookie


@bp.errorhandler(400)
def bad_request(problem):
    description = problem.description if isinstance(problem, NotUtf8) else "the request is malformed"
    return error(request.view_args.get("fmt", "xml") if request.view_args else "xml", 400, description)


@bp.errorhandler(Open311Error)
def open311_error(problem: Open311Error):
    response = error(request.view_args.get("fmt", "xml") if request.view_args else "xml", problem.status,
                     problem.description)
    if problem.status == 429:
        response.headers["Retry-After"] = "60"
    return response


def _throttle(key=None) -> None:
    config = current_app.config
    if key is not None:
        allowed = throttle.hit(f"api-key:{key.id}", config["OPEN311_KEY_RATE_PER_MINUTE"], 60)
    else:
        allowed = throttle.hit(f"open311-ip:{client_address()}", config["OPEN311_READ_RATE_PER_MINUTE"], 60)
    if not allowed:
        raise Open311Error(429, "too many requests; try again in a minute")


def _key():
    """The key of the request: ``api_key`` in the form or query string, or the password of HTTP Basic
    authentication (so that clients with no place for a key on reads, like georeport, use ~/.netrc)."""
    secret = request.form.get("api_key") or request.args.get("api_key")
    if not secret and request.authorization is not None:
        secret = request.authorization.password or request.authorization.token
    return apikeys.authenticate(secret)


def _jurisdiction() -> None:
    given = request.values.get("jurisdiction_id")
    if given and given != current_app.config["OPEN311_JURISDICTION"]:
        raise Open311Error(404, f"jurisdiction_id {given[:40]} not found")


def _read_throttle(keyed: bool = False) -> None:
    """Throttle a read. A key that is given must be valid; reads of service requests need one only where the
    deployment says so (``OPEN311_KEYLESS_READS``)."""
    _jurisdiction()
    key = _key()
    given = bool(request.args.get("api_key") or request.authorization)
    if key is None and (given or (keyed and not current_app.config["OPEN311_KEYLESS_READS"])):
        raise Open311Error(403, "api_key is missing, unknown or revoked")
    _throttle(key)


@bp.get("/discovery.<any(xml, json):fmt>")
@public
def discovery(fmt: str):
    """The discovery document: where the endpoint is and what it speaks."""
    base = public_address.base() or ""  # unset: the endpoint's path, never the address a request claims
    return respond(fmt, "discovery", {
        "changeset": "2026-11-28T00:00:00+08:00",
        "contact": current_app.config["OPEN311_CONTACT"],
        "key_service": "API keys are issued by the portal's administrators (目录管理 › 接口密钥); logging a "
                       "request needs one (api_key, or the password of HTTP Basic auth). Reading needs none.",
        "endpoints": [{
            "specification": "http://wiki.open311.org/GeoReport_v2",
            "url": base + "/open311/v2",
            "changeset": "2026-11-28T00:00:00+08:00",
            "type": "production",
            "formats": ["text/xml", "application/json"],
        }],
    })


@bp.get(f"/v2/services.{FMT}")
@public
def services(fmt: str):
    """GET the service list: the catalog's active items."""
    _read_throttle()
    return respond(fmt, "services", [{
        "service_code": item.code,
        "service_name": item.name_zh,
        "description": open311.notice(item),
        "metadata": bool(open311.attributes(item)),
        "type": "realtime",
        "keywords": open311.keywords(item),
        "group": item.category_zh,
    } for item in open311.services()])


@bp.get(f"/v2/services/<code>.{FMT}")
@public
def definition(code: str, fmt: str):
    """GET a service's definition (its attributes)."""
    _read_throttle()
    item = open311.service(code)
    return respond(fmt, "service_definition", {
        "service_code": item.code,
        "attributes": [{
            "variable": attribute.variable,
            "code": attribute.code,
            "datatype": attribute.datatype,
            "required": attribute.required,
            "datatype_description": attribute.datatype_description,
            "order": order,
            "description": attribute.description,
            **({"values": [{"key": key, "name": name} for key, name in attribute.values]} if attribute.values else {}),
        } for order, attribute in enumerate(open311.attributes(item), 1)],
    })


@bp.post(f"/v2/requests.{FMT}")
@public
def create(fmt: str):
    """POST requests: a kiosk or system logs a case with its API key."""
    _jurisdiction()
    key = _key()
    if key is None:
        raise Open311Error(403, "api_key is missing, unknown or revoked")
    _throttle(key)
    idempotency = open311.idempotency_key(request.headers.get("Idempotency-Key"), request.form)

    def log():  # commits the case with the key's last use; run again whole on a deadlock or a busy database
        return open311.submit(apikeys.in_use(key), request.form, idempotency)  # after the throttle's commit

    case, replayed = unit.with_retries(log)
    response = respond(fmt, "service_requests", [{
        "service_request_id": case.number,
        "token": open311.token_for(case),
        "service_notice": open311.notice(case.item),
        "account_id": "",
    }], 201)
    if replayed:  # a retry: the answer the first POST should have had
        response.headers["Idempotent-Replayed"] = "true"
    return response


@bp.get(f"/v2/requests.{FMT}")
@public
def requests_(fmt: str):
    """GET requests, filtered as GeoReport v2 says (nothing personal)."""
    _read_throttle(keyed=True)
    return respond(fmt, "service_requests", [open311.fields(case) for case in open311.find(request.args)])


@bp.get(f"/v2/requests/<number>.{FMT}")
@public
def one(number: str, fmt: str):
    """GET one request by its id (nothing personal)."""
    _read_throttle(keyed=True)
    return respond(fmt, "service_requests", [open311.fields(open311.one(number))])


@bp.get(f"/v2/tokens/<token>.{FMT}")
@public
def token(token: str, fmt: str):
    """GET the request id of a token a POST answered with."""
    _read_throttle(keyed=True)
    case = open311.case_for_token(token)
    return respond(fmt, "service_requests", [{"service_request_id": case.number, "token": token}])


@bp.route("/<path:rest>", methods=["GET", "POST"])
@public
def unknown(rest: str):
    """Any other path under the endpoint: a 404 in the spec's format."""
    fmt = "json" if rest.endswith(".json") else "xml"
    return error(fmt, 404, "no such resource; see /open311/discovery.xml")

