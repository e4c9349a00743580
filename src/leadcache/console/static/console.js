// leadcache console: a little progressive enhancement. Every page works without this file.
"use strict";
(function () {
  // Ask before destructive actions (forms with data-confirm).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) { event.preventDefault(); }
  });

  function swapMain(url) {
    return fetch(url, { credentials: "same-origin" }).then(function (r) {
      if (!r.ok) { return; }
      return r.text().then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.getElementById("main");
        var main = document.getElementById("main");
        if (fresh && main) { main.replaceWith(fresh); }
      });
    });
  }

  // The overview refreshes itself every 15 s while visible.
  if (document.body.dataset.page === "overview") {
    setInterval(function () {
      if (document.visibilityState === "visible") { swapMain(window.location.href); }
    }, 15000);
  }

  // Lead search as you type (the form still submits without this).
  var search = document.querySelector('.search input[name="q"]');
  if (search) {
    var timer = null;
    var latest = 0;
    search.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        var url = "/leads?q=" + encodeURIComponent(search.value);
        var mine = ++latest;
        fetch(url, { credentials: "same-origin" }).then(function (r) { return r.text(); })
          .then(function (html) {
            if (mine !== latest) { return; }  // a newer search was typed meanwhile
            var doc = new DOMParser().parseFromString(html, "text/html");
            var fresh = doc.getElementById("results");
            var results = document.getElementById("results");
            if (fresh && results) {
              results.replaceWith(fresh);
              history.replaceState(null, "", url);
            }
          });
      }, 250);
    });
  }
})();
