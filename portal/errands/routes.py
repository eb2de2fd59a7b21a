"""Routes of the errands area, laid out for a proxy's phone."""
from __future__ import annotations

from datetime import date

from flask import abort, flash, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload, selectinload

from portal import clock
from portal.domain import access, errands, sailings
from portal.domain.cases import attachments, lifecycle, queues, timekeeping
from portal.domain.platform import files
from portal.errands import bp
from portal.errands.forms import (
    AnswerForm,
    CollectForm,
    DeliverForm,
    RestoreSailingForm,
    SailingForm,
    SignedForm,
    SubmitAllForm,
    SubmitForm,
)
from portal.models import Case, CaseMaterial, Holder, MaterialHandover, Mode, Role, SignatureKind
from portal.web.forms import UploadForm, options
from portal.web.guards import allow, me
from portal.web.htmx import is_htmx, redirect_to, render
from portal.web.navigation import register
from portal.web.submit import run
from portal.web.submit import submit as submit_form

ERRAND_ROLES = (Role.PROXY, Role.STAFF, Role.LEAD, Role.BUTLER)  # butlers carry heating errands (报停)
register("errands.index", _l("Errands"), _l("Claim errands, collect documents, carry them off the island."),
         {Role.PROXY, Role.STAFF}, when="errands.pool")
register("errands.manifest", _l("Off-island manifest"), _l("What goes off the island on the next off-island day."),
         ERRAND_ROLES, when="errands.manifest")
register("errands.sailings_page", _l("Cancelled sailings"),
         _l("Mark an off-island day 停航: its manifest goes with the next sailing, and the errands' time limits move "
            "by the day lost."),
         {Role.LEAD, Role.ADMIN}, when="sailing.cancel")


def _errand(number: str) -> Case:
    case = access.load_case(number, me(), (joinedload(Case.item), joinedload(Case.owner), joinedload(Case.place),
                                           joinedload(Case.service_point), selectinload(Case.events),
                                           selectinload(Case.attachments),
                                           selectinload(Case.materials).selectinload(CaseMaterial.handovers)
                                           .options(joinedload(MaterialHandover.by),
                                                    joinedload(MaterialHandover.signature))))
    if case.mode is not Mode.ERRAND:
        abort(404)
    errands.ensure_materials(case)
    return case


@bp.get("/")
@allow(Role.PROXY, Role.LEAD, Role.STAFF)
def index():
    """The proxy's page (and the island staff's, who carry errands on off-island days): errands to claim in
    their places, and their own errands by stage."""
    if not access.can(me(), "errands.pool"):
        abort(403)
    return render("errands/index.html", pool=errands.pool(me(), request.args.get("page", 1, type=int)),
                  mine=errands.mine_by_stage(me()),
                  stages=errands.STAGES, held=access.errands.open_errands(me()), limit=access.errands.limit(),
                  next_day=errands.next_day_for(me()))


@bp.post("/<number>/claim")
@allow(Role.PROXY, Role.LEAD)
def claim(number: str):
    """Claim an errand in one tap."""
    case = access.load_case(number, me())
    if case.mode is not Mode.ERRAND:
        abort(404)
    done = run(lambda: lifecycle.claim(case, me()), say=not is_htmx())
    if done.error is not None:
        if is_htmx():
            return render("errands/_pool_item.html", case=queues.line(me(), number), error=done.error.message,
                          full=access.errands.open_errands(me()) >= access.errands.limit(), status=done.status)
        return redirect_to(url_for("errands.index"))
    flash(_("Errand %(number)s is yours.", number=number), "success")
    return redirect_to(url_for("errands.show", number=number))


def _to_collect(case: Case):
    """Documents the errand's proxy can receive in one handover: those of the next giver (the off-island hall, a
    person it was taken over from, or the resident), who signs for them."""
    giver = errands.next_giver(case)
    if giver is None:
        return
    for m in case.materials:
        if (m.holder, m.holder_user_id) == (giver.holder, giver.user.id if giver.user else None):
            yield m.id, m.name


def _page(case: Case, status: int = 200, **forms):
    giver = errands.next_giver(case)
    collect = forms.get("collect") or CollectForm(formdata=None)
    collect.materials.choices = options(_to_collect(case))
    if not forms.get("collect") and giver is not None:
        collect.confirmed_by.data = errands.giver_name(case, giver)
    if giver is not None and giver.holder is not Holder.RESIDENT:
        collect.confirmed_by.label.text = _("Handed over by (the name of %(holder)s)", holder=giver.label)
    deliver = forms.get("deliver") or DeliverForm(formdata=None, confirmed_by=case.requester_name)
    return render(
        "errands/show.html", case=case, status=status, readiness=errands.readiness(case), stage=errands.stage(case),
        custody=errands.custody(case), giver=giver, answered=errands.office_answer(case),
        may_work=access.can(me(), "case.work", case), may_answer=access.can(me(), "case.office_answer", case),
        next_day=timekeeping.next_off_island_day(case.service_point), today=clock.today(),
        collect=collect, submit=forms.get("submit") or SubmitForm(formdata=None),
        answer=forms.get("answer") or AnswerForm(formdata=None), deliver=deliver,
        upload=forms.get("upload") or UploadForm(formdata=None), Holder=Holder,
    )


