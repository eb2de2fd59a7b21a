/* The browser's offline queue (待上传): forms submitted while the link was down, kept in IndexedDB until they are
   sent. Shared by the service worker (templates/offline/sw.js), which keeps a form, and by static/portal.js, which
   lists and sends them. An item is what the user submitted, minus the CSRF token (a fresh one is asked for
   when it is sent): its fields, the address it was posted to, the key and time the page gave it when the user
   acted, who acted, and what the queue shows it as. Items keep their order (seq).
   (Not the server's message outbox, domain/platform/outbox.py: that one holds SMS and e-mail.)

   Before this release the queue was named "portal-outbox" and its forms' fields outbox_*: items still kept
   under that name are moved into this queue, in their order, before it is first opened (renamed to offline_*),
   and the old database goes. For this one release only (COMPAT offline-queue-rename: the next release removes
   each line so marked, here, in sw.js, portal.js and portal/web/replay.py) the server takes both names. */
(function (scope) {
  "use strict";

  var NAME = "portal-offline-queue";
  var OLD_NAME = "portal-outbox"; // COMPAT offline-queue-rename (docs/ARCHITECTURE.md, "Offline")
  var STORE = "items";
  var PREFIX = "offline_";
  var OLD_PREFIX = "outbox_";

  function openNamed(name, create) {
    return new Promise(function (resolve, reject) {
      var request = indexedDB.open(name, 1);
      request.onupgradeneeded = function (event) {
        if (!create && event.oldVersion === 0) { // there is none: make none
          request.transaction.abort();
          return;
        }
        var store = request.result.createObjectStore(STORE, {keyPath: "seq", autoIncrement: true});
        store.createIndex("key", "key", {unique: true});
      };
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function (event) {
        if (!create) {
          if (event.preventDefault) {
            event.preventDefault();
          }
          resolve(null);
        } else {
          reject(request.error);
        }
      };
    });
  }

  // A field's name as this release spells it.
  function renamed(name) {
    return name.indexOf(OLD_PREFIX) === 0 ? PREFIX + name.slice(OLD_PREFIX.length) : name;
  }

  // What the old queue holds goes into this one, in its order (an item already here, by its key, is not added
  // twice: the worker and a page may both do it), and then the old queue goes.
  function migrate() {
    return openNamed(OLD_NAME, false).then(function (old) {
      if (!old) {
        return null;
      }
      return new Promise(function (resolve) {
        var read = old.transaction(STORE, "readonly").objectStore(STORE).getAll();
        read.onsuccess = function () { resolve(read.result || []); };
        read.onerror = function () { resolve([]); };
      }).then(function (items) {
        old.close();
        return openNamed(NAME, true).then(function (db) {
          return new Promise(function (resolve, reject) {
            var transaction = db.transaction(STORE, "readwrite");
            var store = transaction.objectStore(STORE);
            items.sort(function (a, b) { return a.seq - b.seq; }).forEach(function (item) {
              var found = store.index("key").get(item.key);
              found.onsuccess = function () {
                if (!found.result) {
                  delete item.seq;
                  item.fields = (item.fields || []).map(function (pair) { return [renamed(pair[0]), pair[1]]; });
                  store.add(item);
                }
              };
            });
            transaction.oncomplete = function () { db.close(); resolve(); };
            transaction.onerror = transaction.onabort = function () { db.close(); reject(transaction.error); };
          });
        });
      }).then(function () {
        return new Promise(function (resolve) {
          var gone = indexedDB.deleteDatabase(OLD_NAME);
          gone.onsuccess = gone.onerror = gone.onblocked = function () { resolve(); };
        });
      });
    })["catch"](function () { return null; }); // the old queue stays for the next try; this one works meanwhile
  }

  var migrated = null;

  function open() {
    migrated = migrated || migrate();
    return migrated.then(function () { return openNamed(NAME, true); });
  }

  function run(mode, work) {
    return open().then(function (db) {
      return new Promise(function (resolve, reject) {
        var transaction = db.transaction(STORE, mode);
        var result = work(transaction.objectStore(STORE));
        transaction.oncomplete = function () {
          db.close();
          resolve(result && "result" in result ? result.result : result);
        };
        transaction.onerror = transaction.onabort = function () {
          db.close();
          reject(transaction.error);
        };
      });
    });
  }

  function all() {
    return run("readonly", function (store) { return store.getAll(); });
  }

  // What the user typed or chose, without what the page added for the queue: two items with the same are one
  // action done twice.
  function typed(pairs) {
    return JSON.stringify(pairs.filter(function (pair) { return pair[0].indexOf(PREFIX) !== 0; }));
  }

  function waits(item) {
    return item.state === "waiting" || item.state === "confirm";
  }

  // Keep a submitted form (a FormData). A second submission of the same key is the same item, and so is the same
  // action submitted again on a kept page (same user, address and fields) while the first still waits.
  function keep(url, fields) {
    var pairs = [];
    fields.forEach(function (value, name) {
      if (name !== "csrf_token" && typeof value === "string") {
        pairs.push([renamed(name), value]);
      }
    });
    var get = function (name) {
      var pair = pairs.filter(function (p) { return p[0] === PREFIX + name; })[0];
      return pair ? pair[1] : "";
    };
    var item = {
      key: get("key"),
      user: get("user"),
      label: get("label"),
      caseNumber: get("case"),
      actedAt: get("acted_at") || new Date().toISOString(),
      sessionUntil: get("until"),
      keptAt: new Date().toISOString(),
      url: url,
      fields: pairs,
      state: "waiting", // or "confirm": done after the session would have ended (sent once the user confirms)
      message: "",
      next: ""
    };
    if (item.sessionUntil && Date.parse(item.actedAt) > Date.parse(item.sessionUntil)) {
      item.state = "confirm";
    }
    var kept = item;
    return run("readwrite", function (store) {
      var found = store.index("key").get(item.key);
      found.onsuccess = function () {
        if (found.result) {
          kept = found.result;
          return;
        }
        var everything = store.getAll();
        everything.onsuccess = function () {
          var same = everything.result.filter(function (other) {
            return waits(other) && other.user === item.user && other.url === item.url &&
              typed(other.fields) === typed(item.fields);
          })[0];
          if (same) {
            kept = same;
          } else {
            store.add(item);
          }
        };
      };
    }).then(function () { return kept; });
  }

  function update(item) {
    return run("readwrite", function (store) { store.put(item); });
  }

  function remove(seq) {
    return run("readwrite", function (store) { store["delete"](seq); });
  }

  scope.PortalOfflineQueue = {all: all, keep: keep, update: update, remove: remove, waits: waits, prefix: PREFIX,
                              oldPrefix: OLD_PREFIX};
})(self);
