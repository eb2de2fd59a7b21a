/* The portal's service worker (served at /sw.js by portal/offline/routes.py; turned on per device on the page
   离线工作, /offline/). It does three things, and nothing else:
   - keeps the look of every page (the shell), and the pages whose answer says X-Offline-Keep (portal/offline:
     KEPT), with the time each was fetched; the links such a page marks data-offline-keep are kept with it; a page
     older than KEPT_FOR is dropped, and every page is forgotten when an answer says X-Offline-Forget (the
     session was ended on another device or by an administrator);
   - when the link is down, shows the kept copy of a page, marked as a copy, or the offline queue's page;
   - when the link is down, keeps a submitted form that carries an offline key in the browser's offline queue
     (static/offline_queue.js) instead of losing it, and shows the queue's page. static/portal.js sends it later.
   Everything it fetches goes through the server's own checks; it never answers a form by itself. */
"use strict";

importScripts("{{ url_for('static', filename='offline_queue.js') }}");

var SHELL = {{ (names.shell ~ version)|tojson }};
var PAGES = {{ names.pages|tojson }};
var SHELL_FILES = {{ shell|tojson }};
var QUEUE_PAGE = {{ names.queue|tojson }};
var SHELL_PREFIX = {{ names.shell|tojson }};
var NOT_KEPT = {{ _("No link, and this page is not kept on this device.")|tojson }}; // not even the queue's page
var MAX_PAGES = 300;
var MAX_AGE_MS = {{ kept_for_ms }}; // a kept page older than this is not shown, and is dropped (portal/offline)
var FRESH_MS = 5 * 60 * 1000; // a linked page fetched less than this ago is not fetched again
// A link that hangs is as good as none: a kept page is shown after PAGE_WAIT_MS, a form is kept after
// FORM_WAIT_MS (should it still arrive, its key makes the queue's later send a no-op).
var PAGE_WAIT_MS = 8000;
var FORM_WAIT_MS = 20000;
var LINKS = /<a\b[^>]*\bdata-offline-keep\b[^>]*>/g;
var HREF = /\bhref="([^"]+)"/;

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(SHELL).then(function (cache) {
    return cache.addAll(SHELL_FILES);
  }).then(function () {
    return self.skipWaiting();
  }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (name) {
      return name.indexOf(SHELL_PREFIX) === 0 && name !== SHELL;
    }).map(function (name) { return caches.delete(name); }));
  }).then(function () {
    return expire();
  }).then(function () {
    return self.clients.claim();
  }));
});

self.addEventListener("fetch", function (event) {
  var request = event.request;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) {
    return;
  }
  if (request.method === "GET" && SHELL_FILES.indexOf(url.pathname) >= 0) {
    event.respondWith(caches.match(request).then(function (hit) {
      var fresh = fetch(request).then(function (response) {
        if (response.ok) {
          var copy = response.clone();
          event.waitUntil(caches.open(SHELL).then(function (cache) { return cache.put(request, copy); }));
        }
        return response;
      })["catch"](function () {
        return hit || Response.error();
      });
      return hit || fresh;
    }));
  } else if (request.method === "GET" && request.mode === "navigate") {
    event.respondWith(page(event));
  } else if (request.method === "POST" && request.mode === "navigate") {
    event.respondWith(post(request));
  }
});

function slow(ms) {
  return new Promise(function (resolve, reject) {
    setTimeout(function () { reject(new Error("the link is too slow")); }, ms);
  });
}

// A page: from the network, kept when the server says so; without a link (or a link that hangs), the kept copy.
function page(event) {
  var request = event.request;
  var network = fetch(request).then(function (response) {
    if (ended(response)) {
      event.waitUntil(forget());
    } else if (response.ok && response.headers.get("X-Offline-Keep") === "1") {
      event.waitUntil(keepResponse(request.url, response.clone(), 1)["catch"](function () { return null; }));
    }
    return response;
  });
  return Promise.race([network, slow(PAGE_WAIT_MS)])["catch"](function () {
    var url = new URL(request.url);
    return copyOf(url.pathname === QUEUE_PAGE ? QUEUE_PAGE : request.url).then(function (copy) {
      return copy || network["catch"](function () {
        return copyOf(QUEUE_PAGE, "missing").then(function (queued) {
          return queued || new Response(NOT_KEPT, {status: 503, headers: {"Content-Type": "text/plain; charset=utf-8"}});
        });
      });
    });
  });
}

// The kept copy of a page, marked so that static/portal.js says it is one and when it was fetched; a copy
// older than MAX_AGE_MS is not shown, and goes.
function copyOf(url, why) {
  return caches.open(PAGES).then(function (cache) {
    return cache.match(url, {ignoreVary: true}).then(function (hit) {
      if (hit && expired(url, hit)) {
        return cache["delete"](url, {ignoreVary: true}).then(function () { return null; });
      }
      return hit;
    });
  }).then(function (hit) {
    if (!hit) {
      return null;
    }
    var fetched = hit.headers.get("X-Offline-Fetched") || "";
    return hit.text().then(function (html) {
      var mark = '<body data-offline-copy="' + fetched + '"' + (why ? ' data-offline-why="' + why + '"' : "") + " ";
      return new Response(html.replace("<body ", mark), {status: 200, headers: hit.headers});
    });
  });
}

// Signing out moves this on: a page fetched before it is not kept after it.
var generation = 0;

