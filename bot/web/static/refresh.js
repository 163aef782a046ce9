// Optional live updates: every data-refresh seconds, fetch this page again and swap in its <main>.
// The pages are complete without it (server-rendered); it only saves pressing reload.
(function () {
  var main = document.getElementById("main");
  var seconds = main && parseInt(main.getAttribute("data-refresh"), 10);
  if (!seconds || !window.fetch || !window.DOMParser) return;
  function tick() {
    if (document.hidden) return setTimeout(tick, seconds * 1000);
    fetch(location.href, {credentials: "same-origin", headers: {"X-Requested-With": "refresh"}})
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (html) {
          var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("main");
          if (fresh && fresh.innerHTML !== main.innerHTML) main.innerHTML = fresh.innerHTML;
        }
      })
      .catch(function () {})
      .then(function () { setTimeout(tick, seconds * 1000); });
  }
  setTimeout(tick, seconds * 1000);
})();
