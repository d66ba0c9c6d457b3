/* whytrend's small browser helpers (Dash renders pages at any time, so everything listens on the
   document or observes it):
   1. chart-card tabs (WAI-ARIA tabs pattern): click, arrow keys, Home and End;
   2. dcc.Upload's hidden file input gets a name and leaves the tab order: the visible
      "Choose a file" button inside the drop zone is the one keyboard control (dcc.Upload has no
      prop for either);
   3. the navigation link of the page shown gets aria-current="page";
   4. charts on narrow screens (phones; figures are built on the server for any width): fewer ticks
      on a horizontal value axis, and every other tick labelled if long numbers still touch; an axis
      title too wide broken in two; a wider value range when the labels beside horizontal bars would
      run into the area names or off the chart; and more height when a legend wraps below the plot,
      so the plot keeps at least half the chart. Undone when the chart is wide again;
   5. sortable tables (the Summary's): a button in each sortable column heading sorts the rows by
      their data-sort-value, ascending then descending, and says so with aria-sort and a status line;
   6. buttons marked data-print open the browser's print dialog (print or save as PDF);
   7. answers first: when a page replaces its answer (.js-answer) after the reader changed a control,
      the new answer is announced, and after a committed choice (click, Enter) its heading is scrolled
      into view and focused; the metric picker's search box (.js-picker-search) filters its options;
   8. a table wider than its box is marked (data-overflow) so the page shows a scroll cue. */
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
        if (on) {
          panel.removeAttribute("hidden");
          Array.prototype.forEach.call(panel.querySelectorAll(".table-scroll"), markOverflow);
        } else { panel.setAttribute("hidden", ""); }
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

  var NARROW = 520;           /* px: a chart narrower than this gets the phone adjustments */

  function valueAxes(gd) {
    /* a horizontal value axis with automatic ticks (its labels sit side by side; category and period
       axes have ticks of their own) */
    return ["xaxis"].filter(function (name) {
      var axis = gd._fullLayout[name];
      return axis && axis.type === "linear" && axis.tickmode === "auto";
    });
  }

  function labelOverflow(gd) {
    /* how far (px) the value labels drawn outside horizontal bars reach beyond the plot, left and right */
    var texts = gd.querySelectorAll(".bartext");
    var frame = gd.querySelector(".nsewdrag");   /* the plot area's drag rectangle */
    if (!texts.length) { return [0, 0]; }
    if (!frame) { return [0, 0]; }
    var area = frame.getBoundingClientRect(), left = 0, right = 0;
    Array.prototype.forEach.call(texts, function (text) {
      var box = text.getBoundingClientRect();
      if (!box.width) { return; }
      left = Math.max(left, area.left - box.left + 4);
      right = Math.max(right, box.right - area.right + 4);
    });
    return [left, right];
  }

  function fitChart(gd) {
    if (!window.Plotly || !gd._fullLayout || !gd.layout || gd.__whytrendFitting) { return; }
    var box = gd.closest(".dash-graph") || gd.parentElement;   /* its height is the chart's height */
    var narrow = box.clientWidth > 0 && box.clientWidth < NARROW;
    var full = gd._fullLayout, size = full._size;
    var state = gd.__whytrendFit || (gd.__whytrendFit = {
      height: parseFloat(box.style.height) || 0, nticks: {}, passes: 0,
      range: gd.layout.xaxis && gd.layout.xaxis.range ? gd.layout.xaxis.range.slice() : null});
    var update = {};
    valueAxes(gd).forEach(function (name) {
      if (!(name in state.nticks)) { state.nticks[name] = (gd.layout[name] || {}).nticks || 0; }
      var wanted = narrow ? 4 : state.nticks[name];
      if ((gd.layout[name] || {}).nticks !== wanted) { update[name + ".nticks"] = wanted; }
    });
    if (state.height && full.showlegend && size) {
      /* a legend wrapping below the plot squeezes it: keep the plot at least half the chart's height */
      var below = (full.legend || {}).y < 0;
      var plot = size.h - (full.height - state.height);   /* the plot's height at the designed size */
      var extra = narrow && below ? Math.max(0, Math.round(state.height / 2 - plot)) : 0;
      var height = Math.round(state.height + extra);
      if (Math.abs(box.clientHeight - height) > 2 || Math.abs(full.height - height) > 2) {
        box.style.height = height + "px";   /* the box and the chart keep the same height */
        update.height = height;
      }
    }
    var bars = (gd.data || []).some(function (t) { return t.type === "bar" && t.orientation === "h" && t.text; });
    if (bars && full.xaxis && full.xaxis.type === "linear" && size) {
      /* value labels outside the bars must not run into the area names or off the chart: widen the range */
      if (!narrow) {
        if (state.passes) {
          state.passes = 0;
          if (state.range) { update["xaxis.range"] = state.range.slice(); } else { update["xaxis.autorange"] = true; }
        }
      } else if (state.passes < 3) {
        var over = labelOverflow(gd), range = full.xaxis.range.slice(), perPx = (range[1] - range[0]) / size.w;
        if (over[0] > 1 || over[1] > 1) {
          state.passes += 1;
          update["xaxis.range"] = [range[0] - 1.4 * over[0] * perPx, range[1] + 1.4 * over[1] * perPx];
        }
      }
    }
    if (narrow && full.xaxis) {
      /* tick labels that touch: label every other tick (then every third ...) */
      var ticks = Array.prototype.map.call(gd.querySelectorAll(".xtick text"), function (t) {
        return t.getBoundingClientRect();
      }).filter(function (r) { return r.width; }).sort(function (a, b) { return a.left - b.left; });
      var touching = ticks.some(function (r, i) { return i && ticks[i - 1].right + 6 > r.left; });
      var step = full.xaxis.ticklabelstep || 1;
      if (touching && step < 4) { update["xaxis.ticklabelstep"] = step + 1; }
      /* an axis title wider than the chart: break it in two */
      var title = gd.querySelector(".xtitle"), svg = gd.querySelector(".main-svg");
      var text = ((gd.layout.xaxis || {}).title || {}).text;
      var inside = function (a, b) { return a.left >= b.left - 1 && a.right <= b.right + 1; };
      if (title && svg && typeof text === "string" && text.indexOf("<br>") < 0 &&
          !inside(title.getBoundingClientRect(), svg.getBoundingClientRect())) {
        var middle = text.lastIndexOf(" ", Math.floor(text.length / 2) + 4);
        if (middle > 0) { update["xaxis.title.text"] = text.slice(0, middle) + "<br>" + text.slice(middle + 1); }
      }
    }
    if (Object.keys(update).length) {
      gd.__whytrendFitting = true;
      state.relayouts = (state.relayouts || 0) + 1;
      window.Plotly.relayout(gd, update).then(function () {
        gd.__whytrendFitting = false;
        if (state.relayouts < 8) { fitChart(gd); }   /* check again at the new size and scale */
      }, function () { gd.__whytrendFitting = false; });
    }
  }

  function watchCharts(root) {
    Array.prototype.forEach.call(root.querySelectorAll(".js-plotly-plot"), function (gd) {
      if (gd.__whytrendWatched || !gd.on) { return; }
      gd.__whytrendWatched = true;
      gd.on("plotly_afterplot", function () { fitChart(gd); });
      fitChart(gd);
    });
  }

  function sortTable(button) {
    var th = button.closest("th"), table = button.closest("table");
    if (!th || !table) { return; }
    var index = Array.prototype.indexOf.call(th.parentNode.children, th);
    var numeric = th.getAttribute("data-sort-type") === "number";
    var ascending = th.getAttribute("aria-sort") !== "ascending";
    Array.prototype.forEach.call(table.querySelectorAll("thead th[aria-sort]"), function (other) {
      other.setAttribute("aria-sort", "none");
    });
    th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    function key(row) {
      var cell = row.children[index], value = cell ? (cell.getAttribute("data-sort-value") || cell.textContent) : "";
      return numeric ? parseFloat(value) || 0 : value.toLowerCase();
    }
    rows.sort(function (a, b) {
      var x = key(a), y = key(b), order = x < y ? -1 : x > y ? 1 : 0;
      return ascending ? order : -order;
    });
    rows.forEach(function (row) { body.appendChild(row); });
    var status = table.parentNode.parentNode.querySelector(".sort-status");
    if (status) {
      status.textContent = "Sorted by " + button.textContent.trim().toLowerCase() + ", " +
        (ascending ? "ascending" : "descending") + ".";
    }
  }

  document.addEventListener("click", function (event) {
    var sort = event.target.closest && event.target.closest(".sortable-table .sort-button");
    if (sort) { sortTable(sort); return; }
    var print = event.target.closest && event.target.closest("[data-print]");
    if (print) { window.print(); }
  });

  /* answers first. A new answer is always announced (a polite status line). It is also scrolled into
     view and its heading focused when the reader committed a choice (a mouse click, Enter, or a
     button), but not while they move through radios with the arrow keys or go from field to field:
     taking focus away then would be a change of context they did not ask for (WCAG 3.2.2). */
  var lastCommit = 0;
  document.addEventListener("click", function (event) {
    var control = event.target.closest && event.target.closest(".controls");
    if (control && (event.detail > 0 || event.target.closest("button"))) { lastCommit = Date.now(); }
  }, true);
  document.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && event.target.closest && event.target.closest(".controls")) { lastCommit = Date.now(); }
  }, true);

  function announce(text) {
    var status = document.getElementById("answer-status");
    if (!status) {
      status = document.createElement("div");
      status.id = "answer-status";
      status.className = "visually-hidden";
      status.setAttribute("role", "status");
      document.body.appendChild(status);
    }
    status.textContent = text;
  }

  function bringAnswer(answer) {
    var heading = answer.querySelector("h2");
    if (!heading || answer.__whytrendShown === heading) { return; }
    var first = !answer.__whytrendShown;
    answer.__whytrendShown = heading;
    if (first) { return; }   /* the page as loaded: nothing to announce */
    var lead = answer.querySelector(".lead");
    announce("Updated: " + heading.textContent + ". " + (lead ? lead.textContent : ""));
    if (Date.now() - lastCommit > 15000) { return; }
    heading.setAttribute("tabindex", "-1");
    heading.focus({ preventScroll: true });
    heading.scrollIntoView({ block: "start", behavior: "auto" });
  }

  function filterPicker(input) {
    var picker = input.closest(".metric-picker");
    if (!picker) { return; }
    var words = input.value.trim().toLowerCase().split(/\s+/).filter(Boolean), shown = 0;
    Array.prototype.forEach.call(picker.querySelectorAll(".form-check"), function (option) {
      var text = option.textContent.toLowerCase() + " " +
        (option.closest("fieldset") && option.closest("fieldset").querySelector("legend") ?
          option.closest("fieldset").querySelector("legend").textContent.toLowerCase() : "");
      var match = words.every(function (w) { return text.indexOf(w) >= 0; });
      option.hidden = !match;
      if (match) { shown += 1; }
    });
    Array.prototype.forEach.call(picker.querySelectorAll("fieldset fieldset"), function (group) {
      group.hidden = !group.querySelector(".form-check:not([hidden])");
    });
    var status = picker.querySelector(".picker-status");
    if (status) {
      status.textContent = words.length ? (shown === 1 ? "1 metric matches" : shown + " metrics match") : "";
    }
  }
  document.addEventListener("input", function (event) {
    /* dcc.Input wraps its <input> in a div that carries the class */
    if (event.target.closest && event.target.closest(".js-picker-search")) { filterPicker(event.target); }
  });

  /* wide tables: say which way they scroll (data-overflow = start | both | end; none when they fit) */
  function markOverflow(box) {
    var extra = box.scrollWidth - box.clientWidth;
    if (extra <= 1 || !box.clientWidth) { box.removeAttribute("data-overflow"); return; }
    var left = box.scrollLeft > 1, right = box.scrollLeft < extra - 1;
    box.setAttribute("data-overflow", left && right ? "both" : left ? "end" : "start");
  }
  document.addEventListener("scroll", function (event) {
    if (event.target.classList && event.target.classList.contains("table-scroll")) { markOverflow(event.target); }
  }, true);

  var resizing = null;
  window.addEventListener("resize", function () {
    window.clearTimeout(resizing);
    resizing = window.setTimeout(function () {
      Array.prototype.forEach.call(document.querySelectorAll(".js-plotly-plot"), fitChart);
      Array.prototype.forEach.call(document.querySelectorAll(".table-scroll"), markOverflow);
    }, 150);
  });

  var scheduled = false;
  function tidy() {
    scheduled = false;
    labelUploads(document);
    markCurrentPage();
    watchCharts(document);
    Array.prototype.forEach.call(document.querySelectorAll(".js-answer"), bringAnswer);
    Array.prototype.forEach.call(document.querySelectorAll(".table-scroll"), markOverflow);
  }
  new MutationObserver(function () {
    if (!scheduled) { scheduled = true; window.requestAnimationFrame(tidy); }
  }).observe(document.documentElement, { childList: true, subtree: true });
  document.addEventListener("DOMContentLoaded", tidy);
})();
