// Builds the report page from the JSON in #seedlm-data (see HtmlReport's Javadoc for its fields).
// Charts: Apache ECharts, SVG renderer, no animation (drawn once, at load).
(function () {
  var data = JSON.parse(document.getElementById('seedlm-data').textContent);
  var root = document.getElementById('seedlm-report');
  var charts = 0;
  var KIND_ORDER = ['q', 'k', 'v', 'o', 'qkv', 'gate', 'up', 'gate_up', 'down'];

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    return e;
  }
  function add(parent, tag, cls, text) { var e = el(tag, cls, text); parent.appendChild(e); return e; }
  function num(v, digits) {
    if (typeof v !== 'number') { return v === undefined || v === null ? '' : String(v); }
    if (Number.isInteger(v)) { return v.toLocaleString('en-US'); }
    var a = Math.abs(v);
    return a !== 0 && (a < 1e-3 || a >= 1e6) ? v.toExponential(3) : v.toFixed(digits === undefined ? 4 : digits);
  }
  function unique(values) { return values.filter(function (v, i) { return values.indexOf(v) === i; }); }
  function codecs() { return unique(data.runs.map(function (r) { return r.codec; })); }
  function status(td, v) { td.classList.add(v === 'ok' || v === 'pass' ? 'good' : v === 'FAILED' || v === 'FAIL' ? 'bad' : 'text'); }

  // A table; sortable: clicking a header sorts by that column (numbers numerically), again reverses.
  function table(parent, header, rows, sortable) {
    var t = add(parent, 'table');
    var tr = add(add(t, 'thead'), 'tr');
    var body = add(t, 'tbody');
    var numeric = header.map(function (h, i) {
      return rows.every(function (r) { return r[i] === '' || r[i] === null || !isNaN(Number(String(r[i]).replace(/[%,+]/g, ''))); });
    });
    function fill(rs) {
      body.textContent = '';
      rs.forEach(function (r) {
        var row = add(body, 'tr');
        r.forEach(function (c, i) {
          var td = add(row, 'td', numeric[i] ? '' : 'text', typeof c === 'number' ? num(c) : c);
          if (c === 'ok' || c === 'pass' || c === 'FAILED' || c === 'FAIL') { status(td, c); }
        });
      });
    }
    header.forEach(function (h, i) {
      var th = add(tr, 'th', numeric[i] ? '' : 'text', h);
      if (!sortable) { return; }
      th.classList.add('sortable');
      th.addEventListener('click', function () {
        var desc = !th.classList.contains('sorted-desc');
        tr.querySelectorAll('th').forEach(function (x) { x.classList.remove('sorted-asc', 'sorted-desc'); });
        th.classList.add(desc ? 'sorted-desc' : 'sorted-asc');
        var key = function (r) { return numeric[i] ? Number(String(r[i]).replace(/[%,+]/g, '')) : String(r[i]); };
        fill(rows.slice().sort(function (a, b) {
          var x = key(a), y = key(b);
          return (x < y ? -1 : x > y ? 1 : 0) * (desc ? -1 : 1);
        }));
      });
    });
    fill(rows);
    return t;
  }

  function chart(parent, title, option) {
    var div = add(parent, 'div', 'chart');
    var c = echarts.init(div, null, { renderer: 'svg' });
    option.animation = false;
    option.title = { text: title, left: 'center', textStyle: { fontSize: 14 } };
    option.tooltip = option.tooltip || { trigger: 'item' };
    option.grid = { left: 70, right: 24, top: 56, bottom: 56 };
    if (!option.legend) { option.legend = { top: 24, type: 'scroll' }; }
    c.setOption(option);
    charts++;
    return c;
  }
  function axis(name, type, extra) {
    var a = { type: type || 'value', name: name, nameLocation: 'middle', nameGap: 32, scale: true };
    return Object.assign(a, extra || {});
  }

  // Points {codec, x, y}: one scatter series per codec, and the Pareto frontier (no other codec has both
  // fewer bits and a lower y) as a dashed line.
  function pareto(parent, title, yName, points) {
    var sorted = points.slice().sort(function (a, b) { return a.x - b.x || a.y - b.y; });
    var frontier = [];
    sorted.forEach(function (p) {
      if (frontier.length === 0 || p.y < frontier[frontier.length - 1].y) { frontier.push(p); }
    });
    var series = points.map(function (p) {
      return { name: p.codec, type: 'scatter', symbolSize: 12, data: [[p.x, p.y]],
        label: { show: true, position: 'right', formatter: p.codec, fontSize: 11 },
        labelLayout: { hideOverlap: true } };
    });
    series.push({ name: 'Pareto frontier', type: 'line', data: frontier.map(function (p) { return [p.x, p.y]; }),
      lineStyle: { type: 'dashed' }, symbol: 'none', silent: true });
    chart(parent, title, { xAxis: axis('bits per weight'), yAxis: axis(yName, 'value', { nameGap: 56 }),
      series: series });
  }

  // ---- header and run facts
  add(root, 'h1', null, data.title);
  if (data.subtitle) { add(root, 'p', 'subtitle', data.subtitle); }
  add(root, 'h2', null, 'Runs');
  table(root, ['codec', 'model', 'fingerprint', 'units', 'failed', 'blocks', 'blocks/s', 'bits/w', 'verify', 'gate'],
    data.runs.map(function (r) {
      return [r.codec, r.model, String(r.fingerprint).slice(0, 16), r.committed + '/' + r.units, r.failed, r.blocks,
        Math.round(r.blocks_per_second), r.bits_per_weight, r.verify, r.gate];
    }), false);
  add(root, 'p', 'note', 'fingerprint: the first 16 hex digits of the model fingerprint (SHA-256 over shard names, ' +
    'sizes and headers); blocks/s: committed blocks over the run\'s wall time.');

  if (data.comparison) {
    add(root, 'h2', null, 'Codec comparison');
    table(root, data.comparison.header, data.comparison.rows, true);
  }

  // ---- trade-offs
  add(root, 'h2', null, 'Bits per weight against accuracy');
  var trade = add(root, 'div', 'charts');
  var withKl = data.runs.filter(function (r) { return typeof r.kl === 'number'; });
  if (withKl.length > 0) {
    pareto(trade, 'Bits per weight vs KL divergence', 'mean KL (nats)',
      withKl.map(function (r) { return { codec: r.codec, x: r.bits_per_weight, y: r.kl }; }));
  }
  pareto(trade, 'Bits per weight vs median tensor error', 'median relative error',
    data.runs.map(function (r) { return { codec: r.codec, x: r.bits_per_weight, y: r.median_rel_error }; }));

  // ---- per layer, one chart per kind
  add(root, 'h2', null, 'Relative error per layer');
  var perKind = add(root, 'div', 'charts');
  var kinds = unique(data.layers.map(function (r) { return r.kind; })).sort(function (a, b) {
    var i = KIND_ORDER.indexOf(a), j = KIND_ORDER.indexOf(b);
    return (i < 0 ? 99 : i) - (j < 0 ? 99 : j) || (a < b ? -1 : a > b ? 1 : 0);
  });
  kinds.forEach(function (kind) {
    var rows = data.layers.filter(function (r) { return r.kind === kind; });
    chart(perKind, 'kind ' + kind + ': relative error per layer', {
      tooltip: { trigger: 'axis' },
      xAxis: axis('layer', 'value', { minInterval: 1 }), yAxis: axis('relative error', 'value', { nameGap: 56 }),
      series: codecs().map(function (c) {
        return { name: c, type: 'line', symbolSize: 6, data: rows.filter(function (r) { return r.codec === c; })
          .sort(function (a, b) { return a.layer - b.layer; }).map(function (r) { return [r.layer, r.rel_error]; }) };
      })
    });
  });

  // ---- histograms
  add(root, 'h2', null, 'Histograms');
  var hist = add(root, 'div', 'charts');
  function histogram(title, xName, rows, key, label) {
    var bins = unique(rows.map(function (r) { return r[key]; })).sort(function (a, b) { return a - b; });
    // codecs with values (SeedLM alone has exponents); all of them when none has any, for an empty chart
    var having = codecs().filter(function (c) { return rows.some(function (r) { return r.codec === c; }); });
    chart(hist, title, {
      tooltip: { trigger: 'axis' },
      xAxis: axis(xName, 'category', { data: bins.map(label), scale: false }),
      yAxis: axis('blocks', 'value', { nameGap: 56, scale: false }),
      series: (having.length > 0 ? having : codecs()).map(function (c) {
        var byBin = {};
        rows.filter(function (r) { return r.codec === c; }).forEach(function (r) { byBin[r[key]] = r.blocks; });
        return { name: c, type: 'bar', data: bins.map(function (b) { return byBin[b] || 0; }) };
      })
    });
  }
  histogram('Block relative error (log scale, 0.1 decade bins)', 'log10 of the block\'s relative error',
    data.block_errors, 'bin', function (b) { return b.toFixed(1); });
  histogram(data.exponents.length > 0 ? 'SeedLM shared exponents' : 'Shared exponents (none: no SeedLM codec)',
    'exponent', data.exponents, 'exponent', function (e) { return String(e); });

  // ---- tensors
  add(root, 'h2', null, 'Tensors (click a header to sort)');
  var scroll = add(root, 'div', 'scroll');
  var cols = ['codec', 'tensor', 'layer', 'kind', 'blocks', 'weights', 'bits_per_weight', 'rel_error', 'snr_db',
    'max_abs_error'];
  var tensorRows = data.tensors.slice().sort(function (a, b) { return b.rel_error - a.rel_error; })
    .map(function (t) { return cols.map(function (c) { return t[c] === undefined ? '' : t[c]; }); });
  table(scroll, cols, tensorRows, true);

  document.documentElement.setAttribute('data-seedlm-charts', String(charts));
})();
