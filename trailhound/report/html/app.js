"use strict";
// trailhound report: builds the page from the JSON data blocks. Every value from the logs is
// put on the page as text (createTextNode / textContent) or as a DOM property that is never
// interpreted as markup or as a URL; no innerHTML, no href built from data.
(function () {
  var PAGE_SIZE = 50;
  var PRINCIPALS_SHOWN = 50; // more are rendered on request ("show more", or a click to one)

  var D = JSON.parse(document.getElementById("data").textContent);
  var F = {};
  D.meta.fields.forEach(function (name, i) { F[name] = i; });
  var rows = D.findings;
  var ruleById = new Map();
  D.rules.forEach(function (r, i) { r.index = i; ruleById.set(r.id, r); });
  var principalByName = new Map();
  D.principals.forEach(function (p) { principalByName.set(p.principal, p); });
  var rawChunks = new Map();

  // -- DOM helpers ------------------------------------------------------------------------------
  function el(tag, props) {
    var node = document.createElement(tag);
    if (props) {
      Object.keys(props).forEach(function (k) {
        if (k === "text") node.textContent = props[k];
        else if (k === "onclick") node.addEventListener("click", props[k]);
        else if (k === "dataset") Object.assign(node.dataset, props[k]);
        else node[k] = props[k]; // className, id, type, title, value, alt...: never markup
      });
    }
    for (var i = 2; i < arguments.length; i++) add(node, arguments[i]);
    return node;
  }
  function add(node, child) {
    if (child === null || child === undefined) return;
    if (Array.isArray(child)) child.forEach(function (c) { add(node, c); });
    else if (typeof child === "object") node.appendChild(child);
    else node.appendChild(document.createTextNode(String(child)));
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }
  function show(v) { return v === null || v === undefined || v === "" ? "\u2014" : String(v); }
  function section(id, title) {
    var s = el("section", { id: id }, el("h2", { text: title }));
    app.appendChild(s);
    return s;
  }
  function button(text, onclick, cls) {
    return el("button", { type: "button", className: cls || "link", text: text, onclick: onclick });
  }
  function level(l) { return el("span", { className: "level level-" + String(l).replace(/[^a-z]/g, ""), text: show(l) }); }
  function dl(pairs) {
    var d = el("dl", { className: "fields" });
    pairs.forEach(function (p) { add(d, [el("dt", { text: p[0] }), el("dd", null, p[1])]); });
    return d;
  }
  function count(n, word) { return n + " " + word + (n === 1 ? "" : "s"); }  // 1 finding, 2 findings
  function list(values) { return values && values.length ? values.join(", ") : "\u2014"; }
  // Long values (user agents, ARNs) one per line, the first few shown, the rest on request.
  function values(vs, few) {
    if (!vs || !vs.length) return "\u2014";
    var ul = el("ul", { className: "values" }, vs.slice(0, few).map(function (v) { return el("li", { text: v }); }));
    if (vs.length > few) {
      var more = button("(" + (vs.length - few) + " more)", function () {
        more.remove();
        vs.slice(few).forEach(function (v) { ul.appendChild(el("li", { text: v })); });
      });
      ul.appendChild(el("li", null, more));
    }
    return ul;
  }

  // Minimal markdown for the rule guides: headings, bullet / numbered lists, code blocks,
  // paragraphs and `code` spans, each built as DOM nodes around text.
  function inline(text) {
    return text.split("`").map(function (part, i) {
      return i % 2 ? el("code", { text: part }) : document.createTextNode(part);
    });
  }
  function markdown(text) {
    var out = el("div", { className: "guide" });
    var listNode = null, item = null, para = null, code = null;
    function flush() {
      if (para !== null) { out.appendChild(el("p", null, inline(para))); para = null; }
      if (item !== null) { listNode.appendChild(el("li", null, inline(item))); item = null; }
      if (listNode !== null) { out.appendChild(listNode); listNode = null; }
    }
    text.split("\n").forEach(function (line) {
      if (code !== null) {
        if (/^\s*```/.test(line)) { out.appendChild(el("pre", { text: code.join("\n") })); code = null; }
        else code.push(line);
        return;
      }
      if (/^\s*```/.test(line)) { flush(); code = []; return; }
      var h = /^(#{1,6})\s+(.*)$/.exec(line);
      if (h) { flush(); out.appendChild(el("h" + Math.min(6, h[1].length + 2), { text: h[2] })); return; }
      var li = /^ {0,2}([-*]|\d+\.)\s+(.*)$/.exec(line);
      if (li) {
        if (para !== null) flush();
        if (item !== null) listNode.appendChild(el("li", null, inline(item)));
        if (listNode === null) listNode = el(/\d/.test(li[1]) ? "ol" : "ul");
        item = li[2];
        return;
      }
      if (!line.trim()) { if (item === null) flush(); return; }
      if (item !== null && /^\s/.test(line)) { item += " " + line.trim(); return; }
      if (item !== null || listNode !== null) flush();
      para = para === null ? line.trim() : para + " " + line.trim();
    });
    if (code !== null) out.appendChild(el("pre", { text: code.join("\n") }));
    flush();
    return out;
  }

  var app = document.getElementById("app");

  // -- header -----------------------------------------------------------------------------------
  var m = D.meta;
  app.appendChild(el("header", null,
    el("h1", { text: "trailhound report" }),
    el("p", { className: "meta" },
      count(m.findings, "finding") + ", " + count(m.principals, "principal") + ", " +
      count(D.rules.length, "rule") + " fired \u00b7 profile " + m.profile + " \u00b7 engine " + m.engine +
      " \u00b7 trailhound " + m.version + " \u00b7 written " + m.generated),
    el("p", { className: "meta" }, "Input: ", el("code", { text: m.paths.join("  ") })),
    m.notes.map(function (n) { return el("p", { className: "note", text: n }); }),
    el("nav", null, ["summary", "principals", "findings", "rules"].map(function (id) {
      return button(id[0].toUpperCase() + id.slice(1), function () {
        document.getElementById(id).scrollIntoView();
      }, "nav");
    }))));

  // -- summary ----------------------------------------------------------------------------------
  section("summary", "Summary").appendChild(el("pre", { className: "summary", text: D.summary.join("\n") }));

  // -- principals -------------------------------------------------------------------------------
  var principalsSection = section("principals", "Principals, by risk");
  principalsSection.appendChild(el("p", { className: "hint",
    text: "Ranked as `trailhound principals` ranks them: risky first (3+ ATT&CK tactics from 3+ " +
      "rules, or a distinct-rule score of 6+ within 24 h). The plot shows every event of the " +
      "principal (grey, counted per time slice) and each finding at its score (dots)." }));
  principalsSection.appendChild(el("p", { className: "note", id: "plotted", text: m.plotted }));
  var principalList = el("div", { id: "principal-list" });
  principalsSection.appendChild(principalList);
  var morePrincipals = button("", function () { renderPrincipals(shownPrincipals + PRINCIPALS_SHOWN); }, "more");
  principalsSection.appendChild(morePrincipals);
  var shownPrincipals = 0;

  function principalName(p) { return p === null || p === undefined ? m.no_principal : p; }

  function principalCard(p) {
    var plot = p.plot
      ? el("img", { className: "plot", src: p.plot, width: 760, height: 180,
          alt: "timeline of " + principalName(p.principal) })
      : el("p", { className: "hint", text: p.plot_note || "no plot" });
    return el("article", { className: "principal" + (p.risky ? " risky" : ""), id: "principal-" + p.rank },
      el("h3", null, el("span", { className: "rank", text: "#" + p.rank }), " ",
        el("span", { className: "name", text: principalName(p.principal) }), " ",
        p.risky ? el("span", { className: "badge", text: "risky" }) : null),
      p.reason ? el("p", { className: "reason", text: p.reason }) : null,
      dl([
        ["risk 24 h", show(p.risk_24h)], ["score (sum)", show(p.score)],
        ["findings", show(p.findings)], ["rules", show(p.rules)],
        ["tactics", list(p.tactics)], ["first seen", show(p.first_seen)],
        ["last seen", show(p.last_seen)], ["events in input", show(p.events)],
        ["accounts", list(p.accounts)], ["source IPs", values(p.source_ips, 5)],
        ["user agents", values(p.user_agents, 3)], ["access keys", values(p.access_keys, 3)],
      ]),
      plot,
      el("p", null, button("Show its findings", function () {
        setFilter({ principal: p.principal, hasPrincipal: true, rule: null });
      }, "action")));
  }

  function renderPrincipals(upTo) {
    upTo = Math.min(upTo, D.principals.length);
    for (; shownPrincipals < upTo; shownPrincipals++) principalList.appendChild(principalCard(D.principals[shownPrincipals]));
    morePrincipals.textContent = "Show more principals (" + (D.principals.length - shownPrincipals) + " more)";
    morePrincipals.hidden = shownPrincipals >= D.principals.length;
  }
  renderPrincipals(PRINCIPALS_SHOWN);

  function showPrincipal(name) {
    var p = principalByName.get(name);
    if (!p) return;
    renderPrincipals(p.rank);
    var card = document.getElementById("principal-" + p.rank);
    Array.prototype.forEach.call(document.querySelectorAll(".principal.selected"), function (c) { c.classList.remove("selected"); });
    card.classList.add("selected");
    card.scrollIntoView();
  }

  // -- findings ---------------------------------------------------------------------------------
  var findingsSection = section("findings", "Findings");
  if (m.findings_in_page < m.findings) {
    findingsSection.appendChild(el("p", { className: "note", id: "findings-cut",
      text: "The " + m.findings_in_page + " highest-scored of " + m.findings + " findings are in " +
        "this page; " + (m.findings - m.findings_in_page) + " more are not (trailhound detect lists them all)." }));
  }
  var COLUMNS = [
    ["score", "score"], ["time", "time (UTC)"], ["operation", "operation"],
    ["principal", "principal"], ["sourceIP", "source IP"], ["account", "account"],
    ["rules", "rules (signals)"],
  ];
  var state = { text: "", principal: null, hasPrincipal: false, rule: null, sort: null, desc: true, page: 0 };
  var view = rows.map(function (_, i) { return i; });
  var haystack = null;

  var search = el("input", { type: "search", id: "search", placeholder: "Search every field (principal, IP, operation, rule, user agent, event id...)" });
  var searchTimer = null;
  search.addEventListener("input", function () {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(function () { state.text = search.value.trim().toLowerCase(); state.page = 0; refresh(); }, 150);
  });
  var chips = el("div", { className: "chips" });
  var countLabel = el("span", { id: "count" });
  var pageLabel = el("span", { id: "page-label" });
  var pageInput = el("input", { type: "number", id: "page-input", min: 1, title: "go to page" });
  pageInput.addEventListener("change", function () { goPage(Number(pageInput.value) - 1); });
  function pager(suffix) {
    return el("div", { className: "pager" },
      button("\u00ab First", function () { goPage(0); }, "page"),
      button("\u2039 Prev", function () { goPage(state.page - 1); }, "page"),
      suffix === "top" ? [pageLabel, pageInput] : null,
      el("button", { type: "button", className: "page", id: "pager-next-" + suffix, text: "Next \u203a",
        onclick: function () { goPage(state.page + 1); } }),
      button("Last \u00bb", function () { goPage(Infinity); }, "page"));
  }
  var head = el("tr");
  var tbody = el("tbody");
  findingsSection.appendChild(el("div", { className: "controls" }, search, chips, countLabel));
  findingsSection.appendChild(pager("top"));
  findingsSection.appendChild(el("table", { className: "findings" }, el("thead", null, head), tbody));
  findingsSection.appendChild(pager("bottom"));

  COLUMNS.forEach(function (c) {
    var th = el("th", { className: "sortable", title: "sort by " + c[1], text: c[1] });
    th.dataset.col = c[0];
    th.addEventListener("click", function () {
      if (state.sort === c[0]) state.desc = !state.desc;
      else { state.sort = c[0]; state.desc = c[0] === "score" || c[0] === "time"; }
      state.page = 0;
      refresh();
    });
    head.appendChild(th);
  });

  function ruleTitles(r) { return r[F.rules].map(function (id) { var x = ruleById.get(id); return x ? x.title : id; }); }

  function searchable(i) {
    var r = rows[i];
    return [r[F.time], r[F.operation], r[F.principal], r[F.identityType], r[F.sourceIP], r[F.region],
      r[F.provider], r[F.source], r[F.account], r[F.service], r[F.userAgent], r[F.accessKey],
      r[F.outcome], r[F.errorCode], r[F.errorMessage], r[F.eventID], r[F.origin]]
      .concat(ruleTitles(r)).join("\u0000").toLowerCase();
  }

  function sortValue(i, col) {
    var r = rows[i];
    if (col === "rules") return ruleTitles(r).join(", ");
    return r[F[col]];
  }

  function compute() {
    var out = [];
    if (state.text && haystack === null) haystack = rows.map(function (_, i) { return searchable(i); });
    for (var i = 0; i < rows.length; i++) {
      var r = rows[i];
      if (state.hasPrincipal && r[F.principal] !== state.principal) continue;
      if (state.rule !== null && r[F.rules].indexOf(state.rule) < 0) continue;
      if (state.text && haystack[i].indexOf(state.text) < 0) continue;
      out.push(i);
    }
    if (state.sort !== null) {
      var col = state.sort, sign = state.desc ? -1 : 1;
      var keys = new Map(out.map(function (i) { return [i, sortValue(i, col)]; }));
      out.sort(function (a, b) {
        var x = keys.get(a), y = keys.get(b);
        if (x === y) return a - b;
        if (x === null || x === undefined) return 1; // missing values last, either direction
        if (y === null || y === undefined) return -1;
        return (x < y ? -1 : 1) * sign;
      });
    }
    return out;
  }

  function setFilter(f) {
    state.principal = f.principal; state.hasPrincipal = f.hasPrincipal; state.rule = f.rule; state.page = 0;
    refresh();
    findingsSection.scrollIntoView();
  }

  function goPage(n) {
    var pages = Math.max(1, Math.ceil(view.length / PAGE_SIZE));
    state.page = Math.max(0, Math.min(pages - 1, isFinite(n) ? n : pages - 1));
    render();
  }

  function refresh() {
    view = compute();
    clear(chips);
    if (state.hasPrincipal) chips.appendChild(el("span", { className: "chip" }, "principal: " + principalName(state.principal) + " ",
      button("\u00d7", function () { setFilter({ principal: null, hasPrincipal: false, rule: state.rule }); }, "chip-x")));
    if (state.rule !== null) {
      var rr = ruleById.get(state.rule);
      chips.appendChild(el("span", { className: "chip" }, "rule: " + (rr ? rr.title : state.rule) + " ",
        button("\u00d7", function () { setFilter({ principal: state.principal, hasPrincipal: state.hasPrincipal, rule: null }); }, "chip-x")));
    }
    Array.prototype.forEach.call(head.children, function (th) {
      th.classList.toggle("sorted", th.dataset.col === state.sort);
      th.classList.toggle("desc", th.dataset.col === state.sort && state.desc);
    });
    render();
  }

  function render() {
    var pages = Math.max(1, Math.ceil(view.length / PAGE_SIZE));
    countLabel.textContent = view.length + " of " + rows.length + " findings";
    pageLabel.textContent = "page " + (state.page + 1) + " of " + pages;
    pageInput.value = state.page + 1;
    pageInput.max = pages;
    clear(tbody);
    var start = state.page * PAGE_SIZE;
    view.slice(start, start + PAGE_SIZE).forEach(function (i) { tbody.appendChild(findingRow(i)); });
  }

  function findingRow(i) {
    var r = rows[i];
    var tr = el("tr", { className: "finding-row" });
    tr.dataset.index = i;
    var principalCell = el("td", { className: "principal-cell" },
      button(principalName(r[F.principal]), function (ev) { ev.stopPropagation(); showPrincipal(r[F.principal]); }, "link principal-link"));
    var rulesCell = el("td", null, r[F.rules].map(function (id, k) {
      var x = ruleById.get(id);
      return [k ? ", " : "", x ? x.title : id];
    }));
    add(tr, [
      el("td", { className: "num score", text: show(r[F.score]) }),
      el("td", { className: "time", text: show(r[F.time]) }),
      el("td", { text: show(r[F.operation]) }),
      principalCell,
      el("td", { text: show(r[F.sourceIP]) }),
      el("td", { text: show(r[F.account]) }),
      rulesCell,
    ]);
    tr.addEventListener("click", function () {
      var next = tr.nextSibling;
      if (next && next.classList.contains("detail-row")) { tbody.removeChild(next); tr.classList.remove("open"); return; }
      tr.classList.add("open");
      tbody.insertBefore(el("tr", { className: "detail-row" }, el("td", { colSpan: COLUMNS.length }, detail(i))), next);
    });
    return tr;
  }

  function detail(i) {
    var r = rows[i];
    var signals = el("table", { className: "signals" },
      el("thead", null, el("tr", null, ["rule", "level", "weight", "signal", "role"].map(function (h) { return el("th", { text: h }); }))),
      el("tbody", null, r[F.rules].map(function (id) {
        var x = ruleById.get(id) || { title: id, level: null, weight: null, signal: null, context: false };
        return el("tr", null,
          el("td", null, button(x.title, function () { showRule(id); }, "link rule-link")),
          el("td", null, level(x.level)), el("td", { className: "num", text: show(x.weight) }),
          el("td", { text: show(x.signal) }),
          el("td", { text: x.context ? "context (adjusts the score, never flags alone)" : "detection" }));
      })));
    var corr = r[F.correlations].map(function (c) {
      var more = c[2] ? " and " + c[2] + " more (each a finding listing this correlation too)" : "";
      return el("li", null, c[0] + ": events " + c[1].join(", ") + more);
    });
    var rawBox = el("div", { className: "raw" });
    var rawButton = button("Show the raw record", function () {
      clear(rawBox);
      rawBox.appendChild(el("pre", { className: "raw-record", text: JSON.stringify(rawRecord(i), null, 2) }));
      rawButton.hidden = true;
    }, "action raw-button");
    var fields = D.meta.fields.filter(function (n) { return n !== "rules" && n !== "correlations"; });
    var box = el("div", { className: "detail" },
      el("h4", { text: "Score " + show(r[F.score]) + ": the signals behind it" }),
      signals,
      corr.length ? [el("h4", { text: "Correlations" }), el("ul", null, corr)] : null,
      el("h4", { text: "Fields" }),
      dl(fields.map(function (n) { return [n, show(r[F[n]])]; })),
      rawButton, rawBox);
    box.addEventListener("click", function (ev) { ev.stopPropagation(); });
    return box;
  }

  function rawRecord(i) {
    var chunk = Math.floor(i / D.meta.raw_chunk);
    if (!rawChunks.has(chunk)) rawChunks.set(chunk, JSON.parse(document.getElementById("raw-" + chunk).textContent));
    return rawChunks.get(chunk)[i % D.meta.raw_chunk];
  }

  // -- rules ------------------------------------------------------------------------------------
  var rulesSection = section("rules", "Rules that fired: playbooks and hunts");
  D.rules.forEach(function (r) {
    var hunts = r.hunts.length ? [el("h4", { text: "Hunts the guide names" }), el("ul", { className: "hunts" }, r.hunts.map(function (h) {
      return el("li", null, el("code", { text: "trailhound hunt " + h.name + " PATH" }), " ", h.title ? h.title + ": " : "", h.description);
    }))] : null;
    rulesSection.appendChild(el("details", { className: "rule", id: "rule-" + r.index },
      el("summary", null, level(r.level), " ", el("span", { className: "rule-title", text: r.title }),
        el("span", { className: "hint", text: " \u00b7 " + count(r.findings, "finding") + " \u00b7 weight " + show(r.weight) + (r.context ? " (context)" : "") })),
      dl([["id", r.id], ["signal", show(r.signal)], ["tags", list(r.tags)], ["rule file", show(r.path)],
        ["explain", "trailhound explain " + r.id]]),
      el("p", null, button("Show its findings", function () { setFilter({ principal: state.principal, hasPrincipal: state.hasPrincipal, rule: r.id }); }, "action")),
      r.guide !== null ? markdown(r.guide) : el("p", { className: "hint", text: "No guide found for this rule." }),
      hunts));
  });

  function showRule(id) {
    var r = ruleById.get(id);
    if (!r) return;
    var node = document.getElementById("rule-" + r.index);
    node.open = true;
    node.scrollIntoView();
  }

  refresh();
  document.body.dataset.ready = "1";
})();