@bp.get("/<number>")
@allow(*ERRAND_ROLES)
def show(number: str):
    """One errand: its documents and who holds each, and the next step of the round trip."""
    return _page(_errand(number))


def signature_of(form: SignedForm) -> errands.Signature | None:
    """The handover's signature from the form: a photo of the signed slip when one was chosen, else the pad's."""
    photo = form.signature_photo.data
    if photo is not None and getattr(photo, "filename", ""):
        return errands.Signature(SignatureKind.PHOTO, photo.read(files.MAX_BYTES + 1), photo.filename)
    if form.signature.data:
        return errands.Signature.drawn(form.signature.data)
    return None


def custody_now(case: Case) -> str:
    """Who holds which documents now, in one line (what a step's message ends with)."""
    return "；".join(f"{holding.label}：{'、'.join(holding.names)}" for holding in errands.custody(case))


def _step(number: str, form_name: str, form, action, said: str):
    """Validate a step's form, run it, and come back to the errand page saying what happened and who holds the
    documents now (or show what was wrong)."""
    case = _errand(number)
    done = submit_form(form, lambda: action(case, form))
    if done.ok:
        after = _errand(number)
        holders = custody_now(after)
        flash(_("%(step)s. Who holds the documents now: %(custody)s.", step=said, custody=holders) if holders
              else _("%(step)s.", step=said), "success")
        return redirect_to(url_for("errands.show", number=number))
    if done.error is not None:
        return _page(_errand(number), status=done.status, **{form_name: form})
    if form_name == "collect":
        form.materials.choices = options((m.id, m.name) for m in case.materials)
    return _page(case, status=done.status, **{form_name: form})


@bp.post("/<number>/collect")
@allow(*ERRAND_ROLES)
def collect(number: str):
    """Record the documents received from the resident, at the off-island hall, or from a previous holder."""
    form = CollectForm()
    form.materials.choices = options((m.id, m.name) for m in _errand(number).materials)
    return _step(number, "collect", form,
                 lambda case, f: errands.collect(case, me(), f.materials.data, f.confirmed_by.data, signature_of(f)),
                 _("Documents received"))


@bp.post("/<number>/submit")
@allow(*ERRAND_ROLES)
def submit(number: str):
    """Hand the documents in at the office (送出岛)."""
    return _step(number, "submit", SubmitForm(),
                 lambda case, f: errands.submit(case, me(), f.confirmed_by.data, signature_of(f)),
                 _("Handed in; the errand awaits the office's answer"))


@bp.post("/<number>/answer")
@allow(*ERRAND_ROLES)
def answer(number: str):
    """Record the office's answer: approved, rejected with the reason, or more documents needed."""
    return _step(number, "answer", AnswerForm(), lambda case, f: errands.record_answer(
        case, me(), f.answer.data, f.note.data or "", (f.more.data or "").splitlines(), f.confirmed_by.data or "",
        signature_of(f)), _("The office's answer is recorded"))


@bp.post("/<number>/deliver")
@allow(*ERRAND_ROLES)
def deliver(number: str):
    """Hand the result and the documents back to the resident; the errand is resolved."""
    return _step(number, "deliver", DeliverForm(),
                 lambda case, f: errands.deliver(case, me(), f.note.data, f.confirmed_by.data, signature_of(f)),
                 _("Handed back to the resident; the errand is resolved"))


@bp.get("/<number>/authorisation")
@allow(*ERRAND_ROLES)
def authorisation(number: str):
    """The printable authorisation (委托书) the resident signs to let the proxy carry their documents (A4)."""
    case = _errand(number)
    return render("errands/authorisation.html", case=case, custody=errands.custody(case))


@bp.get("/<number>/handover-slip")
@allow(*ERRAND_ROLES)
def handover_slip(number: str):
    """The printable handover slip (交接单): every handover of the errand with its signature, and who holds what
    now (A4)."""
    case = _errand(number)
    return render("errands/slip.html", case=case, steps=errands.handover_slip(case), custody=errands.custody(case))


@bp.post("/<number>/attachments")
@allow(*ERRAND_ROLES)
def upload(number: str):
    """Keep a scan or photo of a receipt or an approval with the errand."""
    form = UploadForm()

    def keep(case, f):
        attachments.attach(case, me(), f.file.data.filename, f.file.data.read(files.MAX_BYTES + 1))

    return _step(number, "upload", form, keep, _("The file is kept with the errand"))


