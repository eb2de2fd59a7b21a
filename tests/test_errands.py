"""Proxy errands: the limit, document custody, readiness, the manifest and the round trip."""
from datetime import date

import pytest
import sqlalchemy as sa
from sqlalchemy.orm.attributes import set_committed_value

from portal.domain import Conflict, DomainError, NotFound, errands
from portal.domain.cases import attachments, lifecycle, timekeeping
from portal.domain.platform import files
from portal.extensions import db
from portal.models import (
    Attachment,
    CalendarDay,
    CaseMaterial,
    CaseStatus,
    DayKind,
    EventKind,
    Holder,
    MaterialHandover,
    ServiceItem,
    ServicePoint,
)
from tests.stories import claimed, events, log, signed

S = CaseStatus


def _collect_all(case, proxy):
    errands.collect(case, proxy, [m.id for m in case.materials], "王大爷", signature=signed())


def _item(code):
    return db.session.scalars(sa.select(ServiceItem).filter_by(code=code)).one()


def test_logging_an_errand_lists_its_documents_with_the_resident(world):
    case = log(world)
    assert [m.name for m in case.materials] == world.errand_item.material_list
    assert {m.holder for m in case.materials} == {Holder.RESIDENT}


def test_a_proxy_holds_at_most_the_configured_number_of_open_errands(app, world):
    app.config["ERRAND_LIMIT"] = 2
    claimed(world)
    claimed(world)
    third = log(world)
    with pytest.raises(DomainError) as raised:
        lifecycle.claim(third, world.proxy)
    assert "2 件未办结" in str(raised.value.message)
    lifecycle.claim(third, world.staff)  # staff are not limited
    assigned = log(world)
    lifecycle.assign(assigned, world.lead, world.proxy)  # a lead may still reassign to them
    lifecycle.claim(assigned, world.proxy)


def test_documents_move_only_along_the_round_trip_and_each_move_is_kept(world):
    case = claimed(world)
    first = case.materials[0]
    with pytest.raises(DomainError):
        errands.hand_over(case, world.proxy, [first], Holder.OFFICE, "办事员", signature=signed())  # resident -> office: no
    errands.collect(case, world.proxy, [first.id], "王大爷", signature=signed())
    assert first.holder is Holder.PROXY and first.holder_user_id == world.proxy.id
    moves = db.session.scalars(sa.select(MaterialHandover).filter_by(material_id=first.id)).all()
    assert [(m.from_holder, m.to_holder, m.confirmed_by) for m in moves] == [(Holder.RESIDENT, Holder.PROXY, "王大爷")]
    assert events(case)[-1].kind is EventKind.MATERIALS and case.status is S.IN_PROGRESS


def test_no_document_is_in_two_hands_at_once(world):
    case = claimed(world)
    first = case.materials[0]
    assert first.holder is Holder.RESIDENT  # what this page shows
    # Meanwhile, on another phone, the same document was recorded as collected.
    db.session.execute(sa.update(CaseMaterial).where(CaseMaterial.id == first.id)
                       .values(holder=Holder.PROXY, holder_user_id=world.proxy.id))
    db.session.commit()
    set_committed_value(first, "holder", Holder.RESIDENT)  # this request still believes what it loaded
    with pytest.raises(Conflict):
        errands.hand_over(case, world.proxy, [first], Holder.PROXY, "王大爷", signature=signed())
    holders = db.session.execute(sa.select(CaseMaterial.holder).where(CaseMaterial.id == first.id)).scalars().all()
    assert holders == [Holder.PROXY]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(MaterialHandover)) == 0


def test_a_handover_needs_a_confirmation(world):
    case = claimed(world)
    with pytest.raises(DomainError) as raised:
        errands.collect(case, world.proxy, [case.materials[0].id], "  ", signature=signed())
    assert raised.value.field == "confirmed_by"


def test_only_the_owner_records_handovers(world):
    case = claimed(world)

    with pytest.raises(NotFound):  # not theirs to see at all
        errands.hand_over(case, world.proxy_h02, case.materials[:1], Holder.PROXY, "王大爷", signature=signed())


