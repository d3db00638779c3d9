/* hvkb: progressive enhancement only. Every page works without this file.
 * - search-as-you-type over /api/search (debounced; stale responses dropped)
 * - copy buttons on the draft page
 * - keys: "/" focuses the search box; Ctrl+Enter (Cmd+Enter) in a question box drafts
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

  /* Text of the results, to tell a finished last word from one still being typed. */
  function resultWords(data) {
    var text = data.results.map(function (hit) {
      var excerpt = new DOMParser().parseFromString("<p>" + (hit.excerpt || "") + "</p>", "text/html");
      return [hit.title, hit.section_title || "", excerpt.body.textContent].join(" ");
    }).join(" ").toLowerCase();
    return text.match(/[\w-]+/g) || [];
  }

  /* Live search runs while a word is half typed ("quorum wit"): a "Did you mean" then would correct
   * a fragment, or offer the fragment back as a suggestion. The last word counts as finished when
   * a space or punctuation follows it, or when the results hold it as a whole word or hold no
   * longer word it begins; until then no suggestion is shown. A submitted search always gets one. */
  function lastWordInProgress(query, data) {
    var m = /([\w-]+)$/.exec(query);
    if (!m) return false;
    var last = m[1].toLowerCase();
    var seen = resultWords(data);
    if (seen.indexOf(last) !== -1) return false;
    return seen.some(function (w) { return w.length > last.length && w.lastIndexOf(last, 0) === 0; });
  }

  function renderResults(target, data, params, fullPage, typed) {
    target.replaceChildren();
    if (data.suggestion && !lastWordInProgress(typed === undefined ? params.q || "" : typed, data)) {
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
    var lastData = null;

    function run() {
      var params = formParams(form);
      var q = (params.q || "");
      if (q.length < MIN_CHARS) {
        if (!fullPage) target.replaceChildren();
        return;
      }
      var typed = input.value;  // untrimmed: a trailing space says the last word is finished
      var key = new URLSearchParams(params).toString();
      if (key === lastKey) {
        // Same search; a space typed after the last word may now let its "Did you mean" show.
        if (lastData) renderResults(target, lastData, params, fullPage, typed);
        return;
      }
      lastKey = key;
      lastData = null;  // the data of an older search must not be shown for this one
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
          lastData = r.ok ? r.data : null;
          if (r.ok) renderResults(target, r.data, params, fullPage, typed);
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

  function isTypingTarget(node) {
    if (!node || node === document.body) return false;
    var tag = node.nodeName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || node.isContentEditable;
  }

  function setupKeys() {
    document.addEventListener("keydown", function (event) {
      if (event.key === "/" && !event.ctrlKey && !event.metaKey && !event.altKey && !isTypingTarget(event.target)) {
        var box = document.getElementById("q") || document.getElementById("header-q");
        if (!box) return;
        event.preventDefault();
        box.focus();
        box.select();
        return;
      }
      var target = event.target;
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && target && target.nodeName === "TEXTAREA"
          && target.name === "question" && target.form) {
        event.preventDefault();
        if (target.form.requestSubmit) target.form.requestSubmit(); else target.form.submit();
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("form[data-live-search]"), setupLiveSearch);
    setupCopyButtons();
    setupKeys();
  });
})();
