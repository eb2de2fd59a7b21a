/* The portal's own script: small behaviours that cannot be attributes (the CSP forbids inline
   script). Everything works without it; it only adds comfort. */
(function () {
  "use strict";

  document.addEventListener("click", function (event) {
    var target = event.target.closest("[data-print]");
    if (target) {
      event.preventDefault();
      window.print();
      return;
    }
    var fullscreen = event.target.closest("[data-fullscreen]");
    if (fullscreen) {
      if (document.fullscreenElement) {
        document.exitFullscreen();
      } else if (document.documentElement.requestFullscreen) {
        document.documentElement.requestFullscreen();
      }
      return;
    }
    var reload = event.target.closest("[data-reload]");
    if (reload) {
      event.preventDefault();
      window.location.reload();
    }
  });

  // Choosing a resident of the caller's household fills the name field when it is still empty (the
  // server does the same when the name is left empty, so nothing depends on this).
  document.addEventListener("change", function (event) {
    var choice = event.target;
    if (!choice.matches || !choice.matches("input[name=resident_id][data-name]")) {
      return;
    }
    var name = choice.form && choice.form.querySelector("input[name=requester_name]");
    if (name && (!name.value || name.getAttribute("data-filled") === name.value)) {
      name.value = choice.getAttribute("data-name");
      name.setAttribute("data-filled", name.value);
    }
  });

  // Forms and buttons marked data-confirm ask before they submit (htmx elements use hx-confirm).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var submitter = event.submitter;
    var question = (submitter && submitter.getAttribute("data-confirm")) || form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });

  // A polled region that carries its ETag sends it back, so that the server can answer 304 (and htmx
  // leave the region alone) when nothing changed in it.
  // ...and shows when it last asked, even when the answer was "nothing new".
  document.addEventListener("htmx:afterRequest", function (event) {
    var region = event.detail.elt;
    if (!region || !region.getAttribute("data-etag") || !event.detail.successful) {
      return;
    }
    var checked = document.querySelector("#" + region.id + " [data-checked]");
    if (checked) {
      checked.textContent = new Date().toTimeString().slice(0, 8);
    }
  });

  document.addEventListener("htmx:configRequest", function (event) {
    var etag = event.detail.elt && event.detail.elt.getAttribute("data-etag");
    if (etag && event.detail.verb === "get") {
      event.detail.headers["If-None-Match"] = '"' + etag + '"';
    }
  });
})();