def test_readiness_and_the_manifest_group_by_office_and_proxy(world, make):
    ready = claimed(world)
    _collect_all(ready, world.proxy)
    partial = claimed(world)
    errands.collect(partial, world.proxy, [partial.materials[0].id], "王大爷", signature=signed())
    other_item = claimed(world, item=_item("VA01"))
    _collect_all(other_item, world.proxy)
    manifest = errands.manifest(world.proxy, date(2026, 12, 3))
    assert set(manifest.ready_by_office) == {world.errand_item.approving_office, _item("VA01").approving_office}
    assert [c.number for c in manifest.ready_by_proxy[world.proxy.display_name]] == sorted([ready.number,
                                                                                            other_item.number])
    [(case, missing)] = manifest.not_ready
    assert case.number == partial.number and missing == world.errand_item.material_list[1:]


def test_errands_without_approval_stay_off_the_manifest_and_are_not_handed_in(world):
    case = claimed(world, item=world.plain_errand)
    _collect_all(case, world.proxy)
    assert errands.manifest(world.proxy, date(2026, 12, 3)).count == 0
    assert errands.stage(case) == "to_return"
    with pytest.raises(DomainError):
        errands.submit(case, world.proxy, "药店", signature=signed())


def test_the_round_trip_resolves_and_saves_a_trip(world):
    case = claimed(world)
    with pytest.raises(DomainError):
        errands.submit(case, world.proxy, "民政局窗口", signature=signed())  # not ready yet
    _collect_all(case, world.proxy)
    assert errands.stage(case) == "ready"
    errands.submit(case, world.proxy, "民政局窗口", signature=signed())
    assert case.status is S.AWAITING_OFFICE and {m.holder for m in case.materials} == {Holder.OFFICE}
    errands.record_answer(case, world.proxy, "approved", confirmed_by="民政局窗口", signature=signed())
    assert case.status is S.IN_PROGRESS and {m.holder for m in case.materials} == {Holder.PROXY}
    assert errands.stage(case) == "to_return"
    errands.deliver(case, world.proxy, "批复及材料原件已交还", "王大爷", signature=signed())
    assert case.status is S.RESOLVED and case.trip_saved
    assert {m.holder for m in case.materials} == {Holder.RESIDENT}
    kinds = [e.kind for e in events(case)]
    assert kinds.count(EventKind.MATERIALS) == 4 and EventKind.SENT_OFF in kinds and EventKind.RESOLVED in kinds


def test_the_off_island_hall_chases_the_answer_and_keeps_the_documents_for_the_proxy(world, make):
    from portal.domain import Forbidden, access
    from portal.domain.cases import queues
    from portal.models import Case, Place, Role, ServicePoint

    hall_point = db.session.scalars(sa.select(ServicePoint).filter_by(code="LS-OFF")).one()
    island = db.session.scalars(sa.select(Place).filter_by(code="LS")).one()
    hall = make.user(Role.STAFF, username="staff-hall", service_point=hall_point, places=[island])
    case = claimed(world)
    _collect_all(case, world.proxy)
    with pytest.raises(Forbidden):  # nothing handed in yet: not the hall's to answer
        errands.record_answer(case, hall, "approved", confirmed_by="民政局窗口", signature=signed())
    db.session.rollback()
    errands.submit(case, world.proxy, "民政局窗口", signature=signed())
    waiting = db.session.scalars(sa.select(Case.id).where(access.case_scope(hall),
                                                          queues.tab_condition("awaiting", hall))).all()
    assert case.id in waiting  # the hall's queue
    errands.record_answer(case, hall, "approved", confirmed_by="民政局窗口", signature=signed())
    assert case.status is S.IN_PROGRESS
    assert {(m.holder, m.holder_user_id) for m in case.materials} == {(Holder.HALL, hall.id)}  # kept at the hall
    assert errands.stage(case) == "at_hall" and not errands.readiness(case).ready
    [holding] = errands.custody(case)
    assert holding.label == f"出岛服务厅 · {hall.display_name}" and holding.names == world.errand_item.material_list
    assert errands.next_giver(case).holder is Holder.HALL  # the proxy's next step: collect at the hall
    assert errands.giver_name(case, errands.next_giver(case)) == hall.display_name
    errands.collect(case, world.proxy, [m.id for m in case.materials], hall.display_name,
                    signature=signed())  # the proxy takes them back, the hall's clerk signs
    assert errands.stage(case) == "to_return"
    assert [h.label for h in errands.custody(case)] == [f"代办党员 · {world.proxy.display_name}"]
    errands.deliver(case, world.proxy, "批复已交还", "王大爷", signature=signed())
    assert case.status is S.RESOLVED


