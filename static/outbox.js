/* The browser's outbox: forms submitted while the link was down, kept in IndexedDB until they are sent.
   Shared by the service worker (templates/offline/sw.js), which keeps a form, and by static/portal.js, which
   lists and sends them. An item is what the user submitted, minus the CSRF token (a fresh one is asked for
   when it is sent): its fields, the address it was posted to, the key and time the page gave it when the user
   acted, who acted, and what the outbox shows it as. Items keep their order (seq). */
(function (scope) {
  "use strict";

  var NAME = "portal-outbox";
  var STORE = "items";

  function open() {
    return new Promise(function (resolve, reject) {
      var request = indexedDB.open(NAME, 1);
      request.onupgradeneeded = function () {
        var store = request.result.createObjectStore(STORE, {keyPath: "seq", autoIncrement: true});
        store.createIndex("key", "key", {unique: true});
      };
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { reject(request.error); };
    });
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

  // Keep a submitted form (a FormData); a second submission of the same key is the same item.
  function keep(url, fields) {
    var pairs = [];
    fields.forEach(function (value, name) {
      if (name !== "csrf_token" && typeof value === "string") {
        pairs.push([name, value]);
      }
    });
    var item = {
      key: fields.get("outbox_key"),
      user: fields.get("outbox_user") || "",
      label: fields.get("outbox_label") || "",
      caseNumber: fields.get("outbox_case") || "",
      actedAt: fields.get("outbox_acted_at") || new Date().toISOString(),
      sessionUntil: fields.get("outbox_until") || "",
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
    return run("readwrite", function (store) {
      var found = store.index("key").get(item.key);
      found.onsuccess = function () {
        if (!found.result) {
          store.add(item);
        }
      };
    }).then(function () { return item; });
  }

  function update(item) {
    return run("readwrite", function (store) { store.put(item); });
  }

  function remove(seq) {
    return run("readwrite", function (store) { store["delete"](seq); });
  }

  scope.PortalOutbox = {all: all, keep: keep, update: update, remove: remove};
})(self);
