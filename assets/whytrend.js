/* whytrend's small browser helpers (Dash renders pages at any time, so everything listens on the
   document or observes it):
   1. chart-card tabs (WAI-ARIA tabs pattern): click, arrow keys, Home and End;
   2. dcc.Upload's hidden file input gets a name and leaves the tab order: the visible
      "Choose a file" button inside the drop zone is the one keyboard control (dcc.Upload has no
      prop for either);
   3. the navigation link of the page shown gets aria-current="page". */
(function () {
  "use strict";

  function tabsOf(tab) {
    var list = tab.closest('[role="tablist"]');
    return list ? Array.prototype.slice.call(list.querySelectorAll('[role="tab"]')) : [];
  }

  function select(tab, focus) {
    tabsOf(tab).forEach(function (other) {
      var on = other === tab;
      other.setAttribute("aria-selected", on ? "true" : "false");
      other.tabIndex = on ? 0 : -1;
      var panel = document.getElementById(other.getAttribute("aria-controls"));
      if (panel) {
        if (on) { panel.removeAttribute("hidden"); } else { panel.setAttribute("hidden", ""); }
      }
    });
    if (focus) { tab.focus(); }
    if (tab.id && /--tab-chart$/.test(tab.id)) {
      window.dispatchEvent(new Event("resize")); /* let Plotly fit a chart shown again */
    }
  }

  document.addEventListener("click", function (event) {
    var tab = event.target.closest && event.target.closest('.card-tabs [role="tab"]');
    if (tab) { select(tab, false); }
  });

  document.addEventListener("keydown", function (event) {
    var tab = event.target.closest && event.target.closest('.card-tabs [role="tab"]');
    if (!tab) { return; }
    var tabs = tabsOf(tab), i = tabs.indexOf(tab), next = null;
    if (event.key === "ArrowRight") { next = tabs[(i + 1) % tabs.length]; }
    else if (event.key === "ArrowLeft") { next = tabs[(i - 1 + tabs.length) % tabs.length]; }
    else if (event.key === "Home") { next = tabs[0]; }
    else if (event.key === "End") { next = tabs[tabs.length - 1]; }
    if (next) { event.preventDefault(); select(next, true); }
  });

  function labelUploads(root) {
    var inputs = (root.querySelectorAll ? root : document).querySelectorAll('.upload-zone input[type="file"]');
    Array.prototype.forEach.call(inputs, function (input) {
      if (input.getAttribute("data-whytrend-labelled")) { return; }
      var zone = input.closest(".upload-zone");
      var label = zone && zone.getAttribute("data-label");
      input.setAttribute("aria-label", label || "Choose a file to upload");
      input.setAttribute("tabindex", "-1");
      input.setAttribute("data-whytrend-labelled", "1");
    });
  }

  function markCurrentPage() {
    var links = document.querySelectorAll(".site-nav__link");
    Array.prototype.forEach.call(links, function (link) {
      var here = new URL(link.href, window.location.href).pathname === window.location.pathname;
      if (here) { link.setAttribute("aria-current", "page"); } else { link.removeAttribute("aria-current"); }
    });
  }

  var scheduled = false;
  function tidy() {
    scheduled = false;
    labelUploads(document);
    markCurrentPage();
  }
  new MutationObserver(function () {
    if (!scheduled) { scheduled = true; window.requestAnimationFrame(tidy); }
  }).observe(document.documentElement, { childList: true, subtree: true });
  document.addEventListener("DOMContentLoaded", tidy);
})();