def test_the_office_asks_for_more_documents(world):
    case = claimed(world)
    _collect_all(case, world.proxy)
    errands.submit(case, world.proxy, "民政局窗口", signature=signed())
    with pytest.raises(DomainError):
        errands.record_answer(case, world.proxy, "more_materials", note="缺少证明", more=[], signature=signed())
    db.session.rollback()
    errands.record_answer(case, world.proxy, "more_materials", note="缺少证明", more=["村委会证明"], signature=signed())
    assert errands.stage(case) == "collecting"
    added = [m for m in case.materials if m.added_later]
    assert [(m.name, m.holder) for m in added] == [("村委会证明", Holder.RESIDENT)]


def test_a_rejection_goes_back_to_the_resident_with_its_reason(world):
    case = claimed(world)
    _collect_all(case, world.proxy)
    errands.submit(case, world.proxy, "民政局窗口", signature=signed())
    with pytest.raises(DomainError):
        errands.record_answer(case, world.proxy, "rejected", note="", signature=signed())
    db.session.rollback()
    errands.record_answer(case, world.proxy, "rejected", note="家庭收入超过低保标准", signature=signed())
    errands.deliver(case, world.proxy, "未获批准，原件已交还", "王大爷", signature=signed())
    answer = [e for e in events(case) if e.kind is EventKind.OFFICE_ANSWERED][-1]
    assert answer.public and answer.note == "家庭收入超过低保标准" and answer.data == {"answer": "rejected"}


def test_next_off_island_day_skips_holidays(world):
    point = db.session.scalars(sa.select(ServicePoint).filter_by(code="LS-P01")).one()
    assert timekeeping.next_off_island_day(point, date(2026, 11, 30)) == date(2026, 12, 3)  # Monday -> Thursday
    assert timekeeping.next_off_island_day(point, date(2026, 12, 4)) == date(2026, 12, 4)   # a Friday is one
    db.session.add(CalendarDay(day=date(2026, 12, 3), kind=DayKind.HOLIDAY, name="停航"))
    db.session.commit()
    assert timekeeping.next_off_island_day(point, date(2026, 11, 30)) == date(2026, 12, 4)
    # National Day: Thursday 1 and Friday 2 October are holidays, so the next one is Thursday 8 October.
    assert timekeeping.next_off_island_day(point, date(2026, 9, 30)) == date(2026, 10, 8)
    heating = db.session.scalars(sa.select(ServicePoint).filter_by(code="HT-SQT")).one()
    assert timekeeping.next_off_island_day(heating) is None


PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 100


def test_scans_are_checked_by_content_and_size_and_kept_by_checksum(app, world):
    case = claimed(world)
    with pytest.raises(DomainError):
        attachments.attach(case, world.proxy, "receipt.png", b"<html>not an image</html>")
    with pytest.raises(DomainError):
        attachments.attach(case, world.proxy, "big.pdf", b"%PDF-" + b"0" * (5 * 1024 * 1024))
    kept = attachments.attach(case, world.proxy, "../../回执.png", PNG)
    assert kept.content_type == "image/png" and kept.filename == "回执.png" and len(kept.sha256) == 64
    path = files.verified(kept.sha256)
    assert path.read_bytes() == PNG and str(path).startswith(app.config["UPLOAD_FOLDER"])
    path.write_bytes(b"tampered")
    with pytest.raises(DomainError):
        files.verified(kept.sha256)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Attachment)) == 1


def test_errands_off_the_island_network_save_no_trip(world, make):
    from portal.domain.cases import intake
    from portal.models import Channel

    household = make.household(world.e01, address="金色环海1号楼101", phone="13700001111")
    case = intake.log_case(world.lead, _item("HT06"), Channel.PHONE, "申请报停", "李四", "13700001111",
                           household=household)
    lifecycle.claim(case, world.butler)
    _collect_all(case, world.butler)
    errands.submit(case, world.butler, "营业厅", signature=signed())
    errands.record_answer(case, world.butler, "approved", confirmed_by="营业厅", signature=signed())
    errands.deliver(case, world.butler, "已报停", "李四", signature=signed())
    assert case.status is S.RESOLVED and not case.trip_saved