// An answer that says the session was ended elsewhere: the kept pages go (the offline queue stays, for the sign-in).
function ended(response) {
  return response.headers.get("X-Offline-Forget") === "1";
}

function forget() {
  generation += 1;
  return caches["delete"](PAGES);
}

// The queue's page holds no resident's details and is where a form kept without a link leads: it does not age.
function expired(url, response) {
  var fetched = Date.parse(response.headers.get("X-Offline-Fetched") || "");
  return new URL(url, self.location.origin).pathname !== QUEUE_PAGE &&
    !(fetched && Date.now() - fetched < MAX_AGE_MS);
}

function keepResponse(url, response, depth) {
  var headers = new Headers(response.headers);
  headers.set("X-Offline-Fetched", new Date().toISOString());
  var started = generation;
  return response.text().then(function (html) {
    if (started !== generation) {
      return null;
    }
    var kept = new Response(html, {status: 200, headers: headers});
    return caches.open(PAGES).then(function (cache) {
      return cache.put(url, kept).then(function () { return trim(cache); });
    }).then(function () {
      if (depth > 0) {
        return keepLinked(html, url, depth - 1);
      }
    });
  });
}

// The pages a kept page links with data-offline-keep (a proxy's errands, a team's visits of today and
// tomorrow, the queue's cases), unless fetched a moment ago.
function keepLinked(html, base, depth) {
  var urls = [];
  (html.match(LINKS) || []).forEach(function (tag) {
    var href = HREF.exec(tag);
    if (href) {
      var url = new URL(href[1].replace(/&amp;/g, "&"), base);
      if (url.origin === self.location.origin && urls.indexOf(url.href) < 0) {
        urls.push(url.href);
      }
    }
  });
  return urls.slice(0, 30).reduce(function (done, url) {
    return done.then(function () { return keepUrl(url, depth, false); });
  }, Promise.resolve());
}

function keepUrl(url, depth, force) {
  return caches.open(PAGES).then(function (cache) {
    return cache.match(url, {ignoreVary: true});
  }).then(function (hit) {
    var fetched = hit && Date.parse(hit.headers.get("X-Offline-Fetched") || "");
    if (!force && fetched && Date.now() - fetched < FRESH_MS) {
      return null;
    }
    return fetch(url, {credentials: "same-origin"}).then(function (response) {
      if (ended(response)) {
        return forget();
      }
      if (response.ok && response.headers.get("X-Offline-Keep") === "1") {
        return keepResponse(url, response, depth);
      }
    }, function () { return null; });
  });
}

// The oldest pages go first, never the queue's page (where a form kept without a link leads).
function trim(cache) {
  return cache.keys().then(function (keys) {
    keys = keys.filter(function (key) { return new URL(key.url).pathname !== QUEUE_PAGE; });
    return Promise.all(keys.slice(0, Math.max(0, keys.length - MAX_PAGES)).map(function (key) {
      return cache["delete"](key);
    }));
  });
}

// Pages older than MAX_AGE_MS go (when the worker starts, and on each page the user opens).
function expire() {
  return caches.open(PAGES).then(function (cache) {
    return cache.keys().then(function (keys) {
      return Promise.all(keys.map(function (key) {
        return cache.match(key, {ignoreVary: true}).then(function (hit) {
          return hit && expired(key.url, hit) ? cache["delete"](key) : null;
        });
      }));
    });
  });
}

// A submitted form: to the server. Without a link (or one that hangs), a form that carries an offline key goes
// into the offline queue, and the queue's page is shown; any other form says that it needs the link. A form of a
// page kept before the queue was renamed carries outbox_key (COMPAT offline-queue-rename).
function post(request) {
  var copy = request.clone();
  var network = fetch(request);
  network.then(function (response) {
    return ended(response) ? forget() : null;
  }, function () { return null; });
  return copy.formData().then(function (fields) {
    if (!fields.get(PortalOfflineQueue.prefix + "key") && !fields.get(PortalOfflineQueue.oldPrefix + "key")) {
      return network["catch"](function () {
        return copyOf(QUEUE_PAGE, "unsaved").then(function (page) { return page || Response.error(); });
      });
    }
    return Promise.race([network, slow(FORM_WAIT_MS)])["catch"](function () {
      return PortalOfflineQueue.keep(copy.url, fields).then(function (item) {
        return notify({kept: item.key}).then(function () {
          return Response.redirect(QUEUE_PAGE + "?kept=" + encodeURIComponent(item.key), 303);
        });
      });
    });
  }, function () {
    return network; // not a form
  });
}

function notify(message) {
  return self.clients.matchAll({type: "window"}).then(function (clients) {
    clients.forEach(function (client) { client.postMessage(message); });
  });
}

self.addEventListener("message", function (event) {
  var data = event.data || {};
  if (data.keep) {
    event.waitUntil(data.keep.reduce(function (done, url) {
      return done.then(function () { return keepUrl(new URL(url, self.location.origin).href, 2, true); });
    }, Promise.resolve()).then(function () {
      return notify({keptPages: data.keep.length});
    }));
  } else if (data.ensure) {
    var url = new URL(data.ensure, self.location.origin).href;
    event.waitUntil(expire().then(function () {
      return caches.open(PAGES);
    }).then(function (cache) {
      return cache.match(url, {ignoreVary: true});
    }).then(function (hit) {
      return hit || keepUrl(url, 0, true);
    }));
  } else if (data.forget) {
    event.waitUntil(forget());
  }
});
