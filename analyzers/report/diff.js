/* diff.html's script (analyzers/report/diff.js): totals, a differential
 * flamegraph (d3 partition: width the larger of the two runs, colour the
 * change) and the per-site table, from the JSON in #mpa-data. */
(function () {
  'use strict';
  var D = JSON.parse(document.getElementById('mpa-data').textContent);
  var METRICS = [['leaked_bytes', 'leaked bytes', 'bytes'], ['peak_bytes', 'live bytes at peak', 'bytes'],
    ['allocated_bytes', 'allocated bytes', 'bytes'], ['calls', 'allocation calls', 'count'], ['temporary', 'temporary allocations', 'count']];
  function fmtBytes(n) {
    var a = Math.abs(n), u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'], i = 0;
    while (a >= 1024 && i < u.length - 1) { a /= 1024; i++; }
    return (n < 0 ? '-' : '') + (i ? a.toFixed(a < 10 ? 2 : 1) : String(Math.round(a))) + ' ' + u[i];
  }
  function fmt(v, unit) {
    if (v === null || v === undefined) return '—';
    return unit === 'bytes' ? fmtBytes(v) : String(v).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  }
  function sign(v, unit) { return (v > 0 ? '+' : '') + fmt(v, unit); }
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    for (var k in attrs || {}) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  /* totals */
  var tt = el('table', { class: 't', id: 'totals-table' }), tr = el('tr');
  ['weight', 'base', 'new', 'change', 'ratio'].forEach(function (h) { tr.appendChild(el('th', {}, h)); });
  tt.appendChild(tr);
  METRICS.forEach(function (m) {
    var t = D.diff.totals[m[0]] || {}, r = el('tr', { 'data-metric': m[0], 'data-delta': t.delta });
    r.appendChild(el('td', {}, m[1]));
    r.appendChild(el('td', { class: 'num' }, fmt(t.base, m[2])));
    r.appendChild(el('td', { class: 'num' }, fmt(t.new, m[2])));
    r.appendChild(el('td', { class: 'num' }, sign(t.delta, m[2])));
    r.appendChild(el('td', { class: 'num' }, t.ratio === null ? '—' : '×' + t.ratio.toFixed(3)));
    tt.appendChild(r);
  });
  document.getElementById('totals').appendChild(tt);
  /* merged tree: function and file along the stack, root first */
  var root = { name: 'all', kids: [], idx: {}, b: {}, n: {} };
  function addSide(side, key) {
    var fr = side.frames || [];
    (side.stacks || []).forEach(function (r) {
      var n = root;
      (r.frames || []).forEach(function (i) {
        var f = fr[i] || {}, k = (f.function || '??') + '\u001f' + (f.file || '');
        var c = n.idx[k];
        if (!c) { c = n.idx[k] = { name: f.function || '??', frame: f, kids: [], idx: {}, b: {}, n: {} }; n.kids.push(c); }
        n = c;
      });
      METRICS.forEach(function (m) { n[key][m[0]] = (n[key][m[0]] || 0) + (r[m[0]] || 0); });
    });
  }
  addSide(D.base, 'b');
  addSide(D.new, 'n');
  var sel = document.getElementById('flame-metric');
  METRICS.forEach(function (m) { sel.appendChild(el('option', { value: m[0] }, m[1])); });
  var box = document.getElementById('flame'), H = 17, zoom = null, svg = d3.select(box).append('svg');
  var part = d3.layout.partition().children(function (d) { return d.kids.length ? d.kids : null; }).sort(null);
  function sums(d, m) {
    var b = d.b[m] || 0, n = d.n[m] || 0;
    (d.kids || []).forEach(function (c) { var s = sums(c, m); b += s[0]; n += s[1]; });
    d.tb = b; d.tn = n;
    return [b, n];
  }
  function draw() {
    var m = sel.value, unit = METRICS.filter(function (x) { return x[0] === m; })[0][2];
    sums(root, m);
    part.value(function (d) { return Math.max(d.b[m] || 0, d.n[m] || 0); });
    var nodes = part.nodes(root), W = box.clientWidth || 1000;
    var maxd = d3.max(nodes, function (d) { return d.value ? d.depth : 0; }) || 0;
    var z = zoom || root, x0 = z.x, dx = z.dx || 1;
    var maxc = d3.max(nodes, function (d) { return Math.abs(d.tn - d.tb); }) || 1;
    svg.attr('width', W).attr('height', (maxd + 1) * H);
    var vis = nodes.filter(function (d) { return d.value > 0 && d.x + d.dx > x0 && d.x < x0 + dx && (d.dx / dx) * W >= 0.5; });
    svg.selectAll('g').remove();
    var g = svg.selectAll('g').data(vis).enter().append('g')
      .attr('transform', function (d) { return 'translate(' + Math.max(0, (d.x - x0) / dx * W) + ',' + d.depth * H + ')'; })
      .attr('data-name', function (d) { return d.name; })
      .attr('data-base', function (d) { return d.tb; }).attr('data-new', function (d) { return d.tn; });
    g.append('rect').attr('width', function (d) { return Math.max(0.5, (Math.min(d.x + d.dx, x0 + dx) - Math.max(d.x, x0)) / dx * W); })
      .attr('height', H - 1).style('fill', function (d) {
        var c = d.tn - d.tb, s = Math.min(1, Math.abs(c) / maxc);
        return c > 0 ? d3.rgb(255, Math.round(220 - 170 * s), Math.round(220 - 170 * s)) :
          c < 0 ? d3.rgb(Math.round(220 - 170 * s), Math.round(220 - 120 * s), 255) : '#ddd';
      }).on('click', function (d) { zoom = d === zoom || !d.depth ? null : d; draw(); });
    g.append('text').attr('x', 3).attr('y', H - 5).text(function (d) {
      var w = (Math.min(d.x + d.dx, x0 + dx) - Math.max(d.x, x0)) / dx * W, c = Math.floor((w - 6) / 6.5);
      return c < 3 ? '' : d.name.length > c ? d.name.slice(0, c - 1) + '…' : d.name;
    });
    g.append('title').text(function (d) {
      var f = d.frame || {};
      return d.name + (f.file ? '\n' + f.file + (f.line ? ':' + f.line : '') : '') + '\nbase ' + fmt(d.tb, unit) +
        ', new ' + fmt(d.tn, unit) + ' (' + sign(d.tn - d.tb, unit) + ')';
    });
    document.getElementById('flame-info').textContent = 'base ' + fmt(root.tb, unit) + ', new ' + fmt(root.tn, unit) +
      ' (' + sign(root.tn - root.tb, unit) + ')';
    box.setAttribute('data-metric', m);
  }
  sel.addEventListener('change', function () { zoom = null; draw(); });
  draw();
  /* the sites */
  var st = el('table', { class: 't', id: 'sites-table', 'data-rows': D.diff.sites.length }), hr = el('tr');
  hr.appendChild(el('th', {}, 'site'));
  METRICS.forEach(function (m) { hr.appendChild(el('th', {}, m[1] + ' (base → new)')); });
  st.appendChild(hr);
  D.diff.sites.slice(0, 500).forEach(function (s) {
    var r = el('tr', { 'data-site': s.site });
    r.appendChild(el('td', {}, s.site));
    METRICS.forEach(function (m) {
      var d = s.delta[m[0]];
      r.appendChild(el('td', { class: 'num', 'data-delta': d }, fmt(s.base[m[0]], m[2]) + ' → ' + fmt(s.new[m[0]], m[2]) +
        (d ? ' (' + sign(d, m[2]) + ')' : '')));
    });
    st.appendChild(r);
  });
  document.getElementById('sites').appendChild(st);
  var status = document.getElementById('mpa-status');
  if (!window.mpaErrors.length) { status.setAttribute('data-state', 'ok'); status.textContent = 'diff ready: ' + D.diff.sites.length + ' sites'; }
})();