def test_every_handover_keeps_its_signature_and_refuses_none_or_an_empty_pad(world):
    import io

    from PIL import Image

    from portal.models import SignatureKind

    case = claimed(world)
    ids = [m.id for m in case.materials]
    with pytest.raises(DomainError) as unsigned:
        errands.collect(case, world.proxy, ids, "王大爷")
    assert unsigned.value.field == "signature" and "签名" in str(unsigned.value.message)
    db.session.rollback()
    blank = io.BytesIO()
    Image.new("RGBA", (240, 90), (0, 0, 0, 0)).save(blank, "PNG")
    with pytest.raises(DomainError) as empty:
        errands.collect(case, world.proxy, ids, "王大爷", signature=errands.Signature(SignatureKind.DRAWN,
                                                                                     blank.getvalue()))
    assert empty.value.field == "signature" and "空白" in str(empty.value.message)
    db.session.rollback()
    with pytest.raises(DomainError) as not_a_picture:
        errands.collect(case, world.proxy, ids, "王大爷", signature=errands.Signature.drawn("data:text/html,<b>"))
    assert not_a_picture.value.field == "signature"
    db.session.rollback()
    assert {m.holder for m in case.materials} == {Holder.RESIDENT}  # nothing moved without a signature
    errands.collect(case, world.proxy, ids, "王大爷", signature=signed())
    errands.submit(case, world.proxy, "民政局窗口 刘", signature=signed("photo"))
    moves = db.session.scalars(sa.select(MaterialHandover).order_by(MaterialHandover.id)).all()
    assert [m.signature_kind for m in moves] == [SignatureKind.DRAWN] * len(ids) + [SignatureKind.PHOTO] * len(ids)
    drawn, photo = moves[0].signature, moves[-1].signature
    assert len({m.signature_id for m in moves[:len(ids)]}) == 1  # one signature a step, kept once
    assert drawn.content_type == "image/png" and drawn.filename.startswith("签名-") and files.verified(drawn.sha256)
    assert photo.content_type == "image/jpeg" and photo.filename == "交接单.jpg"
    assert [e.data.get("signed") for e in events(case) if e.kind is EventKind.MATERIALS] == ["drawn", "photo"]


def test_one_giver_a_handover(world):
    case = claimed(world)
    first, second = case.materials[0], case.materials[1]
    # The first document is with a lead who stepped in; the second still with the resident.
    db.session.execute(sa.update(CaseMaterial).where(CaseMaterial.id == first.id)
                       .values(holder=Holder.PROXY, holder_user_id=world.lead.id))
    db.session.commit()
    db.session.expire_all()
    assert errands.next_giver(case).user.id == world.lead.id  # a person first, then the resident
    with pytest.raises(DomainError) as mixed:
        errands.collect(case, world.proxy, [first.id, second.id], "王大爷", signature=signed())
    assert mixed.value.field == "materials" and "每次交接只记录一位交出人" in str(mixed.value.message)


def test_the_handover_slip_lists_each_step_with_giver_receiver_and_signature(world):
    case = claimed(world)
    _collect_all(case, world.proxy)
    errands.submit(case, world.proxy, "民政局窗口 刘", signature=signed("photo"))
    errands.record_answer(case, world.proxy, "approved", confirmed_by="民政局窗口 刘", signature=signed())
    errands.deliver(case, world.proxy, "批复及材料原件已交还", "王大爷", signature=signed())
    steps = errands.handover_slip(case)
    proxy = f"代办党员 · {world.proxy.display_name}"
    office = f"上级部门 · {world.errand_item.approving_office}"
    assert [(s.giver, s.receiver, s.confirmed_by) for s in steps] == [
        ("居民 · 王大爷", proxy, "王大爷"), (proxy, office, "民政局窗口 刘"),
        (office, proxy, "民政局窗口 刘"), (proxy, "居民 · 王大爷", "王大爷")]
    assert all(s.names == world.errand_item.material_list and s.signature is not None for s in steps)
