/* report.html's script (analyzers/report/report.js): draws the page from
 * the JSON in #mpa-data with d3 (flamegraph) and dygraphs (timeline), both
 * inlined above it.  doc/reading-the-report.md says what each part shows. */
(function () {
  'use strict';
  var D = JSON.parse(document.getElementById('mpa-data').textContent);
  var S = D.summary || {}, docs = D.docs || {}, plots = D.plots || {};
  var AN = S.analyzers || {};

  /* ---- formatting: human units ------------------------------------------ */
  function fmtCount(n) {
    if (n === null || n === undefined) return '—';
    if (typeof n !== 'number') return String(n);
    if (!isFinite(n)) return String(n);
    if (Math.abs(n) >= 1e15) return n.toExponential(3);
    var r = Math.round(n * 1000) / 1000;
    var s = String(Math.abs(Math.trunc(r))).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
    var f = Math.abs(r) % 1 ? String(Math.abs(r) % 1).slice(1, 5) : '';
    return (r < 0 ? '-' : '') + s + f;
  }
  function fmtBytes(n) {
    if (n === null || n === undefined) return '—';
    var a = Math.abs(n), u = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'], i = 0;
    while (a >= 1024 && i < u.length - 1) { a /= 1024; i++; }
    return (n < 0 ? '-' : '') + (i ? a.toFixed(a < 10 ? 2 : 1) : String(Math.round(a))) + ' ' + u[i];
  }
  function fmtNs(ns) {
    if (ns === null || ns === undefined) return '—';
    var a = Math.abs(ns);
    if (a < 1e3) return Math.round(ns) + ' ns';
    if (a < 1e6) return (ns / 1e3).toFixed(a < 1e4 ? 2 : 1) + ' µs';
    if (a < 1e9) return (ns / 1e6).toFixed(a < 1e7 ? 2 : 1) + ' ms';
    if (a < 120e9) return (ns / 1e9).toFixed(a < 1e10 ? 3 : 2) + ' s';
    if (a < 7200e9) return (ns / 60e9).toFixed(1) + ' min';
    return (ns / 3600e9).toFixed(1) + ' h';
  }
  function fmtUnit(v, unit) {
    if (v === null || v === undefined) return '—';
    if (typeof v !== 'number') return String(v);
    switch (unit) {
      case 'bytes': return fmtBytes(v);
      case 'ns': return fmtNs(v);
      case 's': return fmtNs(v * 1e9);
      case 'fraction': return (v * 100).toFixed(1) + ' %';
      case 'bytes/s': return fmtBytes(v) + '/s';
      case '1/s': return fmtCount(Math.round(v)) + '/s';
      case 'id': case 'index': case 'pid': case 'address': return String(v);
      default: return fmtCount(v);
    }
  }
  /* a unit for a summary key, from its name */
  function unitOfKey(k) {
    if (/bytes_per_s$/.test(k)) return 'bytes/s';
    if (/_ns$/.test(k)) return 'ns';
    if (/_s$/.test(k)) return 's';
    if (/(^|_)bytes($|_)|_bytes$/.test(k)) return 'bytes';
    if (/ratio|share|fraction/.test(k)) return 'fraction';
    if (/(^|_)pid$|_id$/.test(k)) return 'id';
    return 'count';
  }
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    for (var k in attrs || {}) e.setAttribute(k, attrs[k]);
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  }
  function $(id) { return document.getElementById(id); }
  function get(o) {
    for (var i = 1; i < arguments.length && o !== undefined && o !== null; i++) o = o[arguments[i]];
    return o;
  }
  /* a declared table of an analyzer's document: {cols: [{name,type,unit}], rows: [[...]]} */
  function table(doc, name) {
    var decl = get(doc, 'tables', name), key = get(doc, 'table_rows', name);
    if (!decl || !key || !doc[key]) return null;
    return { name: name, cols: decl, rows: doc[key].rows || [] };
  }
  function colIndex(t, name) {
    for (var i = 0; i < t.cols.length; i++) if (t.cols[i].name === name) return i;
    return -1;
  }
  function frameText(f) {
    return (f.function || '??') + (f.file ? '  ' + f.file + (f.line ? ':' + f.line : '') : '') +
      (f.binary ? '  [' + f.binary.split('/').pop() + ']' : '');
  }
  /* the frames of a row's JSON-only members: "stack" (frames) or "frames" (indices) */
  function rowStack(doc, extra) {
    if (!extra) return null;
    if (extra.stack) return extra.stack;
    if (extra.frames && doc.frames) return extra.frames.map(function (i) { return doc.frames[i]; }).reverse();
    return null;
  }

  /* ---- sortable, filterable tables --------------------------------------- */
  var tableCount = 0;
  function renderTable(box, doc, t, opts) {
    opts = opts || {};
    var id = 'tbl-' + (++tableCount);
    var bar = el('div', { class: 'tablebar' });
    var filter = el('input', { type: 'search', placeholder: 'filter rows' });
    var info = el('span', { class: 'muted' });
    bar.appendChild(filter); bar.appendChild(info);
    var wrap = el('div', { class: 'tablebox' });
    var tbl = el('table', { class: 't', id: id, 'data-table': t.name, 'data-rows': t.rows.length });
    var thead = el('thead'), htr = el('tr');
    var ncol = t.cols.length, hasStacks = t.rows.some(function (r) { return rowStack(doc, r[ncol]); });
    if (hasStacks) htr.appendChild(el('th', {}, ''));
    t.cols.forEach(function (c, i) {
      var th = el('th', { 'data-col': c.name, title: c.unit ? c.name + ' (' + c.unit + ')' : c.name }, c.name.replace(/_/g, ' '));
      th.addEventListener('click', function () { sortBy(i, th); });
      htr.appendChild(th);
    });
    thead.appendChild(htr); tbl.appendChild(thead);
    var tbody = el('tbody'); tbl.appendChild(tbody);
    wrap.appendChild(tbl);
    if (t.rows.length > 8) box.appendChild(bar);
    box.appendChild(wrap);
    var order = t.rows.map(function (r, i) { return i; }), limit = opts.limit || 200, shown = order;
    var more = el('button', { type: 'button' }, 'show all rows');
    more.addEventListener('click', function () { limit = Infinity; draw(); });
    box.appendChild(more);
    function cellText(v, c) { return c.type === 'string' ? (v === null ? '' : String(v)) : fmtUnit(v, c.unit); }
    function draw() {
      var q = filter.value.toLowerCase();
      shown = order.filter(function (i) {
        if (!q) return true;
        var r = t.rows[i];
        for (var k = 0; k < ncol; k++) if (String(r[k]).toLowerCase().indexOf(q) >= 0) return true;
        return false;
      });
      tbody.textContent = '';
      shown.slice(0, limit).forEach(function (i) {
        var r = t.rows[i], tr = el('tr');
        if (hasStacks) {
          var td0 = el('td'), st = rowStack(doc, r[ncol]);
          if (st && st.length) {
            var b = el('button', { class: 'exp', type: 'button', title: 'show the stack' }, '▸');
            b.addEventListener('click', function () {
              var nx = tr.nextSibling;
              if (nx && nx.className === 'stack') { tbody.removeChild(nx); b.textContent = '▸'; return; }
              var s = el('tr', { class: 'stack' }), td = el('td', { colspan: ncol + 1 });
              st.forEach(function (f) {
                var d = el('div');
                d.appendChild(el('span', { class: 'frame-fn' }, f.function || '??'));
                d.appendChild(document.createTextNode((f.file ? '  ' + f.file + (f.line ? ':' + f.line : '') : '') +
                  (f.binary ? '  [' + f.binary + ']' : '')));
                td.appendChild(d);
              });
              s.appendChild(td); tbody.insertBefore(s, tr.nextSibling); b.textContent = '▾';
            });
            td0.appendChild(b);
          }
          tr.appendChild(td0);
        }
        for (var k = 0; k < ncol; k++) {
          var c = t.cols[k], v = r[k];
          var td = el('td', { 'data-v': v === null ? '' : String(v) }, cellText(v, c));
          if (c.type !== 'string') td.className = 'num';
          tr.appendChild(td);
        }
        tbody.appendChild(tr);
      });
      info.textContent = shown.length + ' of ' + t.rows.length + ' rows';
      more.hidden = shown.length <= limit;
    }
    function sortBy(i, th) {
      var dir = th.getAttribute('data-dir') === 'desc' ? 'asc' : 'desc';
      Array.prototype.forEach.call(htr.children, function (h) { h.removeAttribute('data-dir'); });
      th.setAttribute('data-dir', dir);
      var s = dir === 'asc' ? 1 : -1, str = t.cols[i].type === 'string';
      order.sort(function (a, b) {
        var x = t.rows[a][i], y = t.rows[b][i];
        if (str) { x = String(x); y = String(y); }
        return x < y ? -s : x > y ? s : a - b;
      });
      draw();
    }
    filter.addEventListener('input', draw);
    if (!t.rows.length) { box.appendChild(el('p', { class: 'muted' }, 'no rows')); }
    draw();
    return tbl;
  }

  /* ---- the first screen: the verdict ------------------------------------- */
  function card(cls, title, big, lines) {
    var c = el('div', { class: 'card ' + cls });
    c.appendChild(el('h3', {}, title));
    if (big !== null) c.appendChild(el('div', { class: 'big' }, big));
    (lines || []).forEach(function (l) { if (l) c.appendChild(typeof l === 'string' ? el('div', {}, l) : l); });
    return c;
  }
  function siteList(list, fmt) {
    var ol = el('ol');
    list.forEach(function (s) { ol.appendChild(el('li', {}, fmt(s))); });
    return ol;
  }
  function verdict() {
    var v = $('verdict'), cap = S.capture || {}, meta = cap.metadata || {};
    $('cap-path').textContent = cap.path || '';
    var cmd = '';
    Object.keys(meta).sort().forEach(function (k) { if (!cmd && /(^|\.)command$/.test(k) && k.indexOf('convert') !== 0) cmd = meta[k]; });
    $('cap-line').textContent = 'recorded ' + fmtNs(cap.duration_ns) + ', ' + fmtCount(get(S, 'scan', 'rows')) +
      ' events' + (meta.host ? ' on ' + meta.host : '') + (cmd ? ' — ' + cmd : '');
    var tl = AN.timeline, lk = AN.leak, fl = AN.flame;
    /* peak */
    var peak = tl ? tl.peak_bytes : fl ? fl.peak_bytes : null;
    if (peak !== null && peak !== undefined) {
      var ps = get(docs, 'timeline', 'peak', 'sites') || [];
      v.appendChild(card('', 'Peak heap', fmtBytes(peak), [
        tl ? 'at ' + fmtNs(tl.peak_ns) + ' after the start' : '',
        ps.length ? el('div', { class: 'muted' }, 'held by:') : '',
        ps.length ? siteList(ps.slice(0, 3), function (s) { return fmtBytes(s.bytes) + ' — ' + s.site; }) : ''
      ]));
    } else {
      v.appendChild(card('', 'Peak heap', null, ['the timeline analyzer did not run (--timeline)']));
    }
    /* leaks */
    if (lk) {
      /* valgrind's kinds when the exit scan ran; else "not freed at exit" */
      var dl = lk.definitely_lost || {}, il = lk.indirectly_lost || {}, pl = lk.possibly_lost || {};
      var nf = lk.not_freed_at_exit || {}, sr = lk.still_reachable || {};
      var end = lk.live_at_end || {}, gr = lk.growth || {}, kn = lk.kernel || {};
      var lost = (dl.bytes || 0) + (il.bytes || 0) + (pl.bytes || 0), shown = lost + (nf.bytes || 0);
      var top = lk.top_lost_sites || [];
      var kind = function (k, what) { return k.bytes ? fmtBytes(k.bytes) + ' in ' + fmtCount(k.blocks) + ' blocks ' + what : ''; };
      v.appendChild(card(shown ? 'bad' : 'good', 'Leaked', shown ? fmtBytes(shown) : 'nothing', [
        shown ? '' : 'no block left at a process exit',
        kind(dl, 'definitely lost'), kind(il, 'indirectly lost'), kind(pl, 'possibly lost'),
        kind(nf, 'not freed at exit (recorded without the exit scan: their kind is unknown)'),
        kind(sr, 'still reachable at exit (not leaks)'),
        end.bytes ? fmtBytes(end.bytes) + ' in ' + fmtCount(end.blocks) + ' blocks still live at the capture end' : '',
        gr.live_bytes ? fmtBytes(gr.live_bytes) + ' at ' + fmtCount(gr.sites) + ' growing sites' : '',
        kn.bytes ? fmtBytes(kn.bytes) + ' of kernel objects' : '',
        get(lk, 'suppressed', 'bytes') ? fmtBytes(lk.suppressed.bytes) + ' suppressed (runtime internals)' : '',
        top.length ? siteList(top.slice(0, 3), function (s) { return fmtBytes(s.bytes) + ' in ' + fmtCount(s.blocks) + ' blocks — ' + s.site; }) : ''
      ]));
    } else {
      v.appendChild(card('', 'Leaked', null, ['the leak analyzer did not run (--leak)']));
    }
    /* lost events and the recording */
    var lost = S.lost_events || 0;
    v.appendChild(card(lost || S.incomplete ? 'bad' : 'good', 'Lost events', lost ? fmtCount(lost) : (S.incomplete ? 'unknown' : 'none'),
      [lost || S.incomplete ? 'results may be partial: a leak may be a free that was lost' : 'the tracer lost nothing: the numbers are complete']));
    v.appendChild(card('', 'Recording', fmtNs(cap.duration_ns), [
      fmtCount(get(S, 'scan', 'rows')) + ' events, ' + fmtCount(get(S, 'scan', 'heap', 'images')) + ' process images',
      tl ? fmtCount(tl.allocs) + ' allocations, ' + fmtBytes(tl.bytes_allocated) + ' allocated' : '',
      cmd ? el('code', {}, cmd) : '', meta.tracers ? 'tracers: ' + meta.tracers : ''
    ]));
    /* alerts */
    var al = S.alerts || [], box = el('div', { class: 'card alerts ' + (al.length ? 'warn' : 'good'), id: 'alerts' });
    box.appendChild(el('h3', {}, 'Alerts (' + al.length + ')'));
    if (!al.length) box.appendChild(el('div', {}, 'no alert'));
    al.forEach(function (a) {
      var d = el('div', { class: 'alert ' + (a.severity || '') });
      d.appendChild(el('div', {}, '[' + (a.analyzer || '') + '] ' + a.message));
      if (a.advice) d.appendChild(el('div', { class: 'advice' }, '→ ' + a.advice));
      box.appendChild(d);
    });
    (S.gates || []).forEach(function (g) { box.appendChild(el('div', { class: 'alert error' }, 'gate failed: ' + g.message)); });
    v.appendChild(box);
    /* recommendations: any analyzer's "recommendations" list of {message} */
    var recs = [];
    Object.keys(docs).forEach(function (n) {
      var r = docs[n].recommendations;
      if (Array.isArray(r)) r.forEach(function (x) { if (x && x.message) recs.push([n, x]); });
    });
    if (recs.length) {
      var rb = el('div', { class: 'card alerts', id: 'recommendations' });
      rb.appendChild(el('h3', {}, 'Recommendations (' + recs.length + ')'));
      recs.forEach(function (x) { rb.appendChild(el('div', { class: 'alert info' }, '[' + x[0] + '] ' + x[1].message)); });
      v.appendChild(rb);
    }
  }

  /* ---- flamegraph (d3) ---------------------------------------------------- */
  function flamegraph() {
    var doc = docs.flame, t = doc && table(doc, 'stacks');
    if (!t) return;
    $('flame-section').hidden = false;
    var metrics = doc.metrics || [], ncol = t.cols.length, sel = $('flame-metric');
    metrics.forEach(function (m) { sel.appendChild(el('option', { value: m.name }, m.label)); });
    var first = metrics.filter(function (m) { return (doc.totals || {})[m.name] > 0; })[0];
    if (first) sel.value = first.name;
    /* the tree: merged by function and file, root first */
    var root = { name: 'all', kids: [], idx: {}, self: {}, depth: 0 };
    var mi = metrics.map(function (m) { return colIndex(t, m.name); });
    t.rows.forEach(function (r) {
      var fr = (r[ncol] && r[ncol].frames) || [], n = root;
      fr.forEach(function (fi) {
        var f = doc.frames[fi] || {}, key = (f.function || '??') + '\u001f' + (f.file || '');
        var c = n.idx[key];
        if (!c) { c = n.idx[key] = { name: f.function || '??', frame: f, kids: [], idx: {}, self: {} }; n.kids.push(c); }
        n = c;
      });
      metrics.forEach(function (m, k) { n.self[m.name] = (n.self[m.name] || 0) + (r[mi[k]] || 0); });
    });
    var oth = doc.other || {};
    if (oth.stacks) {
      var o = { name: '[' + oth.stacks + ' other stacks]', kids: [], idx: {}, self: {} };
      metrics.forEach(function (m) { o.self[m.name] = oth[m.name] || 0; });
      root.kids.push(o);
    }
    var box = $('flame'), H = 17, zoom = null, svg = d3.select(box).append('svg');
    var part = d3.layout.partition().children(function (d) { return d.kids.length ? d.kids : null; }).sort(null);
    var color = function (d) {
      var s = 0, n = d.name; for (var i = 0; i < n.length; i++) s = (s * 31 + n.charCodeAt(i)) | 0;
      return d3.hsl(20 + Math.abs(s) % 40, 0.75, 0.55 + (Math.abs(s >> 8) % 20) / 100);
    };
    function draw() {
      var m = sel.value, unit = (metrics.filter(function (x) { return x.name === m; })[0] || {}).unit;
      part.value(function (d) { return d.self[m] || 0; });
      var nodes = part.nodes(root), W = box.clientWidth || 1000, total = root.value || 0;
      var maxd = d3.max(nodes, function (d) { return d.value ? d.depth : 0; }) || 0;
      var z = zoom && zoom.value ? zoom : root, x0 = z.x, dx = z.dx || 1;
      var ice = $('flame-icicle').checked;
      svg.attr('width', W).attr('height', (maxd + 1) * H);
      var vis = nodes.filter(function (d) {
        return d.value > 0 && (d.x + d.dx > x0 && d.x < x0 + dx) && ((Math.min(d.x + d.dx, x0 + dx) - Math.max(d.x, x0)) / dx * W >= 0.5) &&
          (d.depth >= z.depth || d.x <= x0 && d.x + d.dx >= x0 + dx);
      });
      var g = svg.selectAll('g').data(vis, function (d) { return (d.parent ? d.parent.name : '') + '|' + d.depth + '|' + d.name + '|' + d.x; });
      g.exit().remove();
      var ng = g.enter().append('g');
      ng.append('rect'); ng.append('text'); ng.append('title');
      g.attr('transform', function (d) {
        var x = Math.max(0, (d.x - x0) / dx * W), y = ice ? d.depth * H : (maxd - d.depth) * H;
        return 'translate(' + x + ',' + y + ')';
      }).attr('data-name', function (d) { return d.name; }).attr('data-value', function (d) { return d.value; });
      g.select('rect').attr('width', function (d) {
        return Math.max(0.5, (Math.min(d.x + d.dx, x0 + dx) - Math.max(d.x, x0)) / dx * W);
      }).attr('height', H - 1).style('fill', function (d) { return d.depth ? color(d) : '#bbb'; })
        .on('click', function (d) { zoom = d === zoom || !d.depth ? null : d; draw(); });
      g.select('text').attr('x', 3).attr('y', H - 5).text(function (d) {
        var w = (Math.min(d.x + d.dx, x0 + dx) - Math.max(d.x, x0)) / dx * W, c = Math.floor((w - 6) / 6.5);
        return c < 3 ? '' : d.name.length > c ? d.name.slice(0, c - 1) + '…' : d.name;
      });
      g.select('title').text(function (d) {
        var f = d.frame || {};
        return d.name + (f.file ? '\n' + f.file + (f.line ? ':' + f.line : '') : '') + (f.binary ? '\n' + f.binary : '') +
          '\n' + fmtUnit(d.value, unit) + ' (' + (total ? (100 * d.value / total).toFixed(1) : 0) + ' %)';
      });
      search();
      $('flame-info').textContent = 'total ' + fmtUnit(total, unit) + (zoom ? '; zoomed on ' + zoom.name : '');
      box.setAttribute('data-metric', m); box.setAttribute('data-total', total);
    }
    function search() {
      var q = $('flame-search').value.toLowerCase(), hit = 0, total = root.value || 0;
      svg.selectAll('g').select('rect').classed('match', function (d) {
        var f = d.frame || {}, on = !!q && (d.name.toLowerCase().indexOf(q) >= 0 || (f.file || '').toLowerCase().indexOf(q) >= 0);
        return on;
      });
      if (q) {
        /* the share of the weight under a matching frame (outermost matches) */
        (function walk(n, under) {
          var f = n.frame || {}, on = n.depth && (n.name.toLowerCase().indexOf(q) >= 0 || (f.file || '').toLowerCase().indexOf(q) >= 0);
          if (on && !under) hit += n.value;
          (n.children || []).forEach(function (c) { walk(c, under || on); });
        })(root, false);
        $('flame-info').textContent = 'matched ' + (total ? (100 * hit / total).toFixed(1) : 0) + ' % of the weight';
      }
    }
    sel.addEventListener('change', function () { zoom = null; draw(); });
    $('flame-search').addEventListener('input', search);
    $('flame-reset').addEventListener('click', function () { zoom = null; draw(); });
    $('flame-icicle').addEventListener('change', draw);
    draw();
  }

  /* ---- timeline (dygraphs) with range selection ---------------------------- */
  function timeline() {
    var doc = docs.timeline, t = doc && table(doc, 'timeline');
    if (!t || !t.rows.length) return;
    $('timeline-section').hidden = false;
    var ts = colIndex(t, 't_start_s'), lb = colIndex(t, 'live_bytes_max'), mb = colIndex(t, 'mapped_bytes_max'),
      kb = colIndex(t, 'kernel_live_bytes_max');
    var any = function (c) { return c >= 0 && t.rows.some(function (r) { return r[c] > 0; }); };
    var series = [['live heap', lb]];
    if (any(mb)) series.push(['mapped', mb]);
    if (any(kb)) series.push(['kernel objects', kb]);
    var data = t.rows.map(function (r) { return [r[ts]].concat(series.map(function (s) { return r[s[1]]; })); });
    var box = $('timeline');
    box.setAttribute('data-points', data.length);
    box.setAttribute('data-max', d3.max(t.rows, function (r) { return r[lb]; }));
    var g = new Dygraph(box, data, {
      labels: ['time'].concat(series.map(function (s) { return s[0]; })),
      stepPlot: false, fillGraph: true, legend: 'always', labelsSeparateLines: false,
      ylabel: 'bytes', xlabel: 'time since the first event',
      axes: {
        y: { axisLabelFormatter: function (v) { return fmtBytes(v); }, valueFormatter: function (v) { return fmtBytes(v); }, axisLabelWidth: 70 },
        x: { axisLabelFormatter: function (v) { return fmtNs(v * 1e9); }, valueFormatter: function (v) { return fmtNs(v * 1e9); } }
      },
      zoomCallback: function (a, b) { rangeSites(a, b); }
    });
    box.mpaGraph = g;
    var xr = g.xAxisRange();
    rangeSites(xr[0], xr[1], true);
  }
  function rangeSites(a, b, whole) {
    var out = $('range-sites'), doc = docs.flame, t = doc && table(doc, 'stacks');
    out.textContent = '';
    $('range-title').textContent = whole ? 'Sites over the whole capture' : 'Sites live or growing from ' + fmtNs(a * 1e9) + ' to ' + fmtNs(b * 1e9);
    if (!t) { out.appendChild(el('p', { class: 'muted' }, 'the flame analyzer did not run (--flame): no per-site series')); return; }
    var bn = get(doc, 'series', 'bucket_ns') || 0, nb = get(doc, 'series', 'buckets') || 0, ncol = t.cols.length;
    var ia = bn ? Math.max(0, Math.floor(a * 1e9 / bn)) : 0, ib = bn ? Math.min(nb - 1, Math.floor(b * 1e9 / bn)) : nb - 1;
    var si = colIndex(t, 'site');
    var rows = [];
    t.rows.forEach(function (r) {
      var s = r[ncol] && r[ncol].live_series;
      if (!s) return;
      var mx = 0;
      for (var i = ia; i <= ib; i++) if (s[i] > mx) mx = s[i];
      var start = ia > 0 ? s[ia - 1] : 0, end = s[ib];
      if (mx > 0) rows.push([r[si], mx, start, end, end - start, r[ncol]]);
    });
    rows.sort(function (x, y) { return y[1] - x[1] || (x[0] < y[0] ? -1 : 1); });
    var rt = {
      name: 'range_sites', rows: rows, cols: [
        { name: 'site', type: 'string', unit: '' }, { name: 'max_live_in_range', type: 'u64', unit: 'bytes' },
        { name: 'live_at_start', type: 'u64', unit: 'bytes' }, { name: 'live_at_end', type: 'u64', unit: 'bytes' },
        { name: 'growth', type: 'i64', unit: 'bytes' }]
    };
    if (!rows.length) out.appendChild(el('p', { class: 'muted' }, 'no site held memory in this range'));
    else renderTable(out, doc, rt, { limit: 25 });
  }

  /* ---- one section per analyzer, from its declared tables ------------------- */
  function kvList(obj, prefix, dl) {
    Object.keys(obj).sort().forEach(function (k) {
      var v = obj[k], p = prefix ? prefix + '.' + k : k;
      if (k === 'alerts') return;
      if (v && typeof v === 'object' && !Array.isArray(v)) { kvList(v, p, dl); return; }
      dl.appendChild(el('dt', {}, p.replace(/_/g, ' ')));
      var txt = Array.isArray(v) ? (v.length + ' item' + (v.length === 1 ? '' : 's') + (v.length && typeof v[0] === 'object' && v[0].site ? ': ' + v.map(function (x) { return x.site; }).slice(0, 5).join('; ') : '')) :
        v === null ? 'n/a' : typeof v === 'number' ? fmtUnit(v, unitOfKey(k)) : String(v);
      dl.appendChild(el('dd', { 'data-key': p }, txt));
    });
  }
  function sections() {
    var box = $('analyzers'), nav = $('toc');
    [['verdict', 'Verdict'], ['flame-section', 'Flamegraph'], ['timeline-section', 'Timeline'], ['leak-section', 'Leak sites']].forEach(function (x) {
      if (!$(x[0]).hidden) nav.appendChild(el('a', { href: '#' + x[0] }, x[1]));
    });
    Object.keys(AN).forEach(function (name) {
      var doc = docs[name] || {}, sec = el('section', { id: 'an-' + name, class: 'analyzer', 'data-analyzer': name });
      sec.appendChild(el('h2', {}, name + ' analyzer'));
      nav.appendChild(el('a', { href: '#an-' + name }, name));
      var det = el('details'), dl = el('dl', { class: 'kv' });
      det.appendChild(el('summary', {}, 'summary'));
      kvList(AN[name] || {}, '', dl);
      det.appendChild(dl); sec.appendChild(det);
      (plots[name] || []).forEach(function (p) {
        var f = el('figure'), img = el('img', { src: p.src, alt: p.name, loading: 'lazy' });
        f.appendChild(img); f.appendChild(el('figcaption', { class: 'muted' }, p.name));
        sec.appendChild(f);
      });
      Object.keys(doc.tables || {}).sort().forEach(function (tn) {
        var t = table(doc, tn);
        if (!t) return;
        var d = el('details', { 'data-table-of': name + '.' + tn });
        d.appendChild(el('summary', {}, tn.replace(/_/g, ' ') + ' (' + t.rows.length + ' rows)'));
        if (t.rows.length <= 50 && t.rows.length) d.setAttribute('open', '');
        sec.appendChild(d);
        renderTable(d, doc, t, { limit: 100 });
      });
      if (!Object.keys(doc.tables || {}).length && !docs[name])
        sec.appendChild(el('p', { class: 'muted' }, name + '.json was not written (--formats without json): only its summary is shown'));
      box.appendChild(sec);
    });
    nav.appendChild(el('a', { href: '#meta-section' }, 'capture'));
  }
  function leakSites() {
    var doc = docs.leak, t = doc && table(doc, 'sites');
    if (!t) return;
    $('leak-section').hidden = false;
    renderTable($('leak-sites'), doc, t, { limit: 50 });
  }
  function meta() {
    var m = $('meta'), dl = el('dl', { class: 'kv' });
    var cap = {}; Object.keys(S.capture || {}).forEach(function (k) { if (k !== 'metadata') cap[k] = S.capture[k]; });
    kvList(cap, 'capture', dl);
    var md = (S.capture || {}).metadata || {};
    Object.keys(md).sort().forEach(function (k) { dl.appendChild(el('dt', {}, k)); dl.appendChild(el('dd', {}, md[k])); });
    kvList(S.config || {}, 'config', dl);
    kvList(S.scan || {}, 'scan', dl);
    m.appendChild(dl);
  }

  verdict();
  flamegraph();
  timeline();
  leakSites();
  sections();
  meta();
  var st = $('mpa-status');
  /* ms from navigation start to a drawn page (parse, data, scripts): make bench reads it */
  st.setAttribute('data-ms', String(Math.round(window.performance ? performance.now() : 0)));
  if (!window.mpaErrors.length) {
    st.setAttribute('data-state', 'ok');
    st.textContent = 'report ready: ' + Object.keys(AN).length + ' analyzers';
  }
})();