@bp.get("/manifest")
@allow(*ERRAND_ROLES)
def manifest():
    """The off-island manifest for the next off-island day: ready errands by office and by proxy."""
    try:
        day = date.fromisoformat(request.args["day"]) if request.args.get("day") else None
    except ValueError:
        day = None
        flash(_("Use a date like 2026-11-28."), "error")
    cancelled = sailings.active_on(day) if day is not None else None
    if cancelled is not None:  # the manifest of a day without a boat is the next sailing's
        moved_to = sailings.next_sailing(day)
        flash(_("No sailing on %(day)s (停航, %(reason)s): its errands go with the next sailing, %(next)s.",
                day=day.isoformat(), reason=sailings.reason_text(cancelled),
                next=moved_to.isoformat() if moved_to else _("none scheduled")), "warning")
        day = moved_to
    elif day is not None and not errands.is_off_island_day(day):
        flash(_("%(day)s is not an off-island day of any island service point.", day=day.isoformat()), "warning")
    return _manifest_page(day)


def _manifest_page(day: date | None, form: SubmitAllForm | None = None, status: int = 200):
    result = errands.manifest(me(), day)
    form = form or SubmitAllForm(formdata=None, day=result.day)
    return render("errands/manifest.html", manifest=result, form=form,
                  submit_all=access.can(me(), "errand.hand_in_all"),
                  lost=sailings.carried_by(result.day) if result.day else [], today=clock.today(), status=status)


def _booked_and_stopped(day: date) -> tuple[list, list]:
    """The home visits of a day without a boat, and those of them that need the boat (to rebook)."""
    booked = sailings.visits_on(day)
    return booked, [v for v in booked if sailings.needs_boat(v)]


def _sailings_page(form: SailingForm, status: int = 200, restore: RestoreSailingForm | None = None,
                   restoring: int | None = None):
    """The page; ``restore`` is a refused restore form of the sailing ``restoring``, its errors beside its field."""
    kept = sailings.recent()
    return render("errands/sailings.html", form=form, sailings=kept,
                  restore=restore or RestoreSailingForm(formdata=None), restoring=restoring,
                  today=clock.today(), next_sailing=sailings.next_sailing,
                  visits={s.day: _booked_and_stopped(s.day) for s in kept if s.active and s.day >= clock.today()},
                  reason_text=sailings.reason_text, status=status)


@bp.route("/sailings", methods=["GET", "POST"])
@allow(Role.LEAD, Role.ADMIN)
def sailings_page():
    """Cancelled sailings (停航): mark an off-island day whose boat does not sail, and see the days marked."""
    if not access.can(me(), "sailing.cancel"):
        abort(403)
    form = SailingForm()
    done = submit_form(form, lambda: sailings.cancel(me(), form.day.data, form.reason.data, form.note.data), "day")
    if not done.ok:
        return _sailings_page(form, done.status)
    outcome = done.value
    flash(_("No sailing on %(day)s (停航): %(n)d time limits moved by the day lost; the manifest goes with the next "
            "sailing, %(next)s.", day=outcome.sailing.day.isoformat(), n=len(outcome.moved),
            next=outcome.next_day.isoformat() if outcome.next_day else _("none scheduled")), "success")
    if outcome.visits:
        flash(_("%(n)d home visits of that day need the boat: rebook them (listed below); their residents are told "
                "when a visit is moved.", n=len(outcome.visits)), "warning")
    return redirect_to(url_for("errands.sailings_page"))


@bp.post("/sailings/<int:sailing_id>/restore")
@allow(Role.LEAD, Role.ADMIN)
def restore_sailing(sailing_id: int):
    """Undo a cancellation made in error, with a reason: the day is an off-island day again."""
    if not access.can(me(), "sailing.cancel"):
        abort(403)
    form = RestoreSailingForm()
    done = submit_form(form, lambda: sailings.undo(me(), sailing_id, form.undo_reason.data), "undo_reason")
    if not done.ok:
        return _sailings_page(SailingForm(formdata=None), done.status, form, sailing_id)
    flash(_("The sailing of %(day)s is restored: %(n)d time limits counted again.",
            day=done.value.sailing.day.isoformat(), n=len(done.value.moved)), "success")
    return redirect_to(url_for("errands.sailings_page"))


@bp.post("/manifest/submit")
@allow(Role.PROXY)
def submit_all():
    """Hand in every ready errand of the manifest at once."""
    form = SubmitAllForm()
    if form.validate_on_submit():
        done = run(lambda: errands.submit_all(me(), form.day.data, form.confirmed_by.data, signature_of(form)))
        if done.ok:
            flash(_("%(n)d errands handed in; their documents are with the offices now: %(numbers)s.",
                    n=len(done.value), numbers="、".join(done.value)) if done.value
                  else _("%(n)d errands handed in.", n=0), "success")
    else:  # refused: the manifest again, each message beside its field
        return _manifest_page(form.day.data, form, 422)
    return redirect_to(url_for("errands.manifest", day=form.day.data.isoformat() if form.day.data else None))


@bp.app_template_global()
def holder_label(case: Case, material: CaseMaterial) -> str:
    """Who holds a document now, as people read it (the custody list's words)."""
    return errands.holder_label(case, material)
