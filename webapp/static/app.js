/* hvkb: progressive enhancement only. Every page works without this file.
 * - search-as-you-type over /api/search (debounced; stale responses dropped)
 * - copy buttons on the draft page
 * No inline handlers and no innerHTML of untrusted text (the CSP forbids inline script anyway). */
(function () {
  "use strict";

  var DEBOUNCE_MS = 250;
  var MIN_CHARS = 2;

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function searchUrl(params) {
    return "/search?" + new URLSearchParams(params).toString();
  }

  function docUrl(hit) {
    var id = encodeURIComponent(hit.id);
    if (hit.kind === "snippet" && hit.parent) {
      return "/articles/" + encodeURIComponent(hit.parent) + "#snippet-" + id;
    }
    return "/articles/" + id + (hit.section ? "#" + encodeURIComponent(hit.section) : "");
  }

  /* The excerpt is HTML-escaped text with <mark> tags. Rebuild it from a parsed copy keeping only
   * text and <mark>, so nothing else can ever reach the page. */
  function excerptNode(html) {
    var p = el("p", "excerpt");
    var doc = new DOMParser().parseFromString("<p>" + (html || "") + "</p>", "text/html");
    var source = doc.body.firstChild;
    (source ? Array.prototype.slice.call(source.childNodes) : []).forEach(function (n) {
      if (n.nodeType === 1 && n.nodeName === "MARK") {
        p.appendChild(el("mark", null, n.textContent));
      } else {
        p.appendChild(document.createTextNode(n.textContent));
      }
    });
    return p;
  }

  function badge(className, text, href) {
    var b = el(href ? "a" : "span", "badge " + className, text);
    if (href) b.href = href;
    return b;
  }

  function hitNode(hit) {
    var li = el("li", "hit");
    var a = el("a", "hit-title", hit.title);
    a.href = docUrl(hit);
    if (hit.section_title) {
      a.appendChild(document.createTextNode(" "));
      a.appendChild(el("span", "hit-section", "› " + hit.section_title));
    }
    li.appendChild(a);
    var badges = el("div", "badges");
    badges.appendChild(badge(hit.kind === "snippet" ? "badge-snippet" : "badge-article",
      hit.kind === "snippet" ? "snippet" : "article"));
    badges.appendChild(badge("badge-topic", hit.topic, "/topics#topic-" + encodeURIComponent(hit.topic)));
    li.appendChild(badges);
    li.appendChild(excerptNode(hit.excerpt));
    return li;
  }

  function formParams(form) {
    var params = {};
    new FormData(form).forEach(function (value, key) {
      if (typeof value === "string" && value.trim() !== "") params[key] = value.trim();
    });
    return params;
  }

  function renderResults(target, data, params, fullPage) {
    target.replaceChildren();
    if (data.suggestion) {
      var s = el("p", "suggestion", "Did you mean ");
      var link = el("a", null, data.suggestion);
      link.href = searchUrl(Object.assign({}, params, { q: data.suggestion }));
      s.appendChild(link);
      s.appendChild(document.createTextNode("?"));
      target.appendChild(s);
    }
    var summary = el("p", "summary");
    if (data.results.length) {
      summary.textContent = data.total + (data.total === 1 ? " result" : " results") + " for ";
    } else {
      summary.textContent = "No results for ";
    }
    summary.appendChild(el("strong", null, data.query));
    target.appendChild(summary);
    if (data.results.length) {
      var ol = el("ol", "hits");
      data.results.forEach(function (hit) { ol.appendChild(hitNode(hit)); });
      target.appendChild(ol);
    }
    if (data.total > data.results.length) {
      var more = el("p", fullPage ? "pagination" : "more");
      var next = el("a", null, fullPage ? "Next →" : "All " + data.total + " results →");
      next.href = searchUrl(fullPage ? Object.assign({}, params, { page: 2 }) : params);
      if (fullPage) next.rel = "next";
      more.appendChild(next);
      target.appendChild(more);
    }
  }

  function renderError(target, message) {
    target.replaceChildren(el("p", "notice notice-error", message));
  }

  function setupLiveSearch(form) {
    var target = document.getElementById(form.dataset.liveTarget || "");
    var input = form.querySelector("input[name=q]");
    if (!target || !input || !window.fetch || !window.URLSearchParams) return;
    var fullPage = form.dataset.livePage === "search";
    var limit = form.dataset.liveLimit || "10";
    var timer = null;
    var seq = 0;
    var controller = null;
    var lastKey = null;

    function run() {
      var params = formParams(form);
      var q = (params.q || "");
      if (q.length < MIN_CHARS) {
        if (!fullPage) target.replaceChildren();
        return;
      }
      var key = new URLSearchParams(params).toString();
      if (key === lastKey) return;
      lastKey = key;
      if (controller) controller.abort();
      controller = window.AbortController ? new AbortController() : null;
      var mine = ++seq;
      var apiParams = Object.assign({ limit: limit }, params);
      fetch("/api/search?" + new URLSearchParams(apiParams).toString(),
        { headers: { Accept: "application/json" }, signal: controller ? controller.signal : undefined })
        .then(function (resp) {
          return resp.json().then(function (data) { return { ok: resp.ok, data: data }; });
        })
        .then(function (r) {
          if (mine !== seq) return;  // a newer query was typed meanwhile
          if (r.ok) renderResults(target, r.data, params, fullPage);
          else renderError(target, r.data && r.data.error ? r.data.error : "Search failed.");
          target.setAttribute("data-live-query", q);
          if (fullPage && window.history && history.replaceState) {
            history.replaceState(null, "", searchUrl(params));
          }
        })
        .catch(function (err) {
          if (err && err.name === "AbortError") return;
          /* offline or server gone: leave the page as it is; the form still submits */
        });
    }

    function schedule() {
      clearTimeout(timer);
      timer = setTimeout(run, DEBOUNCE_MS);
    }

    input.addEventListener("input", schedule);
    Array.prototype.forEach.call(form.querySelectorAll("select"), function (select) {
      select.addEventListener("change", function () { clearTimeout(timer); run(); });
    });
    lastKey = new URLSearchParams(formParams(form)).toString();  // the server already rendered this
  }

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text).catch(function () { return fallbackCopy(text); });
    }
    return fallbackCopy(text);
  }

  function fallbackCopy(text) {
    return new Promise(function (resolve, reject) {
      var area = el("textarea", "offscreen");
      area.value = text;
      area.setAttribute("readonly", "");
      document.body.appendChild(area);
      area.select();
      var ok = false;
      try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
      document.body.removeChild(area);
      if (ok) resolve(); else reject(new Error("copy refused"));
    });
  }

  function setupCopyButtons() {
    var status = document.getElementById("copy-status");
    Array.prototype.forEach.call(document.querySelectorAll("button[data-copy]"), function (button) {
      var source = document.getElementById(button.dataset.copy);
      if (!source) return;
      button.hidden = false;
      button.addEventListener("click", function () {
        var label = button.dataset.copyLabel || "text";
        copyText(source.value).then(function () {
          if (status) status.textContent = "Copied " + label + " to the clipboard.";
        }, function () {
          if (status) status.textContent = "Could not copy: select the text and press Ctrl+C.";
          source.focus();
          source.select();
        });
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("form[data-live-search]"), setupLiveSearch);
    setupCopyButtons();
  });
})();
