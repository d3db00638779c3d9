/* hvkb draft page: the preview and the plain-text copy follow the editable Markdown box.
 * Loaded only by views/answer.html, after vendor/markdown-it/markdown-it.min.js (window.markdownit).
 * The page works without it: the server renders the first preview and plain text.
 * No innerHTML: the rendered preview is parsed off-document and its nodes moved in. */
(function (root) {
  "use strict";

  var INPUT_DEBOUNCE_MS = 120;  // a long draft re-renders in ~1 ms; this only spares keystroke bursts

  /* The server's parser (kb/markdown.py): "commonmark", raw HTML shown as text, no autolinking. */
  function parser(markdownit) {
    return markdownit("commonmark", { html: false, linkify: false, typographer: false }).enable("table");
  }

  /* An inline token's children as plain text: marks dropped, links as "title (url)" like
   * kb.compose.markdown_to_text, so a pasted plain reply still carries its addresses. */
  function inlineText(children) {
    var out = "";
    var links = [];
    (children || []).forEach(function (t) {
      switch (t.type) {
        case "text":
        case "code_inline":
          out += t.content;
          break;
        case "softbreak":
        case "hardbreak":
          out += "\n";
          break;
        case "link_open":
          links.push({ href: t.attrGet("href") || "", start: out.length, auto: t.markup === "autolink" });
          break;
        case "link_close":
          var link = links.pop();
          if (link && link.href && !link.auto && out.slice(link.start) !== link.href) out += " (" + link.href + ")";
          break;
        case "image":
          out += inlineText(t.children) + (t.attrGet("src") ? " (" + t.attrGet("src") + ")" : "");
          break;
        default:
          break;  // strong/em open and close: the words stay, the marks go
      }
    });
    return out;
  }

  function leadingSpace(line) {
    return (/^[ \t]*/.exec(line || "") || [""])[0];
  }

  /* Markdown to plain text with the source's own layout: the same blank lines between blocks, list
   * markers and indentation, headings without "#", code as written. For a drafted reply this is the
   * text kb.compose.markdown_to_text gives (the server's "Plain text version"). */
  function plainText(md, source) {
    var lines = source.split("\n");
    var tokens = md.parse(source, {});
    var out = [];
    var lastEnd = null;   // source line after the last block written
    var items = [];       // open list items: {marker, indent, used}
    var quotes = 0;
    var lists = [];       // open lists: {ordered}
    var row = null;

    function prefix(startLine) {
      var p = "";
      for (var q = 0; q < quotes; q++) p += "> ";
      var item = items.length ? items[items.length - 1] : null;
      if (item) {
        if (!item.used) {
          p += item.indent + item.marker + " ";
          item.used = true;
        } else {
          p += item.indent + new Array(item.marker.length + 2).join(" ");
        }
      }
      return p;
    }

    function write(text, map) {
      if (map && lastEnd !== null) {
        for (var n = lastEnd; n < map[0]; n++) {
          if (!lines[n] || !lines[n].trim()) out.push("");
        }
      }
      var first = prefix();
      var rest = first.replace(/[^>]/g, " ");  // continuation lines: under the text, inside the quote
      text.split("\n").forEach(function (line, i) {
        out.push(((i === 0 ? first : rest) + line).replace(/\s+$/, ""));
      });
      if (map) lastEnd = map[1];
    }

    for (var i = 0; i < tokens.length; i++) {
      var t = tokens[i];
      switch (t.type) {
        case "bullet_list_open":
        case "ordered_list_open":
          lists.push({ ordered: t.type === "ordered_list_open" });
          break;
        case "bullet_list_close":
        case "ordered_list_close":
          lists.pop();
          break;
        case "list_item_open":
          var ordered = lists.length && lists[lists.length - 1].ordered;
          items.push({
            marker: ordered ? (t.info || "1") + (t.markup || ".") : (t.markup || "-"),
            indent: t.map ? leadingSpace(lines[t.map[0]]).replace(/^(> ?)+/, "") : "",
            used: false,
            map: t.map,
          });
          break;
        case "list_item_close":
          var done = items.pop();
          if (done && !done.used) write("", done.map);  // an empty item still shows its marker
          break;
        case "blockquote_open":
          quotes++;
          break;
        case "blockquote_close":
          quotes--;
          break;
        case "paragraph_open":
        case "heading_open":
          write(inlineText(tokens[i + 1].children), t.map);
          i++;  // the inline token just written
          break;
        case "fence":
        case "code_block":
          write(t.content.replace(/\n$/, ""), t.map);
          break;
        case "hr":
          write(t.markup, t.map);
          break;
        case "tr_open":
          row = [];
          break;
        case "inline":
          if (row) row.push(inlineText(t.children));
          break;
        case "tr_close":
          write(row.join(" | "), t.map);
          row = null;
          break;
        default:
          break;
      }
    }
    var text = out.join("\n");
    return text && /\n$/.test(source) ? text + "\n" : text;
  }

  /* Markdown to preview nodes: markdown-it's HTML (raw HTML escaped, unsafe URLs refused by its
   * validateLink) parsed off-document, so nothing runs while it is built. */
  function previewNodes(md, source) {
    var doc = new DOMParser().parseFromString("<body>" + md.render(source) + "</body>", "text/html");
    return Array.prototype.slice.call(doc.body.childNodes);
  }

  function setup() {
    var box = document.getElementById("draft-md");
    var plain = document.getElementById("draft-plain");
    var preview = document.querySelector(".preview-body");
    if (!box || !root.markdownit) return;
    var md = parser(root.markdownit);
    var timer = null;

    function update() {
      var source = box.value;
      if (plain) plain.value = plainText(md, source);
      if (preview) preview.replaceChildren.apply(preview, previewNodes(md, source));
      box.setAttribute("data-rendered", "1");  // tests wait on this; nothing styles it
    }

    // A browser that restores form fields (back, reload) may bring back an edited draft.
    if (box.value !== box.defaultValue) update();
    box.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(update, INPUT_DEBOUNCE_MS);
    });
    // A copy right after typing must not copy the text from before the last keystrokes.
    Array.prototype.forEach.call(document.querySelectorAll("button[data-copy]"), function (button) {
      button.addEventListener("pointerdown", function () { clearTimeout(timer); update(); });
      button.addEventListener("keydown", function () { clearTimeout(timer); update(); });
    });
  }

  root.hvkbDraft = { parser: parser, plainText: plainText };  // for tests and the console
  if (root.document) {
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setup);
    else setup();
  }
})(typeof window !== "undefined" ? window : globalThis);
