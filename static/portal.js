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
  // A form that can wait in the offline queue gets its key and the moment the user acted (the same key again when
  // the same fields are submitted twice: a double click is one action). A page kept before the queue was renamed
  // names its fields outbox_* (COMPAT offline-queue-rename).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var submitter = event.submitter;
    var question = (submitter && submitter.getAttribute("data-confirm")) || form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
      return;
    }
    var prefix = keyPrefix(form);
    if (prefix) {
      var key = form.querySelector("input[name=" + prefix + "key]");
      var fields = JSON.stringify(Array.from(new FormData(form)).filter(function (pair) {
        return pair[0].indexOf(prefix) !== 0;
      }));
      if (form.getAttribute("data-offline-fields") !== fields || !key.value) {
        key.value = newKey();
        form.querySelector("input[name=" + prefix + "acted_at]").value = new Date().toISOString();
        form.setAttribute("data-offline-fields", fields);
      }
      var names = {}; // what the queue shows of a refused item: its fields by their labels
      Array.from(form.elements).forEach(function (field) {
        var label = field.labels && field.labels[0];
        var legend = field.closest("fieldset") && field.closest("fieldset").querySelector("legend");
        var choice = field.type === "checkbox" || field.type === "radio";
        var named = (choice && legend) || label || legend; // a field of a fieldset may have no label of its own
        if (field.name && named) {
          names[field.name] = named.textContent.trim();
        }
        if (choice && label) { // a ticked document or a chosen answer: by its words, not its value
          names[field.name + "=" + field.value] = label.textContent.trim();
        }
      });
      form.querySelector("input[name=" + prefix + "names]").value = JSON.stringify(names);
    }
    if (form.hasAttribute("data-forget-offline") && window.caches) {
      event.preventDefault(); // signing out: the kept pages go first, and what the worker is still fetching
      forgetPages().then(function () { form.submit(); }, function () { form.submit(); });
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

  // --- Offline work (docs/ARCHITECTURE.md, "Offline") ------------------------------------------------
  // The service worker (/sw.js) keeps pages and, without a link, keeps submitted forms in the offline queue
  // (static/offline_queue.js). Here: the banner and the queue's list, sending what waits, one item at a time and
  // in order, whenever the link may be back; what waits for a kept page's forms, on that page; and turning
  // offline work on and off on this device.
  // The caches and addresses are the server's (portal/offline: names), given in <meta name="portal-offline">.
  var OFFLINE = JSON.parse((document.querySelector('meta[name="portal-offline"]') || {}).content || "{}");
  var PAGES = OFFLINE.pages;
  var REPLAY = {"X-Offline-Replay": "1", "X-Portal-Poll": "1"}; // a replay never keeps an idle session alive
  var me = document.body.getAttribute("data-user") || "";
  var queue = window.PortalOfflineQueue; // the browser's offline queue (not the server's message outbox)
  var signedOut = false;
  var sentNow = 0;
  var sentKeys = {}; // what this page sent (a kept page says so where the form was)
  var sending = false;
  var copyChecked = false; // a kept copy asks the server once, when the link is back, whether the session lives

  // The kept pages go (signing out; the session ended on another device or by an administrator), and what the
  // worker is still fetching with them; the offline queue stays, for the user's next sign-in.
  function forgetPages() {
    if (navigator.serviceWorker && navigator.serviceWorker.controller) {
      navigator.serviceWorker.controller.postMessage({forget: true});
    }
    return window.caches ? caches["delete"](PAGES) : Promise.resolve();
  }

  // The prefix of the fields a form that can wait in the queue carries ("" for a form that cannot).
  function keyPrefix(form) {
    var queue = window.PortalOfflineQueue;
    return [queue ? queue.prefix : "offline_", queue ? queue.oldPrefix : "outbox_"].filter(function (prefix) {
      return form.querySelector && form.querySelector("input[name=" + prefix + "key]");
    })[0] || "";
  }

  function newKey() {
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.from(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function say(text, values) {
    return (text || "").replace(/\{(\w+)\}/g, function (all, name) { return name in values ? values[name] : all; });
  }

  function when(iso) {
    var moment = new Date(iso);
    if (isNaN(moment)) {
      return "";
    }
    var pad = function (n) { return ("0" + n).slice(-2); };
    return pad(moment.getMonth() + 1) + "-" + pad(moment.getDate()) + " " + pad(moment.getHours()) + ":" +
      pad(moment.getMinutes());
  }

  // Each item goes as it was kept: the server reads a later item made on the page before the user's own earlier
  // steps as made after them (portal/web/replay.py), so nothing here rewrites one.
  function send(item, csrf) {
    var body = new URLSearchParams();
    item.fields.forEach(function (pair) { body.append(pair[0], pair[1]); });
    body.set("csrf_token", csrf);
    var headers = Object.assign({"X-CSRFToken": csrf}, REPLAY);
    return fetch(item.url, {method: "POST", body: body, headers: headers, credentials: "same-origin"})
      .then(function (response) {
        if (response.status === 401) {
          signedOut = true;
          return false;
        }
        if ((response.headers.get("Content-Type") || "").indexOf("application/json") !== 0) {
          return failed(item, response.status); // not the portal's answer (a proxy's error page)
        }
        return response.json().then(function (answer) {
          if (answer.ok) {
            sentNow += 1;
            sentKeys[item.key] = true;
            return queue.remove(item.seq).then(function () { return true; });
          }
          if (answer.retry || response.status === 429) {
            return false;
          }
          if (response.status >= 500) {
            return failed(item, response.status);
          }
          item.state = "refused";
          item.message = answer.message || "";
          item.next = answer.next || "";
          item.location = answer.location || "";
          return queue.update(item).then(function () { return true; });
        });
      }, function () { return false; }); // no link: the rest waits, in order
  }

  // A server error stops the round (the rest waits, in order); the third one for the same item sets it aside
  // with what happened, so that one bad item does not hold back the others for ever.
  function failed(item, status) {
    item.tries = (item.tries || 0) + 1;
    if (item.tries < 3) {
      return queue.update(item).then(function () { return false; });
    }
    var banner = document.getElementById("offline-queue-banner");
    item.state = "refused";
    item.message = say(banner.getAttribute("data-failed"), {status: status});
    item.next = "";
    return queue.update(item).then(function () { return true; });
  }

  function flushNow() {
    return queue.all().then(function (items) {
      var mine = items.filter(function (item) { return item.user === me && item.state === "waiting"; });
      if (!mine.length && (copyChecked || !document.body.hasAttribute("data-offline-copy"))) {
        return null;
      }
      return fetch(OFFLINE.state, {headers: REPLAY, credentials: "same-origin", cache: "no-store"})
        .then(function (response) {
          copyChecked = true;
          signedOut = response.status === 401;
          if (response.headers.get("X-Offline-Forget") === "1") {
            forgetPages();
          }
          return response.ok && mine.length ? response.json() : null;
        })
        .then(function (state) {
          if (!state || String(state.user) !== me) {
            return null;
          }
          return mine.reduce(function (done, item) {
            return done.then(function (goOn) { return goOn ? send(item, state.csrf) : false; });
          }, Promise.resolve(true));
        });
    });
  }

  function flush() {
    if (!queue || !me || sending) {
      return Promise.resolve();
    }
    sending = true;
    var work = navigator.locks ?
      navigator.locks.request("portal-offline-queue", {ifAvailable: true}, function (lock) { return lock && flushNow(); }) :
      flushNow();
    return work["catch"](function () { return null; }).then(function () {
      sending = false;
      return show();
    });
  }

  function show() {
    if (!queue) {
      return Promise.resolve();
    }
    var banner = document.getElementById("offline-queue-banner");
    if (!banner) {
      return Promise.resolve();
    }
    return queue.all().then(function (items) {
      var mine = items.filter(function (item) { return !me || item.user === me; });
      var count = function (state) { return mine.filter(function (item) { return item.state === state; }).length; };
      var waiting = count("waiting");
      var refused = count("refused");
      var confirm = count("confirm");
      var parts = [];
      if (waiting) {
        parts.push(say(banner.getAttribute("data-waiting"), {n: waiting}));
      }
      if (confirm) {
        parts.push(say(banner.getAttribute("data-confirm"), {n: confirm}));
      }
      if (refused) {
        parts.push(say(banner.getAttribute("data-refused"), {n: refused}));
      }
      if (waiting && (signedOut || !me)) {
        parts.push(banner.getAttribute("data-signin"));
      }
      if (sentNow) {
        parts.push(say(banner.getAttribute("data-sent"), {n: sentNow}));
      }
      banner.querySelector("summary").textContent = parts.join(" · ");
      banner.hidden = !parts.length;
      banner.classList.toggle("offline-queue-refused", refused > 0 || confirm > 0);
      var confirmAll = document.querySelector("[data-offline-queue-confirm-all]");
      if (confirmAll) {
        confirmAll.hidden = !(me && confirm);
      }
      list(items);
      pending(items, banner);
    });
  }

  // A page (a kept copy above all) shows what waits in the queue for its forms, where the form was: a form whose
  // action waits is hidden, so that it is not done twice, unless it may be used again meanwhile (a note, logging a
  // case: data-offline-again). Once an item no longer waits, the note says whether this page sent it, and that the
  // page is older than the case.
  function pending(items, banner) {
    var waiting = items.filter(function (item) { return item.user === me && queue.waits(item); });
    Array.from(document.querySelectorAll("form")).forEach(function (form) {
      if (!keyPrefix(form)) {
        return;
      }
      var path = new URL(form.action, location.href).pathname;
      var mine = waiting.filter(function (item) { return new URL(item.url, location.href).pathname === path; });
      var note = form.previousElementSibling;
      if (!note || !note.hasAttribute("data-offline-pending")) {
        if (!mine.length) {
          return;
        }
        note = document.createElement("div");
        note.className = "flash flash-info offline-pending";
        note.setAttribute("data-offline-pending", "[]");
        note.setAttribute("role", "status");
        form.parentNode.insertBefore(note, form);
      }
      var shown = JSON.parse(note.getAttribute("data-offline-pending"));
      mine.forEach(function (item) {
        if (!shown.some(function (entry) { return entry.key === item.key; })) {
          shown.push({key: item.key, label: item.label});
        }
      });
      note.textContent = "";
      shown.forEach(function (entry) {
        var item = mine.filter(function (i) { return i.key === entry.key; })[0];
        var line = document.createElement("p");
        line.textContent = item ? say(banner.getAttribute("data-pending"), {label: item.label, time: when(item.actedAt)}) :
          say(banner.getAttribute(sentKeys[entry.key] ? "data-pending-sent" : "data-pending-gone"), {label: entry.label});
        note.appendChild(line);
      });
      note.setAttribute("data-offline-pending", JSON.stringify(shown));
      if (mine.length && !form.querySelector("[data-offline-again]")) {
        form.hidden = true;
      }
    });
  }

  // The banner and the queue's page list every item kept on this device, with what to do about one that was
  // refused or waits to be confirmed.
  function list(items) {
    Array.from(document.querySelectorAll("[data-offline-queue-list]")).forEach(function (target) {
      listInto(target, items);
    });
  }

  function listInto(target, items) {
    target.textContent = "";
    if (!items.length) {
      var empty = document.createElement("li");
      empty.className = "empty";
      empty.textContent = target.getAttribute("data-empty");
      target.appendChild(empty);
    }
    items.forEach(function (item) {
      var row = document.createElement("li");
      row.className = "offline-queue-item offline-queue-" + item.state;
      row.setAttribute("data-key", item.key);
      var title = document.createElement("strong");
      title.textContent = item.label;
      var status = document.createElement("span");
      status.className = "muted";
      var state = item.user !== me ? "data-other" : "data-" + item.state;
      status.textContent = " " + say(target.getAttribute("data-acted"), {time: when(item.actedAt)}) + " · " +
        target.getAttribute(state);
      row.appendChild(title);
      row.appendChild(status);
      var own = item.user === me;
      [item.message, item.next].forEach(function (text, i) {
        if (text && own) {
          var line = document.createElement("p");
          line.className = i ? "help" : "error";
          line.textContent = text;
          row.appendChild(line);
        }
      });
      var typed = item.fields.filter(function (pair) {
        return pair[1] && pair[0].indexOf(queue.prefix) !== 0 && !/(^|-)version$/.test(pair[0]);
      });
      if (own && typed.length && item.state !== "waiting") { // to check it, or enter it again where it went wrong
        var details = document.createElement("details");
        var summary = document.createElement("summary");
        summary.textContent = target.getAttribute("data-typed");
        details.appendChild(summary);
        var names = {};
        item.fields.forEach(function (pair) {
          if (pair[0] === queue.prefix + "names") {
            try { names = JSON.parse(pair[1]) || {}; } catch (error) { names = {}; }
          }
        });
        typed.forEach(function (pair) {
          var line = document.createElement("p");
          line.textContent = (names[pair[0]] || pair[0]) + "：" + (names[pair[0] + "=" + pair[1]] || pair[1]);
          details.appendChild(line);
        });
        row.appendChild(details);
      }
      var actions = document.createElement("p");
      actions.className = "actions";
      if (item.location || item.caseNumber) {
        var open = document.createElement("a");
        open.href = item.location || OFFLINE["case"].replace("NUMBER", encodeURIComponent(item.caseNumber));
        open.className = "button";
        open.textContent = target.getAttribute("data-open");
        actions.appendChild(open);
      }
      if (item.state === "refused" && own) {
        actions.appendChild(button(target.getAttribute("data-retry"), "retry", item));
      }
      if (item.state === "confirm" && own) {
        actions.appendChild(button(target.getAttribute("data-confirm-send"), "retry", item));
      }
      if (own) {
        actions.appendChild(button(target.getAttribute("data-discard"), "discard", item));
      }
      row.appendChild(actions);
      target.appendChild(row);
    });
  }

  function button(text, action, item) {
    var control = document.createElement("button");
    control.type = "button";
    control.textContent = text;
    control.setAttribute("data-offline-queue-" + action, item.seq);
    return control;
  }

  document.addEventListener("click", function (event) {
    var retry = event.target.closest("[data-offline-queue-retry]");
    var discard = event.target.closest("[data-offline-queue-discard]");
    var target = discard && discard.closest("[data-offline-queue-list]");
    if (retry) {
      queue.all().then(function (items) {
        var item = items.filter(function (i) { return String(i.seq) === retry.getAttribute("data-offline-queue-retry"); })[0];
        if (item) {
          item.state = "waiting";
          item.message = item.next = "";
          return queue.update(item).then(flush);
        }
      });
    } else if (discard && window.confirm(target.getAttribute("data-discard-question"))) {
      queue.remove(Number(discard.getAttribute("data-offline-queue-discard"))).then(show);
    } else if (event.target.closest("[data-offline-queue-confirm-all]")) {
      queue.all().then(function (items) {
        return Promise.all(items.filter(function (item) { return item.user === me && item.state === "confirm"; })
          .map(function (item) {
            item.state = "waiting";
            return queue.update(item);
          }));
      }).then(flush);
    }
  });

  // Turning offline work on registers the service worker and keeps the role's pages at once.
  function offlineStatus() {
    var status = document.getElementById("offline-status");
    if (!status) {
      return;
    }
    var on = document.querySelector("[data-offline-on]");
    var off = document.querySelector("[data-offline-off]");
    if (!("serviceWorker" in navigator) || !window.caches) {
      status.textContent = status.getAttribute("data-unsupported");
      on.disabled = true;
      return;
    }
    navigator.serviceWorker.getRegistration(OFFLINE.scope).then(function (registration) {
      on.hidden = !!registration;
      off.hidden = !registration;
      if (!registration) {
        status.textContent = status.getAttribute("data-off");
        return;
      }
      caches.open(PAGES).then(function (cache) { return cache.keys(); }).then(function (keys) {
        status.textContent = status.getAttribute("data-on") + " " + say(status.getAttribute("data-kept"), {n: keys.length});
      });
    });
  }

  function keepFieldPages(worker) {
    var urls = Array.from(document.querySelectorAll("a[data-offline-keep]"), function (a) { return a.href; });
    urls.unshift(location.pathname);
    worker.postMessage({keep: urls});
  }

  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-offline-on]")) {
      if (navigator.storage && navigator.storage.persist) {
        navigator.storage.persist(); // so that the browser does not clear the offline queue to make room
      }
      navigator.serviceWorker.register(OFFLINE.worker, {scope: OFFLINE.scope}).then(function () {
        return navigator.serviceWorker.ready;
      }).then(function (registration) {
        var status = document.getElementById("offline-status");
        status.textContent = status.getAttribute("data-keeping");
        keepFieldPages(registration.active); // the worker says when it is done ("keptPages")
      }, function () {
        var status = document.getElementById("offline-status");
        status.textContent = status.getAttribute("data-unsupported");
      });
    } else if (event.target.closest("[data-offline-off]")) {
      navigator.serviceWorker.getRegistration(OFFLINE.scope).then(function (registration) {
        return registration && registration.unregister();
      }).then(function () {
        return caches.keys();
      }).then(function (names) {
        return Promise.all(names.filter(function (name) { return name === PAGES || name.indexOf(OFFLINE.shell) === 0; })
          .map(function (name) { return caches["delete"](name); }));
      }).then(offlineStatus);
    }
  });

  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.addEventListener("message", function (event) {
      if (event.data && event.data.keptPages !== undefined) {
        offlineStatus();
      } else if (event.data && event.data.kept) {
        show();
      }
    });
  }

  // A visit of tomorrow, kept on a phone today, offers its forms once the phone's day is the visit's.
  var day = new Date();
  day = day.getFullYear() + "-" + ("0" + (day.getMonth() + 1)).slice(-2) + "-" + ("0" + day.getDate()).slice(-2);
  Array.from(document.querySelectorAll("[data-shown-from]")).forEach(function (part) {
    part.hidden = day < part.getAttribute("data-shown-from");
  });
  Array.from(document.querySelectorAll("[data-hidden-from]")).forEach(function (part) {
    part.hidden = day >= part.getAttribute("data-hidden-from");
  });

  // A kept copy says so, and when it was fetched.
  var copy = document.body.getAttribute("data-offline-copy");
  var copyNote = document.getElementById("offline-copy");
  if (copy !== null && copyNote) {
    var why = document.body.getAttribute("data-offline-why"); // "missing" page, "unsaved" form, or a copy
    copyNote.textContent = why ? copyNote.getAttribute("data-" + why) :
      say(copyNote.getAttribute("data-copy"), {time: when(copy)});
    copyNote.classList.toggle("flash-error", why === "unsaved");
    copyNote.hidden = false;
  }
  var kept = document.getElementById("offline-queue-kept");
  if (kept && /[?&]kept=/.test(location.search)) {
    kept.hidden = false;
  }

  // The kept pages are one user's: another user signing in on this device starts without them. The offline
  // queue's page is kept again whenever it is missing: it is where a form kept without a link leads.
  if (me && window.localStorage && window.caches) {
    var last = localStorage.getItem("portal-offline-user");
    var forgotten = last && last !== me ? caches["delete"](PAGES) : Promise.resolve();
    localStorage.setItem("portal-offline-user", me);
    forgotten.then(function () {
      var worker = navigator.serviceWorker && navigator.serviceWorker.controller;
      if (worker && !document.body.hasAttribute("data-offline-copy")) {
        worker.postMessage({ensure: OFFLINE.queue});
      }
    });
  }

  offlineStatus();
  if (queue) {
    show().then(flush);
    window.addEventListener("online", flush);
    window.setInterval(flush, 30000);
  }
})();
